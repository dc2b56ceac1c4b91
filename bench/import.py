"""Importing the district's 1.6 M base records into PostgreSQL.

Measured in one run, on the same generated rows, in a scratch database:

* OneGrid's ``records_load`` (validation, GCJ-02 conversion where needed,
  vectorised locating; into an empty table the bulk path: one COPY with the
  secondary indexes and foreign key dropped, then rebuilt), reporting the
  seconds spent in database calls (target <= 10 s, >= 160 k rows/s) and the total;
* the same load again (every row unchanged: nothing may be written);
* baseline: Django's plain ``bulk_create`` of the same rows (grids precomputed);
* baseline: a raw row-by-row ``COPY`` of the same rows straight into the indexed
  table (no validation, no upsert), the plain way to load fast.

    .venv/bin/python bench/import.py [--rows 1600000]

Needs PostgreSQL: the server of ``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432).
The run creates a scratch database of its own there (``onegrid_bench_import_<pid>_<random>``,
see bench/scratch.py), migrates it and drops it at the end; it touches no other database.

Every ratio sets wall-clock seconds against wall-clock seconds: records_load end to end
(reading the batches, validating, converting, locating and loading) against each baseline's
whole run, although the baselines skip validation and get their grids precomputed.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_600_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ONEGRID_VAR_DIR"] = tempfile.mkdtemp(prefix="onegrid-bench-")
    if os.environ.get("DATABASE_URL", "postgres").split(":", 1)[0] not in ("postgres", "postgresql"):
        sys.exit("bench/import.py measures the PostgreSQL path: set DATABASE_URL=postgres://... (or leave it unset)")
    from bench.scratch import scratch_database

    with scratch_database("import") as url:
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        print(f"scratch database: {connection.settings_dict['NAME']} (dropped at the end)")
        call_command("migrate", verbosity=0)
        try:
            run(args.rows)
        finally:
            connection.close()


def run(rows: int) -> None:
    import numpy as np
    from django.core.management import call_command
    from django.db import connection, transaction
    from tqdm import tqdm

    from gridapp.geography.demo import FULL_SCALE, record_columns
    from gridapp.geography.importer import RecordBatch, records_load
    from gridapp.geography.locator import district_locator, locator_reset
    from gridapp.geography.models import BaseRecord

    call_command("seed_demo", "--no-progress", stdout=io.StringIO())
    BaseRecord.objects.all().delete()
    locator_reset()
    locator = district_locator()
    scale = rows / sum(FULL_SCALE.values())

    columns = []
    with tqdm(total=rows, desc="generating rows", unit="row") as bar:
        for chunk in record_columns(scale=scale):
            columns.append(chunk)
            bar.update(len(chunk["external_id"]))
    total = sum(len(c["external_id"]) for c in columns)

    def batches(line_offset=0):
        line = line_offset
        for chunk in columns:
            size = len(chunk["external_id"])
            yield RecordBatch(external_ids=chunk["external_id"], kinds=chunk["kind"], names=chunk["name"],
                              addresses=chunk["address"], lngs=np.asarray(chunk["lng"]), lats=np.asarray(chunk["lat"]),
                              crs=["WGS84"] * size, lines=list(range(line + 1, line + size + 1)), source="bench")
            line += size

    results = []

    def record(label: str, seconds: float, note: str = "") -> None:
        results.append((label, seconds, note))
        print(f"  {label:<34} {seconds:8.2f} s  {total / seconds:>12,.0f} rows/s  {note}")

    print(f"\nPostgreSQL {connection.pg_version // 10000}, {total:,} rows, {os.cpu_count()} cores")
    with tqdm(total=total, desc="records_load", unit="row") as bar:
        started = time.perf_counter()
        report = records_load(batches(), locator=locator, progress=bar.update)
        whole = time.perf_counter() - started
    assert report.created == total and not report.rejected, report
    record("records_load: database loading", report.seconds_loading, "(of which time spent in database calls)")
    record("records_load: end to end", whole, "(validate, locate, load: wall clock)")
    target = "PASS" if report.seconds_loading <= 10 else "FAIL"
    print(f"  target: <= 10 s of loading for 1.6 M rows -> {target} ({report.seconds_loading:.2f} s)")

    started = time.perf_counter()
    again = records_load(batches(), locator=locator)
    record("records_load again (all unchanged)", time.perf_counter() - started,
           f"created={again.created} updated={again.updated} unchanged={again.unchanged:,}")
    assert again.created == again.updated == 0

    grid_ids = [locator.grid_ids_for(np.asarray(c["lng"]), np.asarray(c["lat"])) for c in columns]

    _empty_records()
    started = time.perf_counter()
    with transaction.atomic():
        for chunk, grids in tqdm(list(zip(columns, grid_ids, strict=True)), desc="bulk_create", unit="batch"):
            BaseRecord.objects.bulk_create(
                (BaseRecord(external_id=e, kind=k, name=n, address=a, lng=x, lat=y, grid_id=g)
                 for e, k, n, a, x, y, g in zip(chunk["external_id"], chunk["kind"], chunk["name"], chunk["address"],
                                                chunk["lng"].tolist(), chunk["lat"].tolist(), grids.tolist(),
                                                strict=True)),
                batch_size=10_000,
            )
    baseline_bulk = time.perf_counter() - started
    record("baseline: Django bulk_create", baseline_bulk)

    _empty_records()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        sql = ("COPY gridapp_baserecord (external_id, kind, name, address, lng, lat, source_crs, grid_id, attributes,"
               " updated_at) FROM STDIN")
        with cursor.cursor.copy(sql) as copy:
            for chunk, grids in zip(columns, grid_ids, strict=True):
                for row in zip(chunk["external_id"], chunk["kind"], chunk["name"], chunk["address"],
                               chunk["lng"].tolist(), chunk["lat"].tolist(), grids.tolist(), strict=True):
                    copy.write_row((*row[:6], "WGS84", row[6], "{}", "now"))
    baseline_copy = time.perf_counter() - started
    record("baseline: raw COPY into the table", baseline_copy, "(indexed table, no validation, no upsert)")

    print("\n  wall clock against wall clock (records_load end to end, validation and locating included):")
    print(f"  records_load vs bulk_create:                     {_faster(baseline_bulk, whole)}")
    print(f"  records_load vs raw COPY into the indexed table: {_faster(baseline_copy, whole)}")


def _faster(baseline: float, ours: float) -> str:
    return f"{baseline / ours:.1f}x faster" if ours <= baseline else f"{ours / baseline:.1f}x slower"


def _empty_records() -> None:
    """Empty the base records for the next baseline, with what refers to them (cameras: a scratch database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE gridapp_baserecord RESTART IDENTITY CASCADE")


if __name__ == "__main__":
    main()
