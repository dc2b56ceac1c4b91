"""Locating any coordinate: the raster+exact index against naive loops, shapely's STRtree and PostGIS.

Builds `gridapp.geography.locator.Layer` over the 600 demo grids and measures, in the same
run, against the same random points (uniform in the district outline's bounding
box, seeded):

* build time and the share of mixed raster cells;
* bulk `locate_many` throughput (target >= 5 M points/s; chunks side by side on every core);
* single `locate` latency, each call timed (target p99 <= 10 us);
* baseline A, naive: a loop over the 600 prepared polygons in code order calling
  `shapely.intersects_xy` (the first hit is the lowest code: the same border rule);
* baseline B: shapely's `STRtree.query(points, predicate="intersects")`, vectorised,
  lowest code among the hits;
* PostGIS (when PostgreSQL answers at DATABASE_URL and the postgis extension can be
  created in a scratch database of this run, `onegrid_bench_locate_<pid>_<random>`,
  dropped at the end; see bench/scratch.py): `ST_Covers` with a GiST index, single
  lookups over one connection.

It checks that our answers equal the naive baseline's exactly.  No Django setup is
needed: `gridapp.geography.demo` does not import Django and `gridapp.geography.locator` only inside
functions that are not used here.

    .venv/bin/python bench/locate.py [--points 5000000] [--single 200000] [--naive 20000]
                                     [--check 100000] [--postgis 2000] [--resolution 2048] [--repeat 5] [--seed 2026]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BULK_TARGET = 5_000_000  # points/s
SINGLE_P99_TARGET_US = 10.0
MAPIT_MS = 27.9  # MapIt's published point lookup
CHUNK = 10_000  # progress-bar granularity for the single-lookup loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=5_000_000, help="bulk points")
    parser.add_argument("--single", type=int, default=200_000, help="single locate() calls timed")
    parser.add_argument("--naive", type=int, default=20_000, help="single lookups of the naive baseline")
    parser.add_argument("--check", type=int, default=100_000, help="points checked against the naive answers")
    parser.add_argument("--postgis", type=int, default=2_000, help="single PostGIS lookups")
    parser.add_argument("--resolution", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=5, help="bulk runs after the warm-up (the median is reported)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    args.single = min(args.single, args.points)
    args.naive = min(args.naive, args.points)
    args.check = min(args.check, args.points)
    args.postgis = min(args.postgis, args.points)
    run(args)


def percentiles_us(ns: np.ndarray) -> dict[str, float]:
    p50, p90, p99 = np.percentile(ns, [50, 90, 99]) / 1000
    return {"p50": p50, "p90": p90, "p99": p99, "max": ns.max() / 1000, "rate": len(ns) / (ns.sum() / 1e9)}


def timed_singles(fn, xs: list[float], ys: list[float], desc: str) -> tuple[np.ndarray, np.ndarray]:
    """Call fn(x, y) per point, timing each call alone; returns (answers, nanoseconds)."""
    from tqdm import tqdm

    clock = time.perf_counter_ns
    answers = np.empty(len(xs), dtype=np.int64)
    spent = np.empty(len(xs), dtype=np.int64)
    with tqdm(total=len(xs), desc=desc, unit="pt", leave=False) as bar:
        for start in range(0, len(xs), CHUNK):
            for i in range(start, min(start + CHUNK, len(xs))):
                x, y = xs[i], ys[i]
                t0 = clock()
                answer = fn(x, y)
                spent[i] = clock() - t0
                answers[i] = answer
            bar.update(min(CHUNK, len(xs) - start))
    return answers, spent


def run(args) -> None:
    from tqdm import tqdm

    from gridapp.geography.demo import build_district, district_outline
    from gridapp.geography.locator import OUTSIDE, Layer, _workers

    print(f"machine: os.cpu_count()={os.cpu_count()}; Python {sys.version.split()[0]}; numpy {np.__version__}; "
          f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string})")

    cells = [grid for street in build_district() for community in street.children for grid in community.children]
    polygons = [cell.polygon for cell in cells]
    codes = [cell.code for cell in cells]
    min_x, min_y, max_x, max_y = district_outline().bounds
    rng = np.random.default_rng(args.seed)
    xs = rng.uniform(min_x, max_x, args.points)
    ys = rng.uniform(min_y, max_y, args.points)
    print(f"district: {len(cells)} grids; {args.points:,} points uniform in the outline's bounding box "
          f"[{min_x:.3f}, {min_y:.3f}, {max_x:.3f}, {max_y:.3f}] (seed {args.seed})")

    # -- 1. build ---------------------------------------------------------------------------------------
    started = time.perf_counter()
    layer = Layer(polygons, codes, resolution=args.resolution)
    build_s = time.perf_counter() - started
    mixed_share = float((layer.raster == -2).mean())
    print(f"\nbuild: Layer(600 polygons, resolution={args.resolution}) in {build_s:.2f} s; raster "
          f"{layer.ny} x {layer.nx} cells, {mixed_share:.2%} mixed ({len(layer.candidates):,} cells, of which "
          f"{len(layer.lines):,} line cells answered by the side of one edge); {_workers()} threads for bulk")

    # -- 2. bulk ----------------------------------------------------------------------------------------
    started = time.perf_counter()
    layer.locate_many(xs, ys)  # warm-up: the first run over fresh memory is slower, reported apart
    bulk_cold_s = time.perf_counter() - started
    bulk_runs = []
    for _ in tqdm(range(args.repeat), desc="bulk locate_many", unit="run", leave=False):
        started = time.perf_counter()
        ours = layer.locate_many(xs, ys)
        bulk_runs.append(time.perf_counter() - started)
    bulk_s = statistics.median(bulk_runs)
    bulk_rate = args.points / bulk_s
    cx, cy = layer._cells(xs, ys)
    inside_box = (cx >= 0) & (cx < layer.nx) & (cy >= 0) & (cy < layer.ny)
    mixed_keys = (cy * layer.nx + cx)[inside_box][layer.raster[cy[inside_box], cx[inside_box]] == -2]
    in_mixed = len(mixed_keys) / args.points
    in_geometry = float(np.isin(mixed_keys, layer._line_keys, invert=True).sum() / args.points)
    del cx, cy, inside_box, mixed_keys

    # -- 3. single --------------------------------------------------------------------------------------
    single_xs, single_ys = xs[: args.single].tolist(), ys[: args.single].tolist()
    warm = min(5_000, args.single)
    for x, y in zip(single_xs[:warm], single_ys[:warm], strict=True):
        layer.locate(x, y)
    single_answers, single_ns = timed_singles(layer.locate, single_xs, single_ys, "single locate")
    single = percentiles_us(single_ns)
    assert np.array_equal(single_answers, ours[: args.single]), "locate() and locate_many() disagree"

    # -- 4A. naive: every prepared polygon in code order, first hit -------------------------------------
    order = sorted(range(len(codes)), key=codes.__getitem__)  # code order: the first hit is the lowest code
    naive_polygons = [polygons[i] for i in order]
    for polygon in naive_polygons:
        shapely.prepare(polygon)
    intersects_xy = shapely.intersects_xy

    def naive(x: float, y: float) -> int:
        for rank, polygon in enumerate(naive_polygons):
            if intersects_xy(polygon, x, y):
                return order[rank]
        return OUTSIDE

    naive_xs, naive_ys = xs[: args.naive].tolist(), ys[: args.naive].tolist()
    for x, y in zip(naive_xs[:200], naive_ys[:200], strict=True):
        naive(x, y)
    naive_answers, naive_ns = timed_singles(naive, naive_xs, naive_ys, "naive single lookups")
    naive_stats = percentiles_us(naive_ns)

    # -- 4B. shapely STRtree.query, vectorised, lowest code among the hits ------------------------------
    tree = shapely.STRtree(naive_polygons)  # indexed in code order: the lowest index is the lowest code
    positions = np.array(order, dtype=np.int64)
    strtree_answers = np.full(args.points, OUTSIDE, dtype=np.int64)
    batch = 1_000_000
    strtree_s = 0.0
    for start in tqdm(range(0, args.points, batch), desc="STRtree.query", unit="batch", leave=False):
        stop = min(start + batch, args.points)
        started = time.perf_counter()
        point_idx, poly_idx = tree.query(shapely.points(xs[start:stop], ys[start:stop]), predicate="intersects")
        lowest = np.full(stop - start, len(order), dtype=np.int64)
        np.minimum.at(lowest, point_idx, poly_idx)
        found = lowest < len(order)
        strtree_answers[start:stop][found] = positions[lowest[found]]
        strtree_s += time.perf_counter() - started
    strtree_rate = args.points / strtree_s
    strtree_same = int((strtree_answers != ours).sum())

    # -- 5. correctness: our bulk answers against the naive baseline's -----------------------------------
    check_xs, check_ys = xs[: args.check], ys[: args.check]
    expected = np.full(args.check, OUTSIDE, dtype=np.int64)
    pending = np.arange(args.check)
    for rank, polygon in enumerate(tqdm(naive_polygons, desc="naive answers for the check", unit="polygon",
                                        leave=False)):
        hit = shapely.intersects_xy(polygon, check_xs[pending], check_ys[pending])
        expected[pending[hit]] = order[rank]
        pending = pending[~hit]
    assert np.array_equal(naive_answers, expected[: args.naive]), "vectorised naive differs from the naive loop"
    mismatches = int((ours[: args.check] != expected).sum())
    assert mismatches == 0, f"{mismatches} of {args.check:,} bulk answers differ from the naive baseline"
    assert np.array_equal(single_answers[: args.check], expected[: args.single]), "single answers differ from naive"

    # -- 6. PostGIS --------------------------------------------------------------------------------------
    postgis = postgis_baseline(naive_polygons, [codes[i] for i in order], order,
                               xs[: args.postgis].tolist(), ys[: args.postgis].tolist(), ours[: args.postgis])

    # -- report ------------------------------------------------------------------------------------------
    print(f"\n{'lookup':<40} {'points':>10} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'max us':>10} {'points/s':>12}")
    print(f"{'ours: Layer.locate_many (bulk)':<40} {args.points:>10,} {'':>9} {'':>9} {'':>9} {'':>10} {bulk_rate:>12,.0f}")
    rows = [("ours: Layer.locate (single)", args.single, single),
            ("A naive: 600 x intersects_xy (single)", args.naive, naive_stats)]
    if isinstance(postgis, dict):
        rows.append(("PostGIS ST_Covers + GiST (single)", len(postgis["ns"]), percentiles_us(postgis["ns"])))
    for label, count, stats in rows:
        print(f"{label:<40} {count:>10,} {stats['p50']:>9.2f} {stats['p90']:>9.2f} {stats['p99']:>9.2f} "
              f"{stats['max']:>10.1f} {stats['rate']:>12,.0f}")
    print(f"{'B shapely STRtree.query (bulk)':<40} {args.points:>10,} {'':>9} {'':>9} {'':>9} {'':>10} {strtree_rate:>12,.0f}")
    print("(single rows: points/s from the sum of the timed calls; bulk: median of "
          f"{args.repeat} runs of {args.points:,} points after one warm-up run: "
          f"{', '.join(f'{s:.2f}' for s in bulk_runs)} s; the cold warm-up run took {bulk_cold_s:.2f} s)")

    print(f"\nbulk: {bulk_rate / 1e6:.2f} M points/s; {in_mixed:.2%} of the points fall in mixed cells, "
          f"{in_geometry:.2%} in cells that are not line cells (tested against the polygons)")
    print(f"target bulk >= {BULK_TARGET / 1e6:.0f} M points/s on {os.cpu_count()} cores: "
          f"{'PASS' if bulk_rate >= BULK_TARGET else 'FAIL'} ({bulk_rate / 1e6:.2f} M points/s, "
          f"{bulk_rate / BULK_TARGET:.2f}x the target; slowest run {args.points / max(bulk_runs) / 1e6:.2f} M)")
    print(f"target single p99 <= {SINGLE_P99_TARGET_US:.0f} us: "
          f"{'PASS' if single['p99'] <= SINGLE_P99_TARGET_US else 'FAIL'} (p99 {single['p99']:.2f} us, "
          f"{SINGLE_P99_TARGET_US / single['p99']:.1f}x under the target)")

    print(f"\nA naive ({args.naive:,} single lookups): p50 {naive_stats['p50']:.1f} us, p99 {naive_stats['p99']:.1f} us, "
          f"{naive_stats['rate']:,.0f} points/s")
    print(f"  ours single vs naive: {naive_stats['p50'] / single['p50']:,.0f}x faster at p50, "
          f"{naive_stats['p99'] / single['p99']:,.0f}x at p99, {single['rate'] / naive_stats['rate']:,.0f}x points/s")
    print(f"  ours bulk vs naive: {bulk_rate / naive_stats['rate']:,.0f}x points/s")
    print(f"B STRtree.query ({args.points:,} points, vectorised in batches of {batch:,}): {strtree_s:.2f} s, "
          f"{strtree_rate:,.0f} points/s")
    print(f"  ours bulk vs STRtree.query: {bulk_rate / strtree_rate:.1f}x points/s; "
          f"STRtree answers identical to ours: {'yes' if strtree_same == 0 else f'no ({strtree_same:,} differ)'}")

    inside = int((expected != OUTSIDE).sum())
    print(f"\ncheck: {args.check:,} points ({inside:,} inside the district), our bulk answers against the naive "
          f"baseline's (and {args.single:,} single, {args.naive:,} naive-loop answers)")
    print("answers identical: yes")

    print()
    if isinstance(postgis, dict):
        stats = percentiles_us(postgis["ns"])
        print(f"PostGIS {postgis['version']} at {postgis['where']}: {len(postgis['ns']):,} single lookups over one "
              f"connection (GiST, ST_Covers, ORDER BY code LIMIT 1): p50 {stats['p50'] / 1000:.3f} ms, "
              f"p99 {stats['p99'] / 1000:.3f} ms")
        differ = postgis["differ"]
        print(f"  PostGIS vs ours single: {stats['p50'] / single['p50']:,.0f}x slower at p50, "
              f"{stats['p99'] / single['p99']:,.0f}x at p99; answers identical to ours: "
              f"{'yes' if differ == 0 else f'no ({differ:,} differ)'}")
        print(f"  (MapIt's published lookup: {MAPIT_MS} ms)")
    else:
        print(f"PostGIS: not available here ({postgis}); MapIt's published lookup: {MAPIT_MS} ms")


def postgis_baseline(polygons: list, codes: list[str], order: list[int], xs: list[float], ys: list[float],
                     ours: np.ndarray):
    """Single ST_Covers lookups in a scratch PostGIS database of this run: timings, or why it could not run."""
    from bench.scratch import scratch_database, server_url

    url = server_url()
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as error:
        return f"psycopg is not installed: {error}"
    params = conninfo_to_dict(url)
    where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    from tqdm import tqdm

    sql = ("SELECT code FROM grids WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s,%s),4326)) "
           "ORDER BY code LIMIT 1")
    try:
        with scratch_database("locate") as scratch, psycopg.connect(scratch, autocommit=True, connect_timeout=3) as conn:
            try:
                conn.execute("CREATE EXTENSION postgis")
            except psycopg.Error as error:
                server = conn.execute("SHOW server_version").fetchone()[0]
                if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone():
                    major = server.split(".")[0]
                    return (f"the postgis extension is not installed on PostgreSQL {server} at {where}; "
                            f"on Debian: apt-get install postgresql-{major}-postgis-3")
                return (f"CREATE EXTENSION postgis failed on PostgreSQL {server} at {where}: "
                        f"{str(error).strip().splitlines()[0]}")
            version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
            conn.execute("CREATE TABLE grids (code text PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO grids (code, geom) VALUES (%s, ST_GeomFromWKB(%s, 4326))",
                                [(code, shapely.to_wkb(polygon)) for code, polygon in zip(codes, polygons, strict=True)])
            conn.execute("CREATE INDEX grids_geom ON grids USING gist (geom)")
            conn.execute("ANALYZE grids")
            position = {code: order[rank] for rank, code in enumerate(codes)}
            clock = time.perf_counter_ns
            with conn.cursor() as cur:
                for x, y in zip(xs[:100], ys[:100], strict=True):  # warm-up, and the statement gets prepared
                    cur.execute(sql, (x, y), prepare=True)
                    cur.fetchone()
                spent = np.empty(len(xs), dtype=np.int64)
                answers = np.empty(len(xs), dtype=np.int64)
                for i, (x, y) in enumerate(tqdm(list(zip(xs, ys, strict=True)), desc="PostGIS lookups",
                                                unit="pt", leave=False)):
                    t0 = clock()
                    cur.execute(sql, (x, y), prepare=True)
                    row = cur.fetchone()
                    spent[i] = clock() - t0
                    answers[i] = -1 if row is None else position[row[0]]
    except psycopg.Error as error:
        return f"PostGIS lookups failed at {where}: {str(error).strip().splitlines()[0]}"
    return {"ns": spent, "version": version, "where": where, "differ": int((answers != ours).sum())}


if __name__ == "__main__":
    main()
