"""Locating a coordinate to its grid, community, street and industry grids, in-process.

Each layer (the basic grids, and each department's industry grids) is a
partition of the plane into polygons.  A layer is indexed by a raster over its
bounding box:

* a **pure** cell lies inside exactly one polygon (or outside all of them): a
  point there is answered by arithmetic and one array read;
* a **mixed** cell is crossed by a polygon edge.  Most are crossed by one
  straight edge of each polygon that touches them (a *line cell*): a point
  there is answered by which side of that edge it lies on, with Shewchuk's
  error bound so that the sign is certain (a point too close to the line to be
  sure, and every other mixed cell, is tested exactly against the few polygons
  that touch the cell, with prepared geometries).

Mixed cells are found by walking every polygon edge at a quarter of a cell's
size and marking the cells around each step, so no edge can slip between
them; the pure cells are then connected regions bounded by mixed cells, and a
single point-in-polygon test per region names its polygon.

**Border rule.** Polygons are closed: a point exactly on a border shared by
several polygons is covered by all of them, and belongs to the one whose
``code`` sorts first.  The rule is the same for single and bulk lookups.

**Both cores.** ``locate_many`` over many points splits them into chunks
located side by side on a thread pool (numpy and shapely release the GIL).

**Same answer everywhere.** An index is built only from the current
generation's rows, deterministically, so every process that has the same
generation answers the same.  Processes notice a new generation within
``LOCATOR_CHECK_SECONDS`` (boundaries change only through services that create
a generation).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry import shape

OUTSIDE = -1
MIXED = -2
#: Shewchuk's bound on the rounding error of a 2-D orientation computed in doubles (``ccwerrboundA``):
#: when the computed value exceeds it times the sum of the magnitudes of its two products, its sign is exact.
_ORIENT_ERROR = (3.0 + 16.0 * 2.0 ** -53) * 2.0 ** -53
#: ``locate_many`` splits inputs of at least this many points into chunks of this size for the thread pool.
PARALLEL_CHUNK = 1 << 18
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_workers(), thread_name_prefix="locate")
        return _pool


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
        self._flat = self.raster.ravel()
        self._answers = np.append(self.positions, OUTSIDE)  # rank -> caller's index; rank -1 (outside) -> -1
        self.lines, self._line_keys, self._line_params = self._line_cells()

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

    def _line_cells(self) -> tuple[dict[int, tuple], np.ndarray, np.ndarray]:
        """The mixed cells where each candidate polygon's boundary is one straight edge across the cell.

        For each: per candidate (in rank order) the edge's ends, whether the polygon lies on its left, and
        the rank.  The test box is the cell grown by a millionth of its size, more than any rounding in
        finding a point's cell, and the cell qualifies only if that box meets the same polygons and exactly
        one edge of each: the edge then spans the box, so inside the box the polygon is one side of its line.
        Returned as a dict for single lookups and as sorted keys with an (n, 2, 6) array for bulk ones (a
        cell with one candidate has rank -1 in its second slot).
        """
        empty = ({}, np.empty(0, dtype=np.int64), np.empty((0, 2, 6)))
        if not self.candidates:
            return empty
        starts, ends, owners, left = [], [], [], []
        for rank, polygon in enumerate(self.polygons):
            for ring_index, ring in enumerate([polygon.exterior, *polygon.interiors]):
                coords = np.asarray(ring.coords)[:, :2]
                starts.append(coords[:-1])
                ends.append(coords[1:])
                owners.append(np.full(len(coords) - 1, rank))
                # the polygon is left of a counter-clockwise shell's edges and right of a counter-clockwise hole's
                left.append(np.full(len(coords) - 1, ring.is_ccw == (ring_index == 0)))
        starts, ends = np.concatenate(starts), np.concatenate(ends)
        owners, left = np.concatenate(owners), np.concatenate(left)
        edges = shapely.linestrings(np.stack([starts, ends], axis=1))
        keys = np.array(sorted(self.candidates), dtype=np.int64)
        ys, xs = np.divmod(keys, self.nx)
        grow = self.cell * 1e-6
        boxes = shapely.box(self.min_x + xs * self.cell - grow, self.min_y + ys * self.cell - grow,
                            self.min_x + (xs + 1) * self.cell + grow, self.min_y + (ys + 1) * self.cell + grow)
        box_idx, edge_idx = shapely.STRtree(edges).query(boxes, predicate="intersects")
        poly_box, poly_idx = self.tree.query(boxes, predicate="intersects")
        crossing: dict[int, dict[int, list[int]]] = {}
        for b, e in zip(box_idx.tolist(), edge_idx.tolist(), strict=True):
            crossing.setdefault(b, {}).setdefault(int(owners[e]), []).append(e)
        touching: dict[int, set[int]] = {}
        for b, p in zip(poly_box.tolist(), poly_idx.tolist(), strict=True):
            touching.setdefault(b, set()).add(p)
        lines: dict[int, tuple] = {}
        for b, key in enumerate(keys.tolist()):
            candidates = self.candidates[key]
            by_owner = crossing.get(b, {})
            if (len(candidates) > 2 or touching.get(b, set()) != set(candidates) or set(by_owner) != set(candidates)
                    or any(len(found) != 1 for found in by_owner.values())):
                continue
            params = []
            for rank in candidates:
                e = by_owner[rank][0]
                params += [float(starts[e, 0]), float(starts[e, 1]), float(ends[e, 0]), float(ends[e, 1]),
                           bool(left[e]), rank]
            lines[key] = tuple(params)
        line_keys = np.array(sorted(lines), dtype=np.int64)
        table = np.full((len(line_keys), 2, 6), -1.0)
        for i, key in enumerate(line_keys.tolist()):
            params = lines[key]
            for j in range(len(params) // 6):
                table[i, j] = params[6 * j: 6 * j + 6]
        return lines, line_keys, table

    def _line_rank(self, params: tuple, x: float, y: float) -> int | None:
        """The rank a line cell gives (x, y), or None when the point is too close to an edge to be sure."""
        for i in range(0, len(params), 6):
            ax, ay, bx, by, left, rank = params[i:i + 6]
            det_left = (ax - x) * (by - y)
            det_right = (ay - y) * (bx - x)
            det = det_left - det_right
            bound = _ORIENT_ERROR * (abs(det_left) + abs(det_right))
            if det > bound:
                if left:
                    return rank
            elif det < -bound:
                if not left:
                    return rank
            else:
                return None
        return OUTSIDE

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
            key = cy * self.nx + cx
            line = self.lines.get(key)
            found = None if line is None else self._line_rank(line, x, y)
            rank = self._exact(x, y, self.candidates[key]) if found is None else found
        return OUTSIDE if rank == OUTSIDE else int(self.positions[rank])

    def locate_many(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Vectorised ``locate``: an int64 array of the caller's indices, -1 outside.

        From ``2 * PARALLEL_CHUNK`` points on, chunks are located side by side on a thread pool of one
        thread per core this process may use.
        """
        xs = np.ascontiguousarray(xs, dtype=np.float64)
        ys = np.ascontiguousarray(ys, dtype=np.float64)
        if xs.shape != ys.shape or xs.ndim != 1:
            xs, ys = np.broadcast_arrays(xs, ys)
            shape = xs.shape
            return self.locate_many(xs.ravel(), ys.ravel()).reshape(shape)
        result = np.empty(len(xs), dtype=np.int64)
        if len(xs) < 2 * PARALLEL_CHUNK or _workers() < 2:
            self._locate_into(xs, ys, result)
            return result
        bounds = range(0, len(xs), PARALLEL_CHUNK)
        done = _thread_pool().map(
            lambda start: self._locate_into(xs[start:start + PARALLEL_CHUNK], ys[start:start + PARALLEL_CHUNK],
                                            result[start:start + PARALLEL_CHUNK]), bounds)
        for _chunk in done:  # re-raises a chunk's error
            pass
        return result

    def _locate_into(self, xs: np.ndarray, ys: np.ndarray, result: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):  # NaN compares false: outside, like inf
            fx = xs - self.min_x
            fx /= self.cell
            fy = ys - self.min_y
            fy /= self.cell
            inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        ranks = np.full(len(xs), OUTSIDE, dtype=np.int64)
        where = None if inside.all() else np.flatnonzero(inside)
        if where is None:
            flat = fy.astype(np.int64) * self.nx + fx.astype(np.int64)  # truncation is floor here: both >= 0
            ranks[:] = self._flat[flat]
        else:
            flat = fy[where].astype(np.int64) * self.nx + fx[where].astype(np.int64)
            ranks[where] = self._flat[flat]
        mixed = np.flatnonzero(ranks == MIXED)
        if len(mixed):
            keys = flat[mixed] if where is None else flat[np.searchsorted(where, mixed)]
            ranks[mixed] = self._mixed_ranks(keys, xs[mixed], ys[mixed])
        result[:] = self._answers[ranks]

    def _mixed_ranks(self, keys: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Ranks of points in mixed cells: by the side of their line where certain, else exactly."""
        ranks = np.full(len(keys), OUTSIDE, dtype=np.int64)
        pending = np.ones(len(keys), dtype=bool)
        if len(self._line_keys):
            slot = np.minimum(np.searchsorted(self._line_keys, keys), len(self._line_keys) - 1)
            lined = np.flatnonzero(self._line_keys[slot] == keys)
            params = self._line_params[slot[lined]]
            x, y = xs[lined], ys[lined]
            active = np.ones(len(lined), dtype=bool)  # not yet placed: try the next candidate
            unsure = np.zeros(len(lined), dtype=bool)  # too close to an edge: tested exactly below
            for j in range(2):  # candidates in rank order: the border rule
                ax, ay, bx, by, left, rank = (params[:, j, k] for k in range(6))
                det_left = (ax - x) * (by - y)
                det_right = (ay - y) * (bx - x)
                det = det_left - det_right
                bound = _ORIENT_ERROR * (np.abs(det_left) + np.abs(det_right))
                sure = (det > bound) | (det < -bound)
                inside = sure & ((det > bound) == (left > 0))
                tried = active & (rank >= 0)
                unsure |= tried & ~sure
                hit = tried & inside
                ranks[lined[hit]] = rank[hit].astype(np.int64)
                active &= (rank >= 0) & sure & ~inside  # past the last candidate: outside (already -1)
            pending[lined] = unsure
        rest = np.flatnonzero(pending)
        if len(rest):
            ranks[rest] = OUTSIDE
            point_idx, poly_idx = self.tree.query(shapely.points(xs[rest], ys[rest]), predicate="intersects")
            if len(point_idx):
                # lowest rank first within each point: the border rule
                order = np.lexsort((poly_idx, point_idx))
                point_idx, poly_idx = point_idx[order], poly_idx[order]
                first = np.ones(len(point_idx), dtype=bool)
                first[1:] = point_idx[1:] != point_idx[:-1]
                ranks[rest[point_idx[first]]] = poly_idx[first]
        return ranks


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
    from gridapp.geography.models import Grid, IndustryGrid
    from gridapp.geography.selectors import generation_current

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

        from gridapp.geography.selectors import generation_current_version

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
