"""The one intake of incidents, for every source: locate, route, number, or link to an open case nearby."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from gridapp.geography.crs import CRS, to_wgs84
from gridapp.geography.locator import OutsideDistrict, district_locator
from gridapp.geography.models import Grid
from gridapp.incidents import selectors
from gridapp.incidents.models import CaseCounter, Event, EventCategory, EventSource, EventStatus, PhotoStage
from gridapp.incidents.photos import distance_m
from gridapp.incidents.services.common import (
    event_change_record,
    event_history_write,
    files_discard,
    photos_prepare,
    photos_store,
    stage_deadline,
    text_clean,
)

S = EventStatus
#: Sources whose reports must carry a photo when the category asks for one (a water meter has no camera).
PHOTO_SOURCES = frozenset({EventSource.GRID_WORKER, EventSource.CITIZEN, EventSource.CAMERA})


@dataclass(frozen=True)
class ReportOutcome:
    event: Event
    #: The open case this report was linked to as a duplicate, if any.
    duplicate_of: Event | None
    #: True when the same ``source_key`` had been reported before: nothing new was written.
    replayed: bool = False


def _source_of(reporter) -> str:
    if reporter.role == Role.GRID_WORKER:
        return EventSource.GRID_WORKER
    if reporter.role in {Role.CITIZEN, Role.BUSINESS, Role.PARK_EMPLOYEE}:
        return EventSource.CITIZEN
    return EventSource.BACK_OFFICE


def _case_number(year: int) -> str:
    # ON CONFLICT DO NOTHING: two first reports of a new year must not collide on creating the row.
    CaseCounter.objects.bulk_create([CaseCounter(year=year)], ignore_conflicts=True)
    counter = CaseCounter.objects.select_for_update().get(year=year)
    counter.last = F("last") + 1
    counter.save(update_fields=["last"])
    counter.refresh_from_db(fields=["last"])
    return f"{year}{counter.last:07d}"


def event_report(
    *,
    reporter,
    category_code: str,
    lng: float,
    lat: float,
    crs: CRS = CRS.WGS84,
    description: str = "",
    address: str = "",
    photos: Sequence = (),
    source: str | None = None,
    source_key: str | None = None,
    at: datetime | None = None,
    link_duplicates: bool = True,
) -> ReportOutcome:
    """Take in one incident from any source: locate it, route it, number it, or link it to an open case.

    Who may call: any active signed-in user (grid workers, staff, citizens; the
    source follows the role) and, with ``reporter=None`` and a ``source``, the
    cameras' AI and sensors.  ``source_key`` makes a retry idempotent: the
    same key returns the first outcome with ``replayed=True``.

    A report of the same category within ``EVENT_DUPLICATE_RADIUS_M`` and
    ``EVENT_DUPLICATE_WINDOW_HOURS`` of an open case becomes a duplicate of it:
    its own row, photos and reporter, no case number; not with ``link_duplicates=False`` (a sensor's
    alarm is one household's, whoever lives next door).

    Raises ``ValidationError`` with code ``unknown_category``,
    ``invalid_coordinates``, ``outside_district``, ``photo_required``,
    ``too_many_photos``, ``photo_location_mismatch``, ``too_long`` or a photo's
    own code (``not_an_image``, ``image_too_large``, ``file_too_large``,
    ``unsupported_format``); ``PermissionDenied`` for an inactive user.
    """
    if reporter is not None and not (reporter.is_authenticated and reporter.is_active):
        raise PermissionDenied(_("Log in first: this needs an access token."))
    if reporter is None and source not in {EventSource.CAMERA, EventSource.SENSOR, EventSource.BACK_OFFICE}:
        raise ValueError("a report without a reporter needs a machine source")
    source = source or _source_of(reporter)
    if source_key:
        source_key = source_key[:120]
        replay = _replayed(source_key)
        if replay is not None:
            return replay
    category = EventCategory.objects.select_related("department").filter(code=category_code, active=True).first()
    if category is None:
        raise ValidationError({"category_code": ValidationError(
            _("Unknown event category %(code)s.") % {"code": category_code}, code="unknown_category")})
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError({"location": ValidationError(
            _("Latitude must be within ±90 and longitude within ±180."), code="invalid_coordinates")})
    wgs_lng, wgs_lat = to_wgs84(lng, lat, CRS(crs))
    try:
        location = district_locator().locate_wgs84(wgs_lng, wgs_lat)
    except OutsideDistrict:
        raise ValidationError({"location": ValidationError(
            _("This point is outside the district."), code="outside_district")}) from None
    description = text_clean(description, field="description", limit=2000)
    address = text_clean(address, field="address", limit=300)
    if category.photo_required and source in PHOTO_SOURCES and not photos:
        raise ValidationError({"photos": ValidationError(
            _("A photo is required for %(category)s.") % {"category": category.display_name()},
            code="photo_required")})
    ingested = photos_prepare(photos, lng=wgs_lng, lat=wgs_lat)
    department_hit = next((hit for hit in location.industry if hit.department_code == category.department.code), None)
    now = at or timezone.now()
    written: list[str] = []
    try:
        with transaction.atomic():
            grid = Grid.objects.select_related("community").get(pk=location.grid_id)
            event = Event(
                category=category, source=source, source_key=source_key or None, severity=category.severity,
                description=description, address=address, lng=wgs_lng, lat=wgs_lat, source_crs=str(CRS(crs)),
                grid=grid, community_id=grid.community_id, street_id=grid.community.street_id,
                department=category.department,
                industry_grid_id=department_hit.industry_grid_id if department_hit else None,
                reporter=reporter, reported_at=now, updated_at=now,
            )
            parent = (_open_case_nearby(category=category, lng=wgs_lng, lat=wgs_lat, now=now)
                      if link_duplicates else None)
            if parent is None:
                event.case_number = _case_number(now.year)
                event.deadline = stage_deadline(category, S.REPORTED, now)
            else:
                event.status = S.DUPLICATE
                event.duplicate_of = parent
            event.save()
            history = event_history_write(event, actor=reporter, action="report", from_status="", note=description,
                               data={"source": source, "crs": str(CRS(crs))}, at=now)
            stage = PhotoStage.EVIDENCE if source == EventSource.CAMERA else PhotoStage.REPORT
            photos_store(ingested, event=event, stage=stage, user=reporter, history=history, written=written)
            event_change_record(event, "event.reported")
            if parent is not None:
                Event.objects.filter(pk=parent.pk).update(duplicate_count=F("duplicate_count") + 1,
                                                          updated_at=now, version=F("version") + 1)
                parent.refresh_from_db()
                event_history_write(parent, actor=reporter, action="duplicate", from_status=parent.status,
                         data={"duplicate_id": event.pk}, at=now)
                event_change_record(parent, "event.duplicate_linked")
    except IntegrityError:
        files_discard(written)
        if source_key and (replay := _replayed(source_key)) is not None:
            return replay  # the same retry raced us and won
        raise
    except BaseException:
        files_discard(written)
        raise
    return ReportOutcome(event=event, duplicate_of=parent)


def _replayed(source_key: str) -> ReportOutcome | None:
    earlier = Event.objects.select_related("duplicate_of").filter(source_key=source_key).first()
    if earlier is None:
        return None
    return ReportOutcome(event=earlier, duplicate_of=earlier.duplicate_of, replayed=True)


def _open_case_nearby(*, category: EventCategory, lng: float, lat: float, now: datetime) -> Event | None:
    since = now - timedelta(hours=settings.EVENT_DUPLICATE_WINDOW_HOURS)
    nearest = None
    for candidate in selectors.event_duplicate_candidates(category_id=category.pk, lng=lng, lat=lat, since=since):
        away = distance_m(candidate.lng, candidate.lat, lng, lat)
        if away <= settings.EVENT_DUPLICATE_RADIUS_M and (nearest is None or away < nearest[0]):
            nearest = (away, candidate)
    return nearest[1] if nearest else None
