"""The demo district: 10 streets, 50 communities and 600 grids that tile it exactly.

Each level is a Voronoi partition of its parent (seed points drawn inside the
parent, a few Lloyd steps so cells are compact), clipped to the parent, so
every grid lies in one community and one street and the grids cover the
district with no gap and no overlap.  Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPoint, Polygon, mapping

from gridapp.geography.geometry import polygon_area_m2

CENTRE_LAT, CENTRE_LNG = 36.06, 120.38
STREET_NAMES = [
    "香港中路街道", "八大关街道", "湛山街道", "金门路街道", "八大湖街道",
    "江苏路街道", "中山路街道", "台东街道", "浮山新区街道", "珠海路街道",
]
COMMUNITY_SUFFIXES = ["一", "二", "三", "四", "五", "六", "七", "八"]


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


# -- industry grids and base records for the demo ------------------------------------

#: department code -> (zone name prefix, number of zones)
INDUSTRY_LAYERS = {
    "urban": ("城管责任区", 8),
    "sanitation": ("环卫作业区", 6),
    "market": ("市场监管片区", 4),
}

ROADS = [
    "香港中路", "东海西路", "宁夏路", "延安三路", "山东路", "南京路", "福州南路", "燕儿岛路", "闽江路", "云霄路",
    "漳州路", "徐州路", "江西路", "湛山大路", "太平角一路", "正阳关路", "武胜关路", "荣成路", "金门路", "仙游路",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
KIND_NAMES = {
    "building": ["{road}{n}号楼", "{road}{n}号院"],
    "small_shop": ["{s}记便利店", "{s}家杂货铺", "{road}{n}号烟酒店"],
    "small_restaurant": ["{s}记小吃", "{s}家面馆", "{road}海鲜排档"],
    "small_hotel": ["{road}{s}家旅馆", "{s}氏宾馆"],
    "small_entertainment": ["{s}氏棋牌室", "{road}KTV"],
    "small_internet_cafe": ["{s}网吧", "{road}网咖"],
    "small_beauty_bath": ["{s}氏美发", "{road}浴池"],
    "small_clinic": ["{s}氏诊所", "{road}社区卫生站"],
    "small_school": ["{road}{s}氏幼儿园", "{s}氏培训学校"],
    "small_workshop": ["{s}记汽修", "{s}氏五金加工"],
    "camera": ["{road}{n}号路口摄像头", "{road}{n}号高点摄像头"],
}
ID_PREFIX = {
    "building": "BLD", "small_shop": "SHP", "small_restaurant": "RST", "small_hotel": "HTL",
    "small_entertainment": "ENT", "small_internet_cafe": "NET", "small_beauty_bath": "BTY", "small_clinic": "CLN",
    "small_school": "SCH", "small_workshop": "WKS", "camera": "CAM",
}
#: kind -> share of the 1.6 M records of the full-scale district (17,000 cameras)
FULL_SCALE = {
    "building": 1_180_000, "small_shop": 160_000, "small_restaurant": 90_000, "small_hotel": 12_000,
    "small_entertainment": 8_000, "small_internet_cafe": 3_000, "small_beauty_bath": 45_000,
    "small_clinic": 10_000, "small_school": 15_000, "small_workshop": 60_000, "camera": 17_000,
}


def industry_zones(seed: int = 7) -> dict[str, list[Cell]]:
    """Each demo department's industry grids: partitions of the district that ignore the basic grids."""
    rng = np.random.default_rng(seed)
    layers = {}
    for department, (prefix, count) in INDUSTRY_LAYERS.items():
        cells = partition(district_outline(), count, rng, lloyd_steps=2)
        layers[department] = [
            Cell(code=f"{department.upper()}-{n:02d}", name=f"{prefix}{n}", polygon=polygon)
            for n, polygon in enumerate(cells, start=1)
        ]
    return layers


def record_columns(*, scale: float, seed: int = 11, batch: int = 100_000):
    """Columns of demo base records, ``scale`` x the full-scale counts, in batches.

    Yields dicts of equal-length columns (external_id, kind, name, address, lng,
    lat); points are uniform inside the district outline.
    """
    rng = np.random.default_rng(seed)
    outline = district_outline()
    plan = [(kind, max(1, int(round(count * scale)))) for kind, count in FULL_SCALE.items()]
    for kind, total in plan:
        templates = KIND_NAMES[kind]
        for start in range(0, total, batch):
            size = min(batch, total - start)
            points = _points_inside(outline, size, rng)
            roads = rng.integers(0, len(ROADS), size)
            numbers = rng.integers(1, 400, size)
            surnames = rng.integers(0, len(SURNAMES), size)
            picks = rng.integers(0, len(templates), size)
            names = [templates[p].format(road=ROADS[r], n=n, s=SURNAMES[s])
                     for p, r, n, s in zip(picks.tolist(), roads.tolist(), numbers.tolist(), surnames.tolist(), strict=True)]
            yield {
                "external_id": [f"{ID_PREFIX[kind]}-{start + i:07d}" for i in range(size)],
                "kind": [kind] * size,
                "name": names,
                "address": [f"青岛市市南区{ROADS[r]}{n}号" for r, n in zip(roads.tolist(), numbers.tolist(), strict=True)],
                "lng": points[:, 0],
                "lat": points[:, 1],
            }
