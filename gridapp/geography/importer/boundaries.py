"""``boundaries_load``: streets, communities, grids and industry grids from a GeoJSON file, versioned by generation."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridapp.geography.importer.readers import _read_feature_collection
from gridapp.geography.importer.types import ImportReport, Reject, _bad_text_reason
from gridapp.geography.models import Community, Grid, GridUserObjectPermission, IndustryGrid, Street

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
    from gridapp.geography.locator import locator_reset
    from gridapp.geography.services import industry_coverage_refresh

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
                raise ValueError(_("%(level)s code %(code)s appears twice (first as feature %(first)d)")
                                 % {"level": area.level, "code": repr(area.code), "first": first_seen[key]})
            first_seen[key] = number
        except ValueError as exc:
            rejected.append(Reject(source, number, _("feature %(number)d: %(reason)s") % {"number": number, "reason": exc}))
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
    from gridapp.geography.services import area_fields, boundary_polygon

    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError(_("not a GeoJSON Feature"))
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise ValueError(_("properties are missing"))
    values = {}
    for key in ("level", "code", "name", "parent", "department"):
        value = properties.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(_("%(field)s must be a string") % {"field": key})
        value = (value or "").strip()
        if (problem := _bad_text_reason(value, key)) is not None:
            raise ValueError(problem)
        values[key] = value
    level = values["level"]
    if not level:
        raise ValueError(_("level is missing"))
    if level not in LEVELS:
        raise ValueError(_("unknown level %(level)s (expected street, community, grid or industry)")
                         % {"level": repr(level)})
    for key, limit in (("code", _MAX_CODE), ("name", _MAX_NAME)):
        if not values[key]:
            raise ValueError(_("%(field)s is missing") % {"field": key})
        if len(values[key]) > limit:
            raise ValueError(_("%(field)s is longer than %(limit)d characters") % {"field": key, "limit": limit})
    parent_key = "department" if level == "industry" else "parent" if level in _PARENT_LEVEL else None
    if parent_key and not values[parent_key]:
        raise ValueError(_("%(field)s is missing (required for a %(level)s)") % {"field": parent_key, "level": level})
    if feature.get("geometry") is None:
        raise ValueError(_("geometry is missing"))
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
        from gridapp.geography.services import generation_create

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
                missing = _("unknown department %(code)s") % {"code": repr(area.parent)}
            elif parent_level:
                parent_id = self.current_ids[parent_level].get(area.parent)
                missing = _("unknown parent %(level)s %(code)s") % {"level": parent_level, "code": repr(area.parent)}
            else:
                parent_id, missing = None, ""
            if parent_field and parent_id is None:
                self.rejected.append(Reject(self.source, area.number, _("feature %(number)d: %(reason)s")
                                            % {"number": area.number, "reason": missing}))
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
    from core.audiences import scope
    from core.feed import change_record

    GridUserObjectPermission.objects.bulk_create(
        GridUserObjectPermission(user_id=row.user_id, permission_id=row.permission_id, content_object=grid)
        for row in GridUserObjectPermission.objects.filter(content_object=previous)
    )
    change_record(kind="grid.redrawn", obj=grid, to=[scope("grid", previous.pk)])
    change_record(kind="grid.redrawn", obj=grid, to=[scope("grid", grid.pk)])
