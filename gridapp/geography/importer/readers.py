"""Readers of base-record files: CSV and GeoJSON Point features, streamed as ``RecordBatch``es."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from django.utils.translation import gettext as _

from gridapp.geography.crs import CRS
from gridapp.geography.importer.types import (
    _BAD_TEXT,
    BATCH_SIZE,
    ImportFileError,
    RecordBatch,
    Reject,
    _bad_text_reason,
)

RECORD_COLUMNS = ("external_id", "kind", "name", "address", "lng", "lat", "crs")
_REQUIRED_COLUMNS = ("external_id", "kind", "name", "lng", "lat")


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
            raise ImportFileError(_("%(file)s: the file is empty (a header row is required)") % {"file": source})
        names = [cell.strip().lower() for cell in header]
        problem = _bad_text_reason(",".join(header), _("the header"))
        if problem:
            raise ImportFileError(_("%(file)s: %(problem)s") % {"file": source, "problem": problem})
        missing = [column for column in _REQUIRED_COLUMNS if column not in names]
        if missing:
            raise ImportFileError(
                _("%(file)s: missing column(s) %(columns)s (expected %(expected)s; crs and address are optional)")
                % {"file": source, "columns": ", ".join(missing), "expected": ",".join(RECORD_COLUMNS)})
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ImportFileError(_("%(file)s: repeated column(s) %(columns)s")
                                  % {"file": source, "columns": ", ".join(repeated)})
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
                    rejects.append(Reject(source, line, _("the row has %(fields)d fields, the header has %(width)d")
                                          % {"fields": len(row), "width": width}))
                    continue
                if _BAD_TEXT.search("".join(row)):
                    where, cell = next((header[i].strip(), cell) for i, cell in enumerate(row) if _BAD_TEXT.search(cell))
                    column = _("column %(column)s") % {"column": repr(where)}
                    rejects.append(Reject(source, line, _bad_text_reason(cell, column)))
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
            raise ImportFileError(_("%(file)s, line %(line)d: %(error)s")
                                  % {"file": source, "line": reader.line_num, "error": exc}) from None
    if len(columns):
        yield columns.batch(source)


def _coordinate(text: str, what: str) -> float:
    if not text:
        raise ValueError(_("%(field)s is missing") % {"field": what})
    try:
        return float(text)
    except ValueError:
        raise ValueError(_("%(field)s %(value)s is not a number") % {"field": what, "value": repr(text)}) from None


def _read_feature_collection(path: str | Path) -> list:
    """The features of a GeoJSON FeatureCollection file (``OSError``/``ImportFileError`` when unusable)."""
    source = str(path)
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ImportFileError(_("%(file)s: not valid JSON (%(error)s)") % {"file": source, "error": exc}) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise ImportFileError(_("%(file)s: not a GeoJSON FeatureCollection") % {"file": source})
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
            rejects.append(Reject(source, number, _("feature %(number)d: %(reason)s") % {"number": number, "reason": exc}))
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
        raise ValueError(_("not a GeoJSON Feature"))
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        found = geometry.get("type") if isinstance(geometry, dict) else None
        if found:
            raise ValueError(_("the geometry is %(type)s, expected a Point") % {"type": found})
        raise ValueError(_("the geometry is missing, expected a Point"))
    coordinates = geometry.get("coordinates")
    if (not isinstance(coordinates, list) or len(coordinates) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates[:2])):
        raise ValueError(_("the Point has no numeric coordinates"))
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise ValueError(_("properties is not an object"))
    values = []
    for key in _GEOJSON_FIELDS:
        value = properties.get(key)
        if value is None:
            value = ""
        elif key == "external_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise ValueError(_("%(field)s must be a string") % {"field": key})
        value = value.strip()
        problem = _bad_text_reason(value, key)
        if problem:
            raise ValueError(problem)
        values.append(value)
    attributes = {key: value for key, value in properties.items() if key not in _GEOJSON_FIELDS}
    return values, float(coordinates[0]), float(coordinates[1]), attributes
