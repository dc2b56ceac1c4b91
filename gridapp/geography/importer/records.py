"""``records_load``: validate, convert and locate base records, then upsert them through a temporary table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.copy import QueuedLibpqWriter

from gridapp.geography.crs import CRS, to_wgs84_array
from gridapp.geography.importer import postgres as pg
from gridapp.geography.importer.types import _BAD_TEXT, ImportReport, RecordBatch, Reject, _bad_text_reason
from gridapp.geography.models import BaseRecord, RecordKind

_KINDS = frozenset(RecordKind.values)
_KIND_LIST = ", ".join(RecordKind.values)
_TEMP_TABLE = "_import_baserecord"
_LOADED = ("external_id", "kind", "name", "address", "lng", "lat", "source_crs", "grid_id", "attributes")
_SQLITE_CHUNK = 10_000
_CRS_LIST = list(CRS)
_JSON = json.JSONEncoder(ensure_ascii=False)
_TEXT_COLUMNS = (1, 2, 3, 4, 7, 9)  # positions of the strings in a staged row (seq first)

#: The bulk path (PostgreSQL only; see ``gridapp.geography.importer.postgres``) drops the table's secondary indexes,
#: unique constraints and foreign keys, moves the rows in, then rebuilds them.  It is taken when at least
#: this many rows are staged and the table holds fewer rows than that (an initial load, or one that at
#: least doubles the table): rebuilding indexes over the whole table then costs less than maintaining them.
#: An initial load (empty table) switches as soon as this many rows are staged, and copies the rest of
#: its batches straight into the table; a load into a filled table decides once everything is staged,
#: keeps the unique indexes for its ON CONFLICT and drops only the others and the foreign keys.
BULK_MIN_ROWS = 50_000
#: None chooses by the rule above; True or False forces the bulk path or the normal one (tests, tools).
BULK_PATH: bool | None = None


def records_load(batches: Iterable[RecordBatch], *, locator=None,
                 progress: Callable[[int], object] | None = None) -> ImportReport:
    """Validate, convert, locate and upsert base records by ``external_id``, all in one transaction.

    Each row needs an external id (at most 64 characters), a ``RecordKind``,
    a name (1-200), an address of at most 300, finite coordinates in a CRS
    ``CRS.parse`` accepts, and a point inside the district (``locator``, by
    default ``district_locator()``); a later row with an external id already
    accepted in this load is rejected (the first accepted one is kept).  Bad
    rows become rejects; the good ones are created, updated where anything
    differs (grid version included), or left untouched.  ``progress`` is
    called with the number of rows just finished after each batch (pass a
    tqdm bar's ``update``).  Who may call: the ``import_base_data`` command
    and other bulk imports.  Raises whatever the database or the batches
    raise, after rolling everything back.
    """
    if locator is None:
        from gridapp.geography.locator import district_locator

        locator = district_locator()
    rejected: list[Reject] = []
    seen: dict[str, int] = {}  # external id -> source number * 2**32 + line of its first row
    sources: list[str] = []
    crs_cache: dict[str, int | str] = {}  # CRS name -> index in _CRS_LIST, or why it is unknown
    total = 0
    seconds = 0.0
    table = connection.ops.quote_name(BaseRecord._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor, ExitStack() as direct_copy:
        started = time.perf_counter()
        _temp_table_create(cursor, postgres)
        now = timezone.now()
        direct = None  # on the bulk path of an initial load: what was dropped, and rows go straight in
        copy = None  # the COPY into the table itself, once ``direct``
        may_go_direct = postgres and BULK_PATH is not False and not _table_has_rows(cursor, table)
        seconds += time.perf_counter() - started
        for batch in batches:
            if batch.source not in sources:
                sources.append(batch.source)
            rows, batch_rejects = _batch_rows(batch, locator, seen, sources.index(batch.source), sources,
                                              crs_cache, total)
            rejected.extend(batch_rejects)
            started = time.perf_counter()
            if direct is not None:
                if copy is None:
                    # One COPY for every remaining batch, sent by psycopg's writer thread: the server
                    # stores one batch while this thread validates and locates the next.
                    copy = direct_copy.enter_context(cursor.cursor.copy(
                        f"COPY {table} ({', '.join(_LOADED)}, updated_at) FROM STDIN",
                        writer=QueuedLibpqWriter(cursor.cursor)))
                if rows:
                    copy.write(pg.copy_text(rows, _TEXT_COLUMNS, skip_first=True, extra=now.isoformat()))
            else:
                _temp_table_fill(cursor, rows, postgres)
                if may_go_direct and (BULK_PATH or total + len(rows) >= BULK_MIN_ROWS):
                    direct = _initial_bulk_start(cursor, table, now)
                    may_go_direct = False
            seconds += time.perf_counter() - started
            total += len(rows)
            if progress is not None:
                progress(len(batch))
        started = time.perf_counter()
        direct_copy.close()  # waits for the server to store the last rows
        if direct is not None:
            created, updated = total, 0
            pg.schema_restore(cursor, direct)
        else:
            created, updated = _upsert(cursor, table, total, postgres, now)
        cursor.execute(f"DROP TABLE {_TEMP_TABLE}")
    seconds += time.perf_counter() - started  # with the commit: PostgreSQL checks the grid foreign keys then
    return ImportReport(created=created, updated=updated, unchanged=total - created - updated,
                        rejected=rejected, seconds_loading=seconds)


def _batch_rows(batch: RecordBatch, locator, seen: dict[str, int], source_number: int, sources: list[str],
                crs_cache: dict[str, int | str], offset: int) -> tuple[list[tuple], list[Reject]]:
    """The batch's good rows, ready for the temporary table, and its rejects."""
    n = len(batch.external_ids)
    lngs = np.asarray(batch.lngs, dtype=np.float64)
    lats = np.asarray(batch.lats, dtype=np.float64)
    lengths = {len(batch.kinds), len(batch.names), len(batch.addresses), len(lngs), len(lats), len(batch.crs),
               len(batch.lines), n if batch.attributes is None else len(batch.attributes)}
    if lengths != {n}:
        raise ValueError(f"{batch.source}: the columns of a record batch differ in length")
    problems: dict[int, list[str]] = {}
    crs_codes = np.zeros(n, dtype=np.int8)  # index into _CRS_LIST
    for i, (external_id, kind, name, address, crs_name) in enumerate(
            zip(batch.external_ids, batch.kinds, batch.names, batch.addresses, batch.crs, strict=True)):
        code = crs_cache.get(crs_name)
        if code is None:
            try:
                code = crs_cache[crs_name] = _CRS_LIST.index(CRS.parse(crs_name or CRS.WGS84.value))
            except ValueError as exc:
                code = crs_cache[crs_name] = str(exc)
        if (external_id and len(external_id) <= 64 and kind in _KINDS and name and len(name) <= 200
                and (not address or len(address) <= 300) and code.__class__ is int
                and not _BAD_TEXT.search(f"{external_id}{name}{address or ''}")):
            if code:
                crs_codes[i] = code
            continue
        problems[i] = _row_problems(external_id, kind, name, address, code)
    ok = np.ones(n, dtype=bool)
    ok[list(problems)] = False
    wgs_lng, wgs_lat = lngs.copy(), lats.copy()
    for code, crs in enumerate(_CRS_LIST):
        if crs is CRS.WGS84:
            continue
        index = np.nonzero(ok & (crs_codes == code))[0]
        if len(index):
            wgs_lng[index], wgs_lat[index] = to_wgs84_array(lngs[index], lats[index], crs)
    good = np.nonzero(ok)[0]
    grid_ids = np.zeros(n, dtype=np.int64)
    if len(good):
        grid_ids[good] = locator.grid_ids_for(wgs_lng[good], wgs_lat[good])
    for i in good[grid_ids[good] == 0].tolist():
        problems[i] = [_("the point (%(lng)s, %(lat)s) %(crs)s is outside the district") % {
            "lng": f"{lngs[i]:.6f}", "lat": f"{lats[i]:.6f}", "crs": _CRS_LIST[crs_codes[i]].value}]

    attributes = batch.attributes
    rows = []
    lng_list, lat_list, grid_list = wgs_lng.tolist(), wgs_lat.tolist(), grid_ids.tolist()
    crs_values = [crs.value for crs in _CRS_LIST]
    crs_list = crs_codes.tolist()
    for i in good.tolist():
        if i in problems:
            continue
        external_id = batch.external_ids[i]
        first = seen.get(external_id)
        if first is not None:
            first_source, first_line = divmod(first, 1 << 32)
            values = {"id": repr(external_id), "line": first_line, "file": sources[first_source]}
            if first_source != source_number:
                problem = _("duplicate external_id %(id)s (first at %(file)s line %(line)d)") % values
            elif batch.line_label != "line":
                problem = _("duplicate external_id %(id)s (first at feature %(line)d)") % values
            else:
                problem = _("duplicate external_id %(id)s (first at line %(line)d)") % values
            problems[i] = [problem]
            continue
        if attributes is not None and attributes[i]:
            text = _JSON.encode(attributes[i])
            problem = _bad_text_reason(text, "attributes") or (_("attributes contain a NUL character")
                                                               if "\\u0000" in text else None)
            if problem:
                problems[i] = [problem]
                continue
        else:
            text = "{}"
        seen[external_id] = (source_number << 32) + batch.lines[i]
        rows.append((offset + len(rows), external_id, batch.kinds[i], batch.names[i], batch.addresses[i] or "",
                     lng_list[i], lat_list[i], crs_values[crs_list[i]], grid_list[i], text))
    by_feature = batch.line_label != "line"  # GeoJSON: "feature 12: ..."
    rejects = [Reject(batch.source, batch.lines[i],
                      _("feature %(number)d: %(reason)s") % {"number": batch.lines[i], "reason": "; ".join(reasons)}
                      if by_feature else "; ".join(reasons))
               for i, reasons in sorted(problems.items())]
    return rows, rejects


def _too_long(field: str, limit: int, length: int) -> str:
    return _("%(field)s is longer than %(limit)d characters (%(length)d)") % {
        "field": field, "limit": limit, "length": length}


def _row_problems(external_id, kind, name, address, crs_code: int | str) -> list[str]:
    problems = []
    if not external_id:
        problems.append(_("%(field)s is missing") % {"field": "external_id"})
    elif len(external_id) > 64:
        problems.append(_too_long("external_id", 64, len(external_id)))
    if kind not in _KINDS:
        problems.append(_("unknown kind %(kind)s (expected one of %(kinds)s)") % {"kind": repr(kind), "kinds": _KIND_LIST}
                        if kind else _("%(field)s is missing") % {"field": "kind"})
    if not name:
        problems.append(_("%(field)s is missing") % {"field": "name"})
    elif len(name) > 200:
        problems.append(_too_long("name", 200, len(name)))
    if address and len(address) > 300:
        problems.append(_too_long("address", 300, len(address)))
    if crs_code.__class__ is not int:
        problems.append(crs_code)
    for value, what in ((external_id, "external_id"), (name, "name"), (address or "", "address")):
        if isinstance(value, str) and (reason := _bad_text_reason(value, what)):
            problems.append(reason)
    return problems


def _temp_table_create(cursor, postgres: bool) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {_TEMP_TABLE}")
    if postgres:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_TEMP_TABLE} (seq bigint, external_id varchar(64), kind varchar(24), "
            "name varchar(200), address varchar(300), lng double precision, lat double precision, "
            "source_crs varchar(8), grid_id bigint, attributes jsonb) ON COMMIT DROP"
        )
    else:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_TEMP_TABLE} (seq integer, external_id text, kind text, name text, "
            "address text, lng real, lat real, source_crs text, grid_id integer, attributes text)"
        )


def _temp_table_fill(cursor, rows: list[tuple], postgres: bool) -> None:
    if not rows:
        return
    if postgres:
        with cursor.cursor.copy(f"COPY {_TEMP_TABLE} (seq, {', '.join(_LOADED)}) FROM STDIN") as copy:
            copy.write(pg.copy_text(rows, _TEXT_COLUMNS))
    else:
        sql = f"INSERT INTO {_TEMP_TABLE} VALUES ({', '.join(['%s'] * (len(_LOADED) + 1))})"
        for start in range(0, len(rows), _SQLITE_CHUNK):
            cursor.executemany(sql, rows[start:start + _SQLITE_CHUNK])


def _upsert(cursor, table: str, total: int, postgres: bool, now) -> tuple[int, int]:
    """Move the temporary table into ``table``; returns (created, updated)."""
    if not total:
        return 0, 0
    differs = " IS DISTINCT FROM " if postgres else " IS NOT "
    columns = ", ".join(_LOADED)
    assignments = ", ".join(f"{column} = excluded.{column}" for column in (*_LOADED[1:], "updated_at"))

    def changed(old: str, new: str) -> str:
        return " OR ".join(f"{old}.{column}{differs}{new}.{column}" for column in _LOADED[1:])

    upsert = (
        f"INSERT INTO {table} ({columns}, updated_at) SELECT {columns}, %s FROM {_TEMP_TABLE} WHERE true ORDER BY seq "
        f"ON CONFLICT (external_id) DO UPDATE SET {assignments} WHERE {changed(table, 'excluded')}"
    )
    now = connection.ops.adapt_datetimefield_value(now)
    if postgres and _bulk_wanted(cursor, table, total):
        return _bulk_upsert(cursor, table, upsert, now)
    if postgres:
        return _upsert_counted(cursor, table, upsert, now)
    cursor.execute(f"SELECT count(*), coalesce(sum(CASE WHEN {changed('b', 't')} THEN 1 ELSE 0 END), 0) "
                   f"FROM {_TEMP_TABLE} t JOIN {table} b ON b.external_id = t.external_id")
    existing, updated = cursor.fetchone()
    cursor.execute(upsert, [now])
    return total - existing, updated


def _upsert_counted(cursor, table: str, upsert: str, now) -> tuple[int, int]:
    # xmax is 0 on a freshly inserted row and the updating transaction's id on an updated one;
    # rows the WHERE clause skipped are not returned at all.
    cursor.execute(f"WITH upserted AS ({upsert} RETURNING ({table}.xmax = 0) AS created) "
                   "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM upserted",
                   [now])
    created, updated = cursor.fetchone()
    return created, updated


def _bulk_wanted(cursor, table: str, total: int) -> bool:
    if BULK_PATH is not None:
        return BULK_PATH
    if total < BULK_MIN_ROWS:
        return False
    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS existing", [total])
    return cursor.fetchone()[0] < total  # counts at most ``total`` rows, however large the table


def _table_has_rows(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    return cursor.fetchone()[0]


def _initial_bulk_start(cursor, table: str, now) -> list | None:
    """Turn an initial load onto the bulk path: drop the indexes, move the staged rows in.

    The remaining batches are then copied straight into the table (no staging,
    no ON CONFLICT: the table was empty and the loader already rejected
    duplicate external ids).  None, with nothing done, if the table is no
    longer empty once locked.
    """
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    if _table_has_rows(cursor, table):
        return None
    dropped = pg.secondary_schema(cursor, table, keep_unique=False)
    pg.schema_drop(cursor, table, dropped)
    cursor.execute(f"INSERT INTO {table} ({', '.join(_LOADED)}, updated_at) "
                   f"SELECT {', '.join(_LOADED)}, %s FROM {_TEMP_TABLE} ORDER BY seq",
                   [connection.ops.adapt_datetimefield_value(now)])
    cursor.execute(f"TRUNCATE {_TEMP_TABLE}")
    return dropped


def _bulk_upsert(cursor, table: str, upsert: str, now) -> tuple[int, int]:
    """The upsert with the secondary indexes and constraints dropped and rebuilt afterwards."""
    empty = not _table_has_rows(cursor, table)
    # An empty table needs no ON CONFLICT, so its unique indexes go too; otherwise they stay for it.
    dropped = pg.secondary_schema(cursor, table, keep_unique=not empty)
    pg.schema_drop(cursor, table, dropped)
    # the ORDER BY seq (ids in file order) sorts every staged row: in memory, not in temporary files
    cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [pg.SORT_WORK_MEM])
    work_mem = cursor.fetchone()[0]
    if empty:
        cursor.execute(f"INSERT INTO {table} ({', '.join(_LOADED)}, updated_at) "
                       f"SELECT {', '.join(_LOADED)}, %s FROM {_TEMP_TABLE} ORDER BY seq", [now])
        created, updated = cursor.rowcount, 0
    else:
        created, updated = _upsert_counted(cursor, table, upsert, now)
    cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
    pg.schema_restore(cursor, dropped)
    return created, updated
