"""The demo district: 10 streets, 50 communities and 600 grids that tile it exactly.

Each level is a Voronoi partition of its parent (seed points drawn inside the
parent, a few Lloyd steps so cells are compact), clipped to the parent, so
every grid lies in one community and one street and the grids cover the
district with no gap and no overlap.  Deterministic for a given seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPoint, Polygon, mapping

CENTRE_LAT, CENTRE_LNG = 36.06, 120.38
STREET_NAMES = [
    "香港中路街道", "八大关街道", "湛山街道", "金门路街道", "八大湖街道",
    "江苏路街道", "中山路街道", "台东街道", "浮山新区街道", "珠海路街道",
]
COMMUNITY_SUFFIXES = ["一", "二", "三", "四", "五", "六", "七", "八"]
METRES_PER_DEG_LAT = 110_574.0


@dataclass
class Cell:
    code: str
    name: str
    polygon: Polygon
    children: list[Cell] = field(default_factory=list)

    @property
    def geojson(self) -> dict:
        return mapping(self.polygon)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return self.polygon.bounds

    @property
    def area_m2(self) -> float:
        return polygon_area_m2(self.polygon)


def polygon_area_m2(polygon: Polygon) -> float:
    """Area on a local equirectangular projection: exact enough at district scale."""
    lat = polygon.centroid.y
    scaled = shapely.affinity.scale(
        polygon, xfact=METRES_PER_DEG_LAT * math.cos(math.radians(lat)), yfact=METRES_PER_DEG_LAT, origin=(0, 0)
    )
    return float(scaled.area)


def district_outline() -> Polygon:
    """A convex octagon about 13 km by 9 km around the centre (lng, lat)."""
    half_w, half_h = 0.075, 0.042
    cut = 0.35
    points = [
        (-half_w * (1 - cut), -half_h), (half_w * (1 - cut), -half_h), (half_w, -half_h * (1 - cut)),
        (half_w, half_h * (1 - cut)), (half_w * (1 - cut), half_h), (-half_w * (1 - cut), half_h),
        (-half_w, half_h * (1 - cut)), (-half_w, -half_h * (1 - cut)),
    ]
    return Polygon([(CENTRE_LNG + x, CENTRE_LAT + y) for x, y in points])


def _points_inside(polygon: Polygon, count: int, rng: np.random.Generator) -> np.ndarray:
    min_x, min_y, max_x, max_y = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        batch = rng.uniform((min_x, min_y), (max_x, max_y), size=(count * 4, 2))
        inside = batch[shapely.contains_xy(polygon, batch[:, 0], batch[:, 1])]
        found.append(inside)
        total += len(inside)
    return np.concatenate(found)[:count]


def partition(polygon: Polygon, count: int, rng: np.random.Generator, lloyd_steps: int = 3) -> list[Polygon]:
    """Split ``polygon`` into ``count`` convex cells that cover it exactly."""
    seeds = _points_inside(polygon, count, rng)
    cells: list[Polygon] = []
    for _step in range(lloyd_steps + 1):
        diagram = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=polygon)
        cells = [cell.intersection(polygon) for cell in diagram.geoms]
        cells = [cell for cell in cells if not cell.is_empty and cell.area > 0]
        seeds = np.array([(cell.centroid.x, cell.centroid.y) for cell in cells])
    # Order west to east, then south to north, so codes read like a map.
    cells.sort(key=lambda cell: (round(-cell.centroid.y, 3), cell.centroid.x))
    return [_as_polygon(cell) for cell in cells]


def _as_polygon(geometry) -> Polygon:
    if isinstance(geometry, Polygon):
        return geometry
    parts = [part for part in getattr(geometry, "geoms", []) if isinstance(part, Polygon)]
    return max(parts, key=lambda part: part.area)


def build_district(
    *, streets: int = 10, communities_per_street: int = 5, grids_per_community: int = 12, seed: int = 2026
) -> list[Cell]:
    rng = np.random.default_rng(seed)
    result = []
    for s, street_polygon in enumerate(partition(district_outline(), streets, rng), start=1):
        street_name = STREET_NAMES[(s - 1) % len(STREET_NAMES)]
        street = Cell(code=f"S{s:02d}", name=street_name, polygon=street_polygon)
        short = street_name.removesuffix("街道")
        for c, community_polygon in enumerate(partition(street_polygon, communities_per_street, rng), start=1):
            suffix = COMMUNITY_SUFFIXES[(c - 1) % len(COMMUNITY_SUFFIXES)]
            community = Cell(code=f"{street.code}-C{c:02d}", name=f"{short}{suffix}社区", polygon=community_polygon)
            for g, grid_polygon in enumerate(partition(community_polygon, grids_per_community, rng), start=1):
                community.children.append(
                    Cell(code=f"{community.code}-G{g:02d}", name=f"{community.name}第{g}网格", polygon=grid_polygon)
                )
            street.children.append(community)
        result.append(street)
    return result
