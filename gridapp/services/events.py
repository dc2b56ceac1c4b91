"""Writes of incidents: one intake for every source, one transition service, escalation of overdue events.

Every write here is one transaction that also writes the event's history and
the change-feed row; notifications and photo files are the only side effects,
and a failed write leaves no photo file behind.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from core.feed import change_record
from core.services import notification_send
from gridapp import selectors
from gridapp.crs import CRS, to_wgs84
from gridapp.locator import OutsideDistrict, district_locator
from gridapp.models import (
    OPEN_STATUSES,
    CaseCounter,
    EscalationLevel,
    Event,
    EventCategory,
    EventEscalation,
    EventHistory,
    EventPhoto,
    EventSource,
    EventStatus,
    Grid,
    PhotoStage,
)
from gridapp.photos import IngestedPhoto, distance_m, photo_ingest
from gridapp.verification import site_check_refusal
from gridapp.workflow import ACTION_LABELS, Action, Need, Relation, target_status, transition_for

S = EventStatus
#: Statuses whose stage has a deadline, and the category field that gives its hours.
STAGE_HOURS_FIELD = {
    S.REPORTED: "accept_hours",
    S.ACCEPTED: "dispatch_hours",
    S.DISPATCHED: "handle_hours",
    S.IN_PROGRESS: "handle_hours",
    S.RESOLVED: "verify_hours",
    S.VERIFIED: "verify_hours",
}
#: Sources whose reports must carry a photo when the category asks for one (a water meter has no camera).
PHOTO_SOURCES = frozenset({EventSource.GRID_WORKER, EventSource.CITIZEN, EventSource.CAMERA})
MAX_BULK = 100


@dataclass(frozen=True)
class ReportOutcome:
    event: Event
    #: The open case this report was linked to as a duplicate, if any.
    duplicate_of: Event | None
    #: True when the same ``source_key`` had been reported before: nothing new was written.
    replayed: bool = False


def stage_hours(category: EventCategory, status: str) -> int | None:
    field = STAGE_HOURS_FIELD.get(status)
    return getattr(category, field) if field else None


def _deadline(category: EventCategory, status: str, start: datetime) -> datetime | None:
    hours = stage_hours(category, status)
    return start + timedelta(hours=hours) if hours else None


def _source_of(reporter) -> str:
    if reporter.role == Role.GRID_WORKER:
        return EventSource.GRID_WORKER
    if reporter.role in {Role.CITIZEN, Role.BUSINESS, Role.PARK_EMPLOYEE}:
        return EventSource.CITIZEN
    return EventSource.BACK_OFFICE


def _ingest_photos(photos: Sequence, *, lng: float, lat: float) -> list[IngestedPhoto]:
    """Decode, check and re-encode every photo before any row is written (no lock is held meanwhile)."""
    if len(photos) > settings.EVENT_MAX_PHOTOS:
        raise ValidationError({"photos": ValidationError(
            _("At most %(count)d photos per report.") % {"count": settings.EVENT_MAX_PHOTOS}, code="too_many_photos")})
    ingested = []
    for index, upload in enumerate(photos):
        try:
            photo = photo_ingest(upload=upload)
        except ValidationError as exc:
            raise ValidationError({"photos": ValidationError(
                _("Photo %(n)d: %(reason)s") % {"n": index + 1, "reason": " ".join(exc.messages)}, code=exc.code)}
            ) from None
        if photo.gps is not None:
            away = distance_m(photo.gps[0], photo.gps[1], lng, lat)
            if away > settings.PHOTO_GPS_TOLERANCE_M:
                raise ValidationError({"photos": ValidationError(
                    _("Photo %(n)d was taken %(km).1f km from the reported place. Take it on the spot.")
                    % {"n": index + 1, "km": away / 1000}, code="photo_location_mismatch")})
        ingested.append(photo)
    return ingested


def _store_photos(ingested: Iterable[IngestedPhoto], *, event: Event, stage: str, user,
                  history: EventHistory | None, written: list[str]) -> None:
    """Write the files (recording their names in ``written`` for cleanup) and the photo rows."""
    rows = []
    for photo in ingested:
        stem = f"events/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
        image = default_storage.save(f"{stem}.jpg", ContentFile(photo.display))
        written.append(image)
        thumbnail = default_storage.save(f"{stem}-thumb.jpg", ContentFile(photo.thumbnail))
        written.append(thumbnail)
        rows.append(EventPhoto(
            event=event, history=history, stage=stage, uploaded_by=user, image=image, thumbnail=thumbnail,
            width=photo.width, height=photo.height, sha256=photo.sha256, original_format=photo.original_format,
            original_bytes=photo.original_bytes, exif_lng=photo.gps[0] if photo.gps else None,
            exif_lat=photo.gps[1] if photo.gps else None,
            taken_at=timezone.make_aware(photo.taken_at) if photo.taken_at and timezone.is_naive(photo.taken_at)
            else photo.taken_at,
        ))
    EventPhoto.objects.bulk_create(rows)


def _discard_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _case_number(year: int) -> str:
    # ON CONFLICT DO NOTHING: two first reports of a new year must not collide on creating the row.
    CaseCounter.objects.bulk_create([CaseCounter(year=year)], ignore_conflicts=True)
    counter = CaseCounter.objects.select_for_update().get(year=year)
    counter.last = F("last") + 1
    counter.save(update_fields=["last"])
    counter.refresh_from_db(fields=["last"])
    return f"{year}{counter.last:07d}"


def _record(event: Event, kind: str) -> None:
    change_record(kind=kind, obj=event, grid_id=event.grid_id, department_id=event.department_id,
                  user_id=event.reporter_id, facts={"status": event.status, "version": event.version})


def _history(event: Event, *, actor, action: str, from_status: str, note: str = "", data: dict | None = None,
             at: datetime | None = None) -> EventHistory:
    return EventHistory.objects.create(
        event=event, at=at or timezone.now(), actor=actor, actor_label=_actor_label(actor), action=action,
        from_status=from_status, to_status=event.status, note=note, data=data or {},
    )


def _actor_label(actor) -> str:
    if actor is None:
        return "system"
    return f"{actor.display_name or actor.username} ({actor.username})"


def _clean_text(value: str, *, field: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError({field: ValidationError(
            _("At most %(limit)d characters.") % {"limit": limit}, code="too_long")})
    return value


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
) -> ReportOutcome:
    """Take in one incident from any source: locate it, route it, number it, or link it to an open case.

    Who may call: any active signed-in user (grid workers, staff, citizens; the
    source follows the role) and, with ``reporter=None`` and a ``source``, the
    cameras' AI and sensors.  ``source_key`` makes a retry idempotent: the
    same key returns the first outcome with ``replayed=True``.

    A report of the same category within ``EVENT_DUPLICATE_RADIUS_M`` and
    ``EVENT_DUPLICATE_WINDOW_HOURS`` of an open case becomes a duplicate of it:
    its own row, photos and reporter, no case number.

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
    description = _clean_text(description, field="description", limit=2000)
    address = _clean_text(address, field="address", limit=300)
    if category.photo_required and source in PHOTO_SOURCES and not photos:
        raise ValidationError({"photos": ValidationError(
            _("A photo is required for %(category)s.") % {"category": category.display_name()},
            code="photo_required")})
    ingested = _ingest_photos(photos, lng=wgs_lng, lat=wgs_lat)
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
            parent = _open_case_nearby(category=category, lng=wgs_lng, lat=wgs_lat, now=now)
            if parent is None:
                event.case_number = _case_number(now.year)
                event.deadline = _deadline(category, S.REPORTED, now)
            else:
                event.status = S.DUPLICATE
                event.duplicate_of = parent
            event.save()
            history = _history(event, actor=reporter, action="report", from_status="", note=description,
                               data={"source": source, "crs": str(CRS(crs))}, at=now)
            stage = PhotoStage.EVIDENCE if source == EventSource.CAMERA else PhotoStage.REPORT
            _store_photos(ingested, event=event, stage=stage, user=reporter, history=history, written=written)
            _record(event, "event.reported")
            if parent is not None:
                Event.objects.filter(pk=parent.pk).update(duplicate_count=F("duplicate_count") + 1,
                                                          updated_at=now, version=F("version") + 1)
                parent.refresh_from_db()
                _history(parent, actor=reporter, action="duplicate", from_status=parent.status,
                         data={"duplicate_id": event.pk}, at=now)
                _record(parent, "event.duplicate_linked")
    except IntegrityError:
        _discard_files(written)
        if source_key and (replay := _replayed(source_key)) is not None:
            return replay  # the same retry raced us and won
        raise
    except BaseException:
        _discard_files(written)
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


def event_relations(user, event: Event, *, patrolled: frozenset[int] | None = None,
                    supervised: frozenset[int] | None = None) -> frozenset[Relation]:
    """How ``user`` (None: the system) stands to ``event``.

    At most two small queries; none when the caller passes the user's patrolled
    and supervised grid ids (a list computes them once for all its events).
    """
    if user is None:
        return frozenset({Relation.SYSTEM})
    if not (user.is_authenticated and user.is_active):
        return frozenset()
    relations = set()
    if user.commands_district:
        relations.add(Relation.COMMAND_CENTRE)
    if event.reporter_id == user.pk:
        relations.add(Relation.REPORTER)
    if event.assignee_id == user.pk:
        relations.add(Relation.ASSIGNEE)
    if user.is_department_staff and user.department_id == event.department_id:
        relations.add(Relation.DEPARTMENT)
    if user.role == Role.GRID_WORKER and (
            event.grid_id in patrolled if patrolled is not None
            else selectors.grid_ids_of_worker(user).filter(content_object_id=event.grid_id).exists()):
        relations.add(Relation.GRID_WORKER)
    if user.role == Role.SUPERVISOR and (
            event.grid_id in supervised if supervised is not None
            else selectors.grid_ids_supervised_by(user).filter(id=event.grid_id).exists()):
        relations.add(Relation.SUPERVISOR)
    return frozenset(relations)


def _check_assignee(event: Event, assignee) -> None:
    """The assignee works for the event's department or in its grid, so the event's changes reach them."""
    if assignee is None:
        raise ValidationError({"assignee": ValidationError(_("Choose who handles the event."), code="required")})
    in_department = assignee.is_department_staff and assignee.department_id == event.department_id
    in_grid = assignee.role == Role.GRID_WORKER and selectors.grid_ids_of_worker(assignee).filter(
        content_object_id=event.grid_id).exists()
    if not (assignee.is_active and (in_department or in_grid)):
        raise ValidationError({"assignee": ValidationError(
            _("%(name)s neither works for the responsible department nor in the event's grid.")
            % {"name": assignee.display_name or assignee.username}, code="invalid_assignee")})


def _photo_stage(action: Action, status: str) -> str:
    if action == Action.RESOLVE:
        return PhotoStage.RESOLUTION
    if action == Action.VERIFY or (action == Action.RETURN and status == S.RESOLVED):
        return PhotoStage.VERIFICATION
    return PhotoStage.HANDLING


def event_transition(
    *,
    actor,
    event_id: int,
    action: str,
    note: str = "",
    photos: Sequence = (),
    assignee=None,
    hours: int | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Event:
    """Fire one action of ``gridapp.workflow`` on an event: check who and what, move it, write history and feed.

    Who may call: whoever the transition table names for the action and the
    event's status (``actor=None`` is the system).  The event row is locked,
    so of two people firing the same transition at once one succeeds and the
    other gets ``transition_not_allowed`` (or ``stale`` with ``expected_version``).

    Raises ``ValidationError`` with code ``not_found`` (also for an event the
    actor may not see), ``unknown_action``, ``transition_not_allowed``,
    ``stale``, ``required`` (note, assignee), ``photo_required``,
    ``same_person`` (verifying one's own resolution), ``not_confirmed_on_site`` (a camera watching the
    place does not confirm the result yet: ``gridapp.verification``), ``invalid_assignee``,
    ``invalid_hours``, ``extension_pending``, ``no_extension``, ``too_long``
    or a photo's code; ``PermissionDenied`` when the actor may see the event
    but not fire this action.
    """
    try:
        action = Action(action)
    except ValueError:
        raise ValidationError({"action": ValidationError(_("Unknown action %(action)s.") % {"action": action},
                                                         code="unknown_action")}) from None
    note = _clean_text(note, field="note", limit=2000)
    # Only an event the actor may see: the photos' position check must not reveal where others' events are.
    visible = Event.objects if actor is None else selectors.events_visible_to(actor)
    located = visible.filter(pk=event_id).values_list("lng", "lat").first()
    if located is None:
        raise _not_found()
    ingested = _ingest_photos(photos, lng=located[0], lat=located[1])
    written: list[str] = []
    try:
        with transaction.atomic():
            event = _locked_event(actor, event_id)
            event = _apply(actor, event, action, note=note, ingested=ingested, assignee=assignee, hours=hours,
                           expected_version=expected_version, now=now or timezone.now(), written=written)
    except BaseException:
        _discard_files(written)
        raise
    return event


def _not_found() -> ValidationError:
    return ValidationError({"eventId": ValidationError(_("Event not found."), code="not_found")})


def _locked_event(actor, event_id: int) -> Event:
    events = Event.objects.select_for_update().select_related("category")
    if actor is not None:
        events = events.filter(pk__in=selectors.events_visible_to(actor).filter(pk=event_id).values("pk"))
    event = events.filter(pk=event_id).first()
    if event is None:
        raise _not_found()
    return event


def _apply(actor, event: Event, action: Action, *, note: str, ingested: list[IngestedPhoto], assignee,
           hours: int | None, expected_version: int | None, now: datetime, written: list[str]) -> Event:
    if expected_version is not None and expected_version != event.version:
        raise ValidationError(_("The event changed meanwhile (version %(now)d, not %(expected)d). Reload it.")
                              % {"now": event.version, "expected": expected_version}, code="stale")
    rule = transition_for(action, event.status)
    if rule is None:
        raise ValidationError(_("An event that is %(status)s cannot be given the action '%(action)s'.")
                              % {"status": event.get_status_display(), "action": ACTION_LABELS[action]},
                              code="transition_not_allowed")
    if not rule.who & event_relations(actor, event):
        raise PermissionDenied(_("You may not %(action)s this event.") % {"action": ACTION_LABELS[action]})
    _check_needs(rule.needs, event, actor=actor, note=note, ingested=ingested, assignee=assignee, hours=hours, now=now)
    from_status = event.status
    data: dict = {}
    event.status = target_status(rule, status=event.status, held_from=event.held_from)
    if action in {Action.DISPATCH, Action.ASSIGN}:
        data["assignee"] = assignee.username
        data["previous_assignee"] = event.assignee.username if event.assignee_id else None
        event.assignee = assignee
    _stamp(event, action, from_status=from_status, actor=actor, hours=hours, note=note, now=now, data=data)
    event.updated_at = now
    event.version += 1
    event.save()
    history = _history(event, actor=actor, action=action, from_status=from_status, note=note, data=data, at=now)
    _store_photos(ingested, event=event, stage=_photo_stage(action, from_status), user=actor, history=history,
                  written=written)
    _record(event, f"event.{action}")
    _notify(event, action, actor=actor)
    return event


def _check_needs(needs, event: Event, *, actor, note: str, ingested, assignee, hours, now: datetime) -> None:
    if Need.NOTE in needs and not note:
        raise ValidationError({"note": ValidationError(_("Give a reason in the note."), code="required")})
    if Need.PHOTO_IF_CATEGORY_SAYS in needs and event.category.photo_required and not ingested:
        raise ValidationError({"photos": ValidationError(
            _("A photo of the result is required for %(category)s.") % {"category": event.category.display_name()},
            code="photo_required")})
    if Need.ASSIGNEE in needs:
        _check_assignee(event, assignee)
    if Need.NOT_THE_RESOLVER in needs and actor is not None and event.resolved_by_id == actor.pk:
        raise ValidationError(_("Someone other than the person who resolved it must check the result."),
                              code="same_person")
    if Need.SITE_CONFIRMED in needs and (reason := site_check_refusal(event, now)) is not None:
        raise ValidationError(reason, code="not_confirmed_on_site")
    if Need.HOURS in needs and not (isinstance(hours, int) and 1 <= hours <= settings.EVENT_MAX_EXTENSION_HOURS):
        raise ValidationError({"hours": ValidationError(
            _("An extension is 1 to %(max)d hours.") % {"max": settings.EVENT_MAX_EXTENSION_HOURS},
            code="invalid_hours")})
    if Need.NO_PENDING_EXTENSION in needs and event.extension_hours:
        raise ValidationError(_("An extension request is already waiting for a supervisor."), code="extension_pending")
    if Need.PENDING_EXTENSION in needs and not event.extension_hours:
        raise ValidationError(_("No extension request is waiting."), code="no_extension")


def _stamp(event: Event, action: Action, *, from_status: str, actor, hours, note: str, now: datetime,
           data: dict) -> None:
    """Timestamps, deadlines, hold and extension bookkeeping of one transition."""
    category = event.category
    if action == Action.HOLD:
        event.held_from = from_status
        remaining = (event.deadline - now).total_seconds() if event.deadline else 0
        event.held_remaining_seconds = max(0, int(remaining))
        event.deadline = None
        return
    if action == Action.RESUME:
        event.deadline = now + timedelta(seconds=event.held_remaining_seconds or 0)
        event.held_from, event.held_remaining_seconds = "", None
        return
    if action == Action.REQUEST_EXTENSION:
        event.extension_hours, event.extension_reason, event.extension_requested_by = hours, note[:500], actor
        data["hours"] = hours
        return
    if action in {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION}:
        data["hours"] = event.extension_hours
        data["requested_by"] = (event.extension_requested_by.username if event.extension_requested_by_id
                                else None)
        if action == Action.APPROVE_EXTENSION:
            event.deadline = max(event.deadline or now, now) + timedelta(hours=event.extension_hours)
            data["deadline"] = event.deadline.isoformat()
        event.extension_hours, event.extension_reason, event.extension_requested_by = None, "", None
        return
    if action == Action.ASSIGN:
        return
    if event.status == S.ACCEPTED and action in {Action.ACCEPT, Action.REOPEN}:
        event.accepted_at = now
    if action == Action.DISPATCH:
        event.dispatched_at = now
    if action == Action.RESOLVE:
        event.resolved_at, event.resolved_by = now, actor
    if action == Action.RETURN and from_status == S.RESOLVED:
        event.resolved_at, event.resolved_by = None, None
    if action == Action.REOPEN:
        # The escalation level stays: each level hears of a case at most once, reopened or not.  Back to
        # "accepted", it waits for a new dispatch: the old dispatch time no longer describes it.
        event.closed_at = event.resolved_at = event.resolved_by = event.dispatched_at = None
    if event.status in {S.CLOSED, S.REJECTED, S.VOID}:
        event.closed_at = now
    # Entering in-progress keeps the deadline the dispatch set; every other stage starts its own clock.
    if not (action == Action.START):
        event.deadline = _deadline(category, event.status, now)
    if action in {Action.RETURN, Action.REOPEN} and event.status in {S.REPORTED, S.ACCEPTED}:
        event.assignee = None


def _notify(event: Event, action: Action, *, actor) -> None:
    """Tell the person who must act next (inside the transaction: a rollback sends nothing)."""
    title = _("Case %(case)s: %(action)s") % {"case": event.case_number, "action": ACTION_LABELS[action]}
    recipients = []
    if action in {Action.DISPATCH, Action.ASSIGN} and event.assignee_id:
        recipients.append(event.assignee)
    if action in {Action.RESOLVE, Action.REJECT} and event.reporter_id:
        recipients.append(event.reporter)
    if action == Action.RETURN and event.status == S.IN_PROGRESS and event.assignee_id:
        recipients.append(event.assignee)
    for recipient in recipients:
        if actor is None or recipient.pk != actor.pk:
            notification_send(recipient=recipient, title=title, body=event.category.display_name(),
                              source=f"event:{event.pk}:{event.version}:{recipient.pk}")


def events_transition_bulk(*, actor, event_ids: Sequence[int], action: str, note: str = "", assignee=None
                           ) -> list[tuple[int, list[ValidationError | PermissionDenied]]]:
    """Fire one action on many events, each in its own transaction; returns ``(id, errors)`` per event.

    Who may call: as ``event_transition`` for each event (bulk accept,
    dispatch, assign from a work queue).  One event's failure does not undo
    another's success.  Raises ``ValidationError(code="too_many")`` above
    ``MAX_BULK`` ids.
    """
    if len(event_ids) > MAX_BULK:
        raise ValidationError(_("At most %(max)d events at once.") % {"max": MAX_BULK}, code="too_many")
    outcomes = []
    for event_id in dict.fromkeys(event_ids):
        try:
            event_transition(actor=actor, event_id=event_id, action=action, note=note, assignee=assignee)
        except (ValidationError, PermissionDenied) as exc:
            outcomes.append((event_id, [exc]))
        else:
            outcomes.append((event_id, []))
    return outcomes


def escalation_due_level(event: Event, now: datetime) -> int:
    """How far up the chain an event should be by ``now``: 0 while on time, then one level per step overdue."""
    if event.deadline is None or event.status not in OPEN_STATUSES or event.deadline >= now:
        return 0
    hours = stage_hours(event.category, event.status) or 1
    step = max(timedelta(hours=hours) * settings.EVENT_ESCALATION_STEP_FRACTION,
               timedelta(minutes=settings.EVENT_ESCALATION_MIN_STEP_MINUTES))
    return min(EscalationLevel.COMMAND_CENTRE, 1 + int((now - event.deadline) / step))


def events_escalate(*, now: datetime | None = None) -> int:
    """Raise every overdue open event to the level its lateness calls for; returns how many escalations.

    Who may call: the ``events_escalate_task`` beat task (and tests).  Each
    level is reached at most once per event (a unique row guards it, so two
    overlapping runs cannot both notify); each level's people are notified
    idempotently.  An event on hold has no deadline and is never escalated.
    """
    now = now or timezone.now()
    overdue = (Event.objects.filter(selectors.event_overdue(now),
                                    escalation_level__lt=EscalationLevel.COMMAND_CENTRE)
               .select_related("category").order_by("id"))
    escalations = 0
    for event in overdue.iterator(chunk_size=500):
        if escalation_due_level(event, now) > event.escalation_level:
            escalations += _escalate(event.pk, now)
    return escalations


def _escalate(event_id: int, now: datetime) -> int:
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("category").get(pk=event_id)
        due = escalation_due_level(event, now)
        done = 0
        for level in range(event.escalation_level + 1, due + 1):
            _row, created = EventEscalation.objects.get_or_create(
                event=event, level=level, defaults={"stage": event.status, "deadline": event.deadline, "at": now})
            if not created:
                continue
            notified = 0
            for user in selectors.users_at_escalation_level(event, level):
                title = _("Overdue case %(case)s escalated to you") % {"case": event.case_number}
                body = _("%(category)s, %(status)s, due %(deadline)s") % {
                    "category": event.category.display_name(), "status": event.get_status_display(),
                    "deadline": timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M")}
                if notification_send(recipient=user, title=title, body=body, source=f"escalation:{event.pk}:{level}"):
                    notified += 1
            EventEscalation.objects.filter(event=event, level=level).update(notified=notified)
            done += 1
            event.escalation_level = level
            event.was_overdue = True
            event.version += 1
            event.save(update_fields=["escalation_level", "was_overdue", "version"])
            _history(event, actor=None, action="escalate", from_status=event.status,
                     data={"level": level, "notified": notified}, at=now)
            _record(event, "event.escalated")
        return done
