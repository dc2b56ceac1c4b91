"""Locating a coordinate to its grid, community, street and industry grids, in-process.

Each layer (the basic grids, and each department's industry grids) is a
partition of the plane into polygons.  A layer is indexed by a raster over its
bounding box:

* a **pure** cell lies inside exactly one polygon (or outside all of them): a
  point there is answered by arithmetic and one array read;
* a **mixed** cell is crossed by a polygon edge: a point there is tested
  exactly against the few polygons that touch the cell (prepared geometries).

Mixed cells are found by walking every polygon edge at a quarter of a cell's
size and marking the cells around each step, so no edge can slip between
them; the pure cells are then connected regions bounded by mixed cells, and a
single point-in-polygon test per region names its polygon.

**Border rule.** Polygons are closed: a point exactly on a border shared by
several polygons is covered by all of them, and belongs to the one whose
``code`` sorts first.  The rule is the same for single and bulk lookups.

**Same answer everywhere.** An index is built only from the current
generation's rows, deterministically, so every process that has the same
generation answers the same.  Processes notice a new generation within
``LOCATOR_CHECK_SECONDS`` (boundaries change only through services that create
a generation).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry import shape

OUTSIDE = -1
MIXED = -2


class Layer:
    """One partition of the plane (basic grids, or one department's industry grids)."""

    def __init__(self, polygons: list, codes: list[str], resolution: int = 2048):
        if not polygons:
            raise ValueError("a layer needs at least one polygon")
        # Ranks follow code order: the border rule picks the lowest rank.
        order = sorted(range(len(codes)), key=codes.__getitem__)
        self.polygons = [polygons[i] for i in order]
        self.positions = np.array(order, dtype=np.int64)  # rank -> caller's index
        for polygon in self.polygons:
            shapely.prepare(polygon)
        self.tree = shapely.STRtree(self.polygons)
        min_x, min_y, max_x, max_y = shapely.total_bounds(self.polygons)
        span = max(max_x - min_x, max_y - min_y)
        pad = span * 1e-6
        self.min_x, self.min_y = min_x - pad, min_y - pad
        self.cell = (span + 2 * pad) / resolution
        self.nx = int(np.ceil((max_x + pad - self.min_x) / self.cell))
        self.ny = int(np.ceil((max_y + pad - self.min_y) / self.cell))
        self.raster = self._rasterise()
        self.candidates = self._mixed_candidates()

    # -- building ---------------------------------------------------------------
    def _rasterise(self) -> np.ndarray:
        mixed = np.zeros((self.ny, self.nx), dtype=bool)
        step = self.cell / 4
        for polygon in self.polygons:
            rings = [polygon.exterior, *polygon.interiors]
            for ring in rings:
                coords = np.asarray(ring.coords)
                starts, ends = coords[:-1], coords[1:]
                lengths = np.hypot(*(ends - starts).T)
                counts = np.maximum(1, np.ceil(lengths / step).astype(int)) + 1
                t = np.concatenate([np.linspace(0, 1, n) for n in counts])
                seg = np.repeat(np.arange(len(starts)), counts)
                xs = starts[seg, 0] + t * (ends[seg, 0] - starts[seg, 0])
                ys = starts[seg, 1] + t * (ends[seg, 1] - starts[seg, 1])
                cx, cy = self._cells(xs, ys)
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        mixed[np.clip(cy + dy, 0, self.ny - 1), np.clip(cx + dx, 0, self.nx - 1)] = True
        regions, count = ndimage.label(~mixed)
        # one representative cell per region: its centre decides the region's polygon
        firsts = ndimage.find_objects(regions)
        owners = np.full(count + 1, OUTSIDE, dtype=np.int32)
        for label, bounds in enumerate(firsts, start=1):
            if bounds is None:
                continue
            block = regions[bounds]
            iy, ix = np.argwhere(block == label)[0]
            y, x = bounds[0].start + iy, bounds[1].start + ix
            owners[label] = self._exact(self.min_x + (x + 0.5) * self.cell, self.min_y + (y + 0.5) * self.cell)
        raster = owners[regions]
        raster[mixed] = MIXED
        return raster

    def _mixed_candidates(self) -> dict[int, tuple[int, ...]]:
        ys, xs = np.nonzero(self.raster == MIXED)
        boxes = shapely.box(self.min_x + xs * self.cell, self.min_y + ys * self.cell,
                            self.min_x + (xs + 1) * self.cell, self.min_y + (ys + 1) * self.cell)
        cell_idx, poly_idx = self.tree.query(boxes, predicate="intersects")
        flat = ys * self.nx + xs
        candidates: dict[int, list[int]] = {int(f): [] for f in flat}
        for c, p in zip(cell_idx.tolist(), poly_idx.tolist(), strict=True):
            candidates[int(flat[c])].append(p)
        # The band of mixed cells is conservative: settle the cells no edge really crosses.
        touched = np.bincount(cell_idx, minlength=len(flat))
        outside = np.nonzero(touched == 0)[0]
        self.raster[ys[outside], xs[outside]] = OUTSIDE
        single = np.nonzero(touched == 1)[0]
        owner = np.full(len(flat), -1, dtype=np.int64)
        owner[cell_idx] = poly_idx
        covered = shapely.contains_properly(np.array(self.polygons, dtype=object)[owner[single]], boxes[single])
        settled = single[covered]
        self.raster[ys[settled], xs[settled]] = owner[settled]
        still_mixed = set(flat.tolist()) - set(flat[outside].tolist()) - set(flat[settled].tolist())
        return {key: tuple(sorted(candidates[key])) for key in still_mixed}

    def _cells(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):  # NaN and inf land outside (-1), checked by the callers
            cx = np.nan_to_num(np.floor((xs - self.min_x) / self.cell), nan=-1, posinf=-1, neginf=-1)
            cy = np.nan_to_num(np.floor((ys - self.min_y) / self.cell), nan=-1, posinf=-1, neginf=-1)
        return cx.astype(np.int64), cy.astype(np.int64)

    def _exact(self, x: float, y: float, candidates=None) -> int:
        if candidates is None:
            candidates = sorted(self.tree.query(shapely.Point(x, y)).tolist())
        for rank in candidates:  # lowest code first: the border rule
            if shapely.intersects_xy(self.polygons[rank], x, y):
                return rank
        return OUTSIDE

    # -- lookups -------------------------------------------------------------------
    def locate(self, x: float, y: float) -> int:
        """The caller's index of the polygon covering (x, y), or -1 outside."""
        cx = int((x - self.min_x) // self.cell)
        cy = int((y - self.min_y) // self.cell)
        if not (0 <= cx < self.nx and 0 <= cy < self.ny):
            return OUTSIDE
        rank = int(self.raster[cy, cx])
        if rank == MIXED:
            rank = self._exact(x, y, self.candidates[cy * self.nx + cx])
        return OUTSIDE if rank == OUTSIDE else int(self.positions[rank])

    def locate_many(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Vectorised ``locate``: an int64 array of the caller's indices, -1 outside."""
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        cx, cy = self._cells(xs, ys)
        inside = (cx >= 0) & (cx < self.nx) & (cy >= 0) & (cy < self.ny) & np.isfinite(xs) & np.isfinite(ys)
        ranks = np.full(xs.shape, OUTSIDE, dtype=np.int64)
        ranks[inside] = self.raster[cy[inside], cx[inside]]
        mixed = np.nonzero(ranks == MIXED)[0]
        if len(mixed):
            ranks[mixed] = OUTSIDE
            point_idx, poly_idx = self.tree.query(shapely.points(xs[mixed], ys[mixed]), predicate="intersects")
            if len(point_idx):
                # lowest rank first within each point: the border rule
                order = np.lexsort((poly_idx, point_idx))
                point_idx, poly_idx = point_idx[order], poly_idx[order]
                first = np.ones(len(point_idx), dtype=bool)
                first[1:] = point_idx[1:] != point_idx[:-1]
                ranks[mixed[point_idx[first]]] = poly_idx[first]
        found = ranks != OUTSIDE
        result = np.full(xs.shape, OUTSIDE, dtype=np.int64)
        result[found] = self.positions[ranks[found]]
        return result


@dataclass(frozen=True)
class IndustryHit:
    department_id: int
    department_code: str
    industry_grid_id: int
    industry_grid_code: str


@dataclass(frozen=True)
class Location:
    lng: float
    lat: float
    generation_id: int
    grid_id: int
    grid_code: str
    community_id: int
    street_id: int
    industry: tuple[IndustryHit, ...]


class OutsideDistrict(ValueError):
    """The point is in no grid of the current generation."""


class DistrictLocator:
    """Every layer of one generation, ready to answer."""

    def __init__(self, *, generation_id: int, grids: list[dict], industry: list[dict], resolution: int = 2048,
                 version=None):
        self.generation_id = generation_id
        self.version = version if version is not None else generation_id
        self.grid_ids = np.array([g["id"] for g in grids], dtype=np.int64)
        self.grids = grids
        self.basic = Layer([shape(g["boundary"]) for g in grids], [g["code"] for g in grids], resolution)
        by_department: dict[int, list[dict]] = {}
        for row in industry:
            by_department.setdefault(row["department_id"], []).append(row)
        self.industry = {
            department_id: (rows, Layer([shape(r["boundary"]) for r in rows], [r["code"] for r in rows], resolution // 2))
            for department_id, rows in sorted(by_department.items())
        }

    def locate_wgs84(self, lng: float, lat: float) -> Location:
        index = self.basic.locate(lng, lat)
        if index == OUTSIDE:
            raise OutsideDistrict(f"({lng:.6f}, {lat:.6f}) is outside the district")
        grid = self.grids[index]
        hits = []
        for department_id, (rows, layer) in self.industry.items():
            found = layer.locate(lng, lat)
            if found != OUTSIDE:
                row = rows[found]
                hits.append(IndustryHit(department_id, row["department__code"], row["id"], row["code"]))
        return Location(lng=lng, lat=lat, generation_id=self.generation_id, grid_id=grid["id"],
                        grid_code=grid["code"], community_id=grid["community_id"],
                        street_id=grid["community__street_id"], industry=tuple(hits))

    def grid_ids_for(self, lngs: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid ids for many WGS-84 points (0 where outside the district)."""
        index = self.basic.locate_many(lngs, lats)
        ids = np.zeros(len(index), dtype=np.int64)
        inside = index != OUTSIDE
        ids[inside] = self.grid_ids[index[inside]]
        return ids


def build_locator(resolution: int = 2048) -> DistrictLocator:
    """A locator over the current generation, read from the database."""
    from gridapp.models import Grid, IndustryGrid
    from gridapp.selectors import generation_current

    generation = generation_current()
    if generation is None:
        raise OutsideDistrict("no boundaries have been loaded")
    grids = list(Grid.objects.current().order_by("code").values(
        "id", "code", "boundary", "community_id", "community__street_id"))
    if not grids:
        raise OutsideDistrict("no boundaries have been loaded")
    industry = list(IndustryGrid.objects.current().order_by("department_id", "code").values(
        "id", "code", "boundary", "department_id", "department__code"))
    return DistrictLocator(generation_id=generation.pk, grids=grids, industry=industry, resolution=resolution,
                           version=(generation.pk, generation.created_at))


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.locator: DistrictLocator | None = None
        self.checked_at = 0.0

    def get(self) -> DistrictLocator:
        from django.conf import settings

        from gridapp.selectors import generation_current_version

        now = time.monotonic()
        current = self.locator
        if current is not None and now - self.checked_at < settings.LOCATOR_CHECK_SECONDS:
            return current
        with self.lock:
            latest = generation_current_version()
            if self.locator is None or self.locator.version != latest:
                self.locator = build_locator()
            self.checked_at = time.monotonic()
            return self.locator

    def clear(self) -> None:
        with self.lock:
            self.locator = None


_cache = _Cache()


def district_locator() -> DistrictLocator:
    """This process's locator for the current generation (rebuilt when a new one appears)."""
    return _cache.get()


def locator_reset() -> None:
    _cache.clear()
