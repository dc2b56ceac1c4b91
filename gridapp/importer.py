"""District-scale import of base records and boundaries.

Base records (``records_load``) arrive as columnar ``RecordBatch``es of ~100k
rows from a reader (``read_records_csv``, ``read_records_geojson``, or any
other code).  Each batch is validated row by row, converted to WGS-84 and
located with numpy over the whole batch, and streamed into a temporary table
(``COPY`` on PostgreSQL, ``executemany`` on SQLite); one ``INSERT ... SELECT
... ON CONFLICT (external_id) DO UPDATE ... WHERE <a column differs>`` then
moves every good row into ``gridapp_baserecord``, so an unchanged row is not
written at all (its ``updated_at`` stays) and the whole load is one
transaction: an exception anywhere leaves nothing behind.  No Django model
instance is built per row.

Boundaries (``boundaries_load``) are a GeoJSON FeatureCollection of polygons,
one feature per street, community, grid or industry grid.  Only what changed
gets a new version, in one new generation; importing the same file again
changes nothing.

Problems with single rows or features are ``Reject``s (file, 1-based line or
feature number, reason) and do not stop the import; a file that cannot be read
at all raises ``OSError`` or ``ImportFileError``.  The file formats are
described in ``gridapp/management/commands/import_base_data.py``.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from gridapp.crs import CRS, to_wgs84_array
from gridapp.models import BaseRecord, Community, Grid, GridUserObjectPermission, IndustryGrid, RecordKind, Street

#: Rows per batch the readers yield (and the size the loader is tuned for).
BATCH_SIZE = 100_000

_KINDS = frozenset(RecordKind.values)
_KIND_LIST = ", ".join(RecordKind.values)
# Lone surrogates are bytes that were not UTF-8 (decoded with errors="surrogateescape")
# or broken JSON escapes; NUL cannot be stored in a PostgreSQL text column.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class ImportFileError(ValueError):
    """A file that cannot be imported at all (not a FeatureCollection, no header, a missing column)."""


@dataclass
class Reject:
    file: str
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int
    updated: int
    unchanged: int
    rejected: list[Reject]
    seconds_loading: float  # time spent writing to the database only


@dataclass
class RecordBatch:
    """Rows of base records, column by column; ``lines`` are what rejects report (1-based).

    ``line_label`` names what ``lines`` count: ``"line"`` for text files; any
    other label (``"feature"``) is also written into each reject's reason
    ("feature 12: ...").
    """

    external_ids: list[str]
    kinds: list[str]
    names: list[str]
    addresses: list[str]
    lngs: np.ndarray
    lats: np.ndarray
    crs: list[str]
    lines: list[int]
    source: str
    attributes: list[dict] | None = None
    line_label: str = "line"

    def __len__(self) -> int:
        return len(self.external_ids)


# --- readers ------------------------------------------------------------------------------

RECORD_COLUMNS = ("external_id", "kind", "name", "address", "lng", "lat", "crs")
_REQUIRED_COLUMNS = ("external_id", "kind", "name", "lng", "lat")


def _bad_text_reason(value: str, what: str) -> str | None:
    """Why ``value`` cannot be stored (undecodable bytes, NUL), or None."""
    found = _BAD_TEXT.findall(value)
    if not found:
        return None
    escaped = sorted({ord(ch) - 0xDC00 for ch in found if 0xDC80 <= ord(ch) <= 0xDCFF})
    if escaped:
        return f"{what} is not valid UTF-8 (bytes {' '.join(f'0x{b:02x}' for b in escaped)})"
    if "\x00" in found:
        return f"{what} contains a NUL character"
    return f"{what} contains an unpaired UTF-16 surrogate"


class _Columns:
    """Accumulates one batch of rows."""

    def __init__(self, with_attributes: bool):
        self.external_ids: list[str] = []
        self.kinds: list[str] = []
        self.names: list[str] = []
        self.addresses: list[str] = []
        self.lngs: list[float] = []
        self.lats: list[float] = []
        self.crs: list[str] = []
        self.lines: list[int] = []
        self.attributes: list[dict] | None = [] if with_attributes else None

    def __len__(self) -> int:
        return len(self.lines)

    def batch(self, source: str, line_label: str = "line") -> RecordBatch:
        return RecordBatch(
            external_ids=self.external_ids, kinds=self.kinds, names=self.names, addresses=self.addresses,
            lngs=np.array(self.lngs, dtype=np.float64), lats=np.array(self.lats, dtype=np.float64),
            crs=self.crs, lines=self.lines, source=source, attributes=self.attributes, line_label=line_label,
        )


def read_records(path: str | Path, *, batch_size: int = BATCH_SIZE) -> tuple[Iterator[RecordBatch], list[Reject]]:
    """``read_records_geojson`` for ``.geojson``/``.json`` files, ``read_records_csv`` for anything else."""
    if Path(path).suffix.lower() in (".geojson", ".json"):
        return read_records_geojson(path, batch_size=batch_size)
    return read_records_csv(path, batch_size=batch_size)


def read_records_csv(path: str | Path, *, batch_size: int = BATCH_SIZE) -> tuple[Iterator[RecordBatch], list[Reject]]:
    """Stream a CSV file of base records as batches; returns ``(batches, rejects)``.

    The header is read at once (``OSError`` for an unreadable file,
    ``ImportFileError`` for a missing column), the rows while the batches are
    consumed; ``rejects`` fills up meanwhile (rows with undecodable bytes,
    too many fields, a missing or non-numeric coordinate) and is complete
    once the iterator is exhausted.  A row with fewer fields than the header
    has the missing ones empty.  Values are stripped of surrounding spaces.
    """
    source = str(path)
    handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # closed by the batches
    try:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{source}: the file is empty (a header row is required)")
        names = [cell.strip().lower() for cell in header]
        problem = _bad_text_reason(",".join(header), "the header")
        if problem:
            raise ImportFileError(f"{source}: {problem}")
        missing = [column for column in _REQUIRED_COLUMNS if column not in names]
        if missing:
            raise ImportFileError(f"{source}: missing column(s) {', '.join(missing)} "
                                  f"(expected {','.join(RECORD_COLUMNS)}; crs and address are optional)")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ImportFileError(f"{source}: repeated column(s) {', '.join(repeated)}")
    except BaseException:
        handle.close()
        raise
    rejects: list[Reject] = []
    return _csv_batches(handle, reader, names, header, source, rejects, batch_size), rejects


def _csv_batches(handle, reader, names: list[str], header: list[str], source: str, rejects: list[Reject],
                 batch_size: int) -> Iterator[RecordBatch]:
    width = len(names)
    at = {name: index for index, name in enumerate(names)}
    i_id, i_kind, i_name, i_lng, i_lat = (at[column] for column in _REQUIRED_COLUMNS)
    i_address, i_crs = at.get("address"), at.get("crs")
    extra = [(index, header[index].strip() or f"column_{index + 1}")
             for index, name in enumerate(names) if name not in RECORD_COLUMNS]
    columns = _Columns(bool(extra))
    with handle:
        previous = reader.line_num
        try:
            for row in reader:
                line, previous = previous + 1, reader.line_num  # a quoted field may span lines
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) > width:
                    rejects.append(Reject(source, line, f"the row has {len(row)} fields, the header has {width}"))
                    continue
                problem = _bad_text_reason("".join(row), "the row")
                if problem:
                    where = next(header[i].strip() for i, cell in enumerate(row) if _BAD_TEXT.search(cell))
                    rejects.append(Reject(source, line, problem.replace("the row", f"column {where}", 1)))
                    continue
                if len(row) < width:
                    row = row + [""] * (width - len(row))
                row = [cell.strip() for cell in row]
                try:
                    lng = _coordinate(row[i_lng], "lng")
                    lat = _coordinate(row[i_lat], "lat")
                except ValueError as exc:
                    rejects.append(Reject(source, line, str(exc)))
                    continue
                columns.external_ids.append(row[i_id])
                columns.kinds.append(row[i_kind])
                columns.names.append(row[i_name])
                columns.addresses.append(row[i_address] if i_address is not None else "")
                columns.lngs.append(lng)
                columns.lats.append(lat)
                columns.crs.append((row[i_crs] if i_crs is not None else "") or CRS.WGS84.value)
                columns.lines.append(line)
                if extra:
                    columns.attributes.append({key: row[index] for index, key in extra})
                if len(columns) >= batch_size:
                    yield columns.batch(source)
                    columns = _Columns(bool(extra))
        except csv.Error as exc:
            raise ImportFileError(f"{source}, line {reader.line_num}: {exc}") from None
    if len(columns):
        yield columns.batch(source)


def _coordinate(text: str, what: str) -> float:
    if not text:
        raise ValueError(f"{what} is missing")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None


def _read_feature_collection(path: str | Path) -> list:
    """The features of a GeoJSON FeatureCollection file (``OSError``/``ImportFileError`` when unusable)."""
    source = str(path)
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise ImportFileError(f"{source}: not a GeoJSON FeatureCollection")
    return data["features"]


def read_records_geojson(path: str | Path, *,
                         batch_size: int = BATCH_SIZE) -> tuple[Iterator[RecordBatch], list[Reject]]:
    """Batches of base records from a GeoJSON FeatureCollection of Point features; returns ``(batches, rejects)``.

    The file is parsed at once (``OSError``/``ImportFileError``); a reject's
    line is the 1-based feature number and its reason says "feature N: ...".
    Properties other than the record's own fields go to ``attributes``.
    """
    features = _read_feature_collection(path)
    rejects: list[Reject] = []
    return _geojson_batches(features, str(path), rejects, batch_size), rejects


_GEOJSON_FIELDS = ("external_id", "kind", "name", "address", "crs")


def _geojson_batches(features: list, source: str, rejects: list[Reject], batch_size: int) -> Iterator[RecordBatch]:
    columns = _Columns(True)
    for number, feature in enumerate(features, start=1):
        try:
            values, lng, lat, attributes = _geojson_record(feature)
        except ValueError as exc:
            rejects.append(Reject(source, number, f"feature {number}: {exc}"))
            continue
        external_id, kind, name, address, crs_name = values
        columns.external_ids.append(external_id)
        columns.kinds.append(kind)
        columns.names.append(name)
        columns.addresses.append(address)
        columns.lngs.append(lng)
        columns.lats.append(lat)
        columns.crs.append(crs_name or CRS.WGS84.value)
        columns.lines.append(number)
        columns.attributes.append(attributes)
        if len(columns) >= batch_size:
            yield columns.batch(source, "feature")
            columns = _Columns(True)
    if len(columns):
        yield columns.batch(source, "feature")


def _geojson_record(feature) -> tuple[list[str], float, float, dict]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        found = geometry.get("type") if isinstance(geometry, dict) else None
        raise ValueError(f"the geometry is {found or 'missing'}, expected a Point")
    coordinates = geometry.get("coordinates")
    if (not isinstance(coordinates, list) or len(coordinates) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates[:2])):
        raise ValueError("the Point has no numeric coordinates")
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise ValueError("properties is not an object")
    values = []
    for key in _GEOJSON_FIELDS:
        value = properties.get(key)
        if value is None:
            value = ""
        elif key == "external_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
        value = value.strip()
        problem = _bad_text_reason(value, key)
        if problem:
            raise ValueError(problem)
        values.append(value)
    attributes = {key: value for key, value in properties.items() if key not in _GEOJSON_FIELDS}
    return values, float(coordinates[0]), float(coordinates[1]), attributes


# --- loading records ------------------------------------------------------------------------

_TEMP_TABLE = "_import_baserecord"
_LOADED = ("external_id", "kind", "name", "address", "lng", "lat", "source_crs", "grid_id", "attributes")
_SQLITE_CHUNK = 10_000


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
        from gridapp.locator import district_locator

        locator = district_locator()
    rejected: list[Reject] = []
    seen: dict[str, int] = {}  # external id -> source number * 2**32 + line of its first row
    sources: list[str] = []
    crs_cache: dict[str, CRS | str] = {}
    total = 0
    seconds = 0.0
    table = connection.ops.quote_name(BaseRecord._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        _temp_table_create(cursor, postgres)
        seconds += time.perf_counter() - started
        for batch in batches:
            if batch.source not in sources:
                sources.append(batch.source)
            rows, batch_rejects = _batch_rows(batch, locator, seen, sources.index(batch.source), sources,
                                              crs_cache, total)
            rejected.extend(batch_rejects)
            started = time.perf_counter()
            _temp_table_fill(cursor, rows, postgres)
            seconds += time.perf_counter() - started
            total += len(rows)
            if progress is not None:
                progress(len(batch))
        started = time.perf_counter()
        created, updated = _upsert(cursor, table, total, postgres)
        cursor.execute(f"DROP TABLE {_TEMP_TABLE}")
        seconds += time.perf_counter() - started
    return ImportReport(created=created, updated=updated, unchanged=total - created - updated,
                        rejected=rejected, seconds_loading=seconds)


def _batch_rows(batch: RecordBatch, locator, seen: dict[str, int], source_number: int, sources: list[str],
                crs_cache: dict[str, CRS | str], offset: int) -> tuple[list[tuple], list[Reject]]:
    """The batch's good rows, ready for the temporary table, and its rejects."""
    n = len(batch.external_ids)
    lngs = np.asarray(batch.lngs, dtype=np.float64)
    lats = np.asarray(batch.lats, dtype=np.float64)
    lengths = {len(batch.kinds), len(batch.names), len(batch.addresses), len(lngs), len(lats), len(batch.crs),
               len(batch.lines), n if batch.attributes is None else len(batch.attributes)}
    if lengths != {n}:
        raise ValueError(f"{batch.source}: the columns of a record batch differ in length")
    problems: dict[int, list[str]] = {}
    crs_of = [CRS.WGS84] * n
    for i, (external_id, kind, name, address, crs_name) in enumerate(
            zip(batch.external_ids, batch.kinds, batch.names, batch.addresses, batch.crs, strict=True)):
        row_problems = None
        if not external_id:
            row_problems = ["external_id is missing"]
        elif len(external_id) > 64:
            row_problems = [f"external_id is longer than 64 characters ({len(external_id)})"]
        if kind not in _KINDS:
            row_problems = (row_problems or []) + [
                f"unknown kind {kind!r} (expected one of {_KIND_LIST})" if kind else "kind is missing"]
        if not name:
            row_problems = (row_problems or []) + ["name is missing"]
        elif len(name) > 200:
            row_problems = (row_problems or []) + [f"name is longer than 200 characters ({len(name)})"]
        if address and len(address) > 300:
            row_problems = (row_problems or []) + [f"address is longer than 300 characters ({len(address)})"]
        parsed = crs_cache.get(crs_name)
        if parsed is None:
            try:
                parsed = crs_cache[crs_name] = CRS.parse(crs_name or CRS.WGS84.value)
            except ValueError as exc:
                parsed = crs_cache[crs_name] = str(exc)
        if isinstance(parsed, CRS):
            crs_of[i] = parsed
        else:
            row_problems = (row_problems or []) + [parsed]
        if _BAD_TEXT.search(f"{external_id}{kind}{name}{address or ''}"):
            row_problems = (row_problems or []) + [
                reason for value, what in ((external_id, "external_id"), (kind, "kind"), (name, "name"),
                                           (address or "", "address"))
                if (reason := _bad_text_reason(value, what))]
        if row_problems:
            problems[i] = row_problems
    for i in np.nonzero(~(np.isfinite(lngs) & np.isfinite(lats)))[0].tolist():
        problems.setdefault(i, []).append("the coordinates are not finite numbers")

    ok = np.ones(n, dtype=bool)
    ok[list(problems)] = False
    wgs_lng, wgs_lat = lngs.copy(), lats.copy()
    crs_codes = np.array([list(CRS).index(c) for c in crs_of], dtype=np.int8) if n else np.zeros(0, np.int8)
    for code, crs in enumerate(CRS):
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
        problems[i] = [f"the point ({lngs[i]:.6f}, {lats[i]:.6f}) {crs_of[i].value} is outside the district"]

    attributes = batch.attributes
    rows = []
    lng_list, lat_list, grid_list = wgs_lng.tolist(), wgs_lat.tolist(), grid_ids.tolist()
    for i in good.tolist():
        if i in problems:
            continue
        external_id = batch.external_ids[i]
        first = seen.get(external_id)
        if first is not None:
            first_source, first_line = divmod(first, 1 << 32)
            where = f"line {first_line}" if first_source == source_number else f"{sources[first_source]} line {first_line}"
            if batch.line_label != "line" and first_source == source_number:
                where = f"{batch.line_label} {first_line}"
            problems[i] = [f"duplicate external_id {external_id!r} (first at {where})"]
            continue
        if attributes is not None and attributes[i]:
            text = json.dumps(attributes[i], ensure_ascii=False)
            problem = _bad_text_reason(text, "attributes") or ("attributes contain a NUL character"
                                                               if "\\u0000" in text else None)
            if problem:
                problems[i] = [problem]
                continue
        else:
            text = "{}"
        seen[external_id] = (source_number << 32) + batch.lines[i]
        rows.append((offset + len(rows), external_id, batch.kinds[i], batch.names[i], batch.addresses[i] or "",
                     lng_list[i], lat_list[i], crs_of[i].value, grid_list[i], text))
    prefix = "" if batch.line_label == "line" else batch.line_label
    rejects = [Reject(batch.source, batch.lines[i],
                      f"{prefix} {batch.lines[i]}: {'; '.join(reasons)}" if prefix else "; ".join(reasons))
               for i, reasons in sorted(problems.items())]
    return rows, rejects


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
            for row in rows:
                copy.write_row(row)
    else:
        sql = f"INSERT INTO {_TEMP_TABLE} VALUES ({', '.join(['%s'] * (len(_LOADED) + 1))})"
        for start in range(0, len(rows), _SQLITE_CHUNK):
            cursor.executemany(sql, rows[start:start + _SQLITE_CHUNK])


def _upsert(cursor, table: str, total: int, postgres: bool) -> tuple[int, int]:
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
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if postgres:
        # xmax is 0 on a freshly inserted row and the updating transaction's id on an updated one;
        # rows the WHERE clause skipped are not returned at all.
        cursor.execute(f"WITH upserted AS ({upsert} RETURNING ({table}.xmax = 0) AS created) "
                       "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM upserted",
                       [now])
        created, updated = cursor.fetchone()
        return created, updated
    cursor.execute(f"SELECT count(*), coalesce(sum(CASE WHEN {changed('b', 't')} THEN 1 ELSE 0 END), 0) "
                   f"FROM {_TEMP_TABLE} t JOIN {table} b ON b.external_id = t.external_id")
    existing, updated = cursor.fetchone()
    cursor.execute(upsert, [now])
    return total - existing, updated


# --- loading boundaries ----------------------------------------------------------------------

LEVELS = ("street", "community", "grid", "industry")
_MODELS = {"street": Street, "community": Community, "grid": Grid, "industry": IndustryGrid}
_PARENT_LEVEL = {"community": "street", "grid": "community"}
_PARENT_FIELD = {"community": "street_id", "grid": "community_id", "industry": "department_id"}
_MAX_CODE, _MAX_NAME = 40, 100


@dataclass
class _Area:
    number: int  # 1-based feature number
    level: str
    code: str
    name: str
    parent: str  # the parent's code (community, grid) or the department's code (industry)
    polygon: object
    fields: dict = field(default_factory=dict)


def boundaries_load(path: str | Path, *, description: str) -> ImportReport:
    """Load streets, communities, grids and industry grids from a GeoJSON FeatureCollection of polygons.

    One transaction.  A feature whose geometry, name and parent are those of
    the current version of its code keeps that row (its parent link follows a
    parent that got a new version); a changed one retires the current version
    (``generation_high``) and gets a new one (``generation_low``) in ONE new
    generation, created only when something changes (grids inherit their
    grid workers, as in ``boundaries_redraw``); a new code gets a row.  Areas
    absent from the file are left alone.  Broken geometry, a missing field,
    an unknown level, parent or department reject the feature (line = its
    1-based number).  Then industry coverage is recomputed and this process's
    locator reset.  Who may call: the ``import_base_data`` command.  Raises
    ``OSError``/``ImportFileError`` for an unusable file.
    """
    from accounts.models import Department
    from gridapp.locator import locator_reset
    from gridapp.services import industry_coverage_refresh

    source = str(path)
    features = _read_feature_collection(path)
    rejected: list[Reject] = []
    by_level: dict[str, list[_Area]] = {level: [] for level in LEVELS}
    first_seen: dict[tuple[str, str, str], int] = {}
    for number, feature in enumerate(features, start=1):
        try:
            area = _boundary_feature(number, feature)
            key = (area.level, area.code, area.parent if area.level == "industry" else "")
            if key in first_seen:
                raise ValueError(f"{area.level} code {area.code!r} appears twice (first as feature {first_seen[key]})")
            first_seen[key] = number
        except ValueError as exc:
            rejected.append(Reject(source, number, f"feature {number}: {exc}"))
            continue
        by_level[area.level].append(area)

    loader = _BoundaryLoader(source, description, rejected)
    started = time.perf_counter()
    with transaction.atomic():
        departments = dict(Department.objects.filter(
            code__in={area.parent for area in by_level["industry"]}).values_list("code", "id"))
        for level in LEVELS:
            loader.load_level(level, by_level[level], departments)
        industry_coverage_refresh()
    seconds = time.perf_counter() - started
    locator_reset()
    rejected.sort(key=lambda reject: reject.line)
    return ImportReport(created=loader.created, updated=loader.updated, unchanged=loader.unchanged,
                        rejected=rejected, seconds_loading=seconds)


def _boundary_feature(number: int, feature) -> _Area:
    from gridapp.services import area_fields, boundary_polygon

    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise ValueError("properties are missing")
    values = {}
    for key in ("level", "code", "name", "parent", "department"):
        value = properties.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
        value = (value or "").strip()
        if (problem := _bad_text_reason(value, key)) is not None:
            raise ValueError(problem)
        values[key] = value
    level = values["level"]
    if not level:
        raise ValueError("level is missing")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r} (expected street, community, grid or industry)")
    for key, limit in (("code", _MAX_CODE), ("name", _MAX_NAME)):
        if not values[key]:
            raise ValueError(f"{key} is missing")
        if len(values[key]) > limit:
            raise ValueError(f"{key} is longer than {limit} characters")
    parent_key = "department" if level == "industry" else "parent" if level in _PARENT_LEVEL else None
    if parent_key and not values[parent_key]:
        raise ValueError(f"{parent_key} is missing (required for a {level})")
    if feature.get("geometry") is None:
        raise ValueError("geometry is missing")
    try:
        polygon = boundary_polygon(feature["geometry"])
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from None
    return _Area(number=number, level=level, code=values["code"], name=values["name"],
                 parent=values[parent_key] if parent_key else "", polygon=polygon, fields=area_fields(polygon))


def _same_geometry(stored: dict, area: _Area) -> bool:
    if json.dumps(stored, sort_keys=True) == json.dumps(area.fields["boundary"], sort_keys=True):
        return True
    from shapely.geometry import shape

    try:
        return bool(shape(stored).equals(area.polygon))
    except Exception:  # a broken stored boundary is never "the same"
        return False


class _BoundaryLoader:
    """The state of one boundaries import: the new generation (made on first need) and the replaced rows."""

    def __init__(self, source: str, description: str, rejected: list[Reject]):
        self.source = source
        self.description = description
        self.rejected = rejected
        self.generation = None
        self.created = self.updated = self.unchanged = 0
        self.current_ids: dict[str, dict[str, int]] = {}  # level -> code -> id of its current row
        self.replaced: dict[str, dict[int, int]] = {}  # level -> retired row id -> its new version's id

    def _generation(self):
        from gridapp.services import generation_create

        if self.generation is None:
            self.generation = generation_create(description=self.description)
        return self.generation

    def load_level(self, level: str, areas: list[_Area], departments: dict[str, int]) -> None:
        model = _MODELS[level]
        parent_field = _PARENT_FIELD.get(level)
        parent_level = _PARENT_LEVEL.get(level)
        parent_replaced = self.replaced.get(parent_level, {}) if parent_level else {}
        rows = list(model.objects.current().select_for_update().order_by("pk"))
        key_of = (lambda row: (row.department_id, row.code)) if level == "industry" else (lambda row: row.code)
        current = {key_of(row): row for row in rows}
        self.current_ids[level] = {row.code: row.pk for row in rows} if level != "industry" else {}
        self.replaced[level] = {}
        for area in areas:
            if level == "industry":
                parent_id = departments.get(area.parent)
                missing = f"unknown department {area.parent!r}"
            elif parent_level:
                parent_id = self.current_ids[parent_level].get(area.parent)
                missing = f"unknown parent {parent_level} {area.parent!r}"
            else:
                parent_id, missing = None, ""
            if parent_field and parent_id is None:
                self.rejected.append(Reject(self.source, area.number, f"feature {area.number}: {missing}"))
                continue
            old = current.get((parent_id, area.code) if level == "industry" else area.code)
            if old is not None and old.name == area.name and _same_geometry(old.boundary, area) and (
                    parent_field is None
                    or parent_replaced.get(getattr(old, parent_field), getattr(old, parent_field)) == parent_id):
                self.unchanged += 1  # its parent link, if the parent got a new version, follows below
                continue
            generation = self._generation()
            extra = {parent_field: parent_id} if parent_field else {}
            if level == "grid":
                centroid = area.polygon.centroid
                extra.update(centroid_lng=centroid.x, centroid_lat=centroid.y)
            if old is not None:  # retire first: one current row per code
                model.objects.filter(pk=old.pk).update(generation_high=generation)
            new = model.objects.create(code=area.code, name=area.name, generation_low=generation,
                                       **area.fields, **extra)
            if old is None:
                self.created += 1
            else:
                self.replaced[level][old.pk] = new.pk
                self.updated += 1
                if level == "grid":
                    _grid_carry_over(old, new)
            if level != "industry":
                self.current_ids[level][area.code] = new.pk
        # Rows kept as they are follow a parent that got a new version (their own history is unchanged).
        for old_id, new_id in parent_replaced.items():
            model.objects.current().filter(**{parent_field: old_id}).update(**{parent_field: new_id})


def _grid_carry_over(previous: Grid, grid: Grid) -> None:
    """What ``boundaries_redraw`` does for a redrawn grid: keep its workers, tell both versions' subscribers."""
    from core.feed import change_record

    GridUserObjectPermission.objects.bulk_create(
        GridUserObjectPermission(user_id=row.user_id, permission_id=row.permission_id, content_object=grid)
        for row in GridUserObjectPermission.objects.filter(content_object=previous)
    )
    change_record(kind="grid.redrawn", obj=grid, grid_id=previous.pk)
    change_record(kind="grid.redrawn", obj=grid, grid_id=grid.pk)
