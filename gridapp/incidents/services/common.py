"""What intake, transitions and escalation share: stage deadlines, photos and their files, the history row and
the change-feed row of an event, text limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audiences import scope
from core.feed import change_record
from core.files import IngestedFile, file_discard, file_ingest, file_store
from gridapp.incidents.models import Event, EventCategory, EventHistory, EventPhoto, EventStatus
from gridapp.incidents.photos import EVENT_PHOTO, distance_m

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


def stage_hours(category: EventCategory, status: str) -> int | None:
    field = STAGE_HOURS_FIELD.get(status)
    return getattr(category, field) if field else None


def stage_deadline(category: EventCategory, status: str, start: datetime) -> datetime | None:
    hours = stage_hours(category, status)
    return start + timedelta(hours=hours) if hours else None


def photos_prepare(photos: Sequence, *, lng: float, lat: float) -> list[IngestedFile]:
    """Decode, check and re-encode every photo as an event photo (``core.files``) before any row is written (no
    lock is held meanwhile)."""
    if len(photos) > settings.EVENT_MAX_PHOTOS:
        raise ValidationError({"photos": ValidationError(
            _("At most %(count)d photos per report.") % {"count": settings.EVENT_MAX_PHOTOS}, code="too_many_photos")})
    ingested = []
    for index, upload in enumerate(photos):
        try:
            ingested_photo = file_ingest(kind=EVENT_PHOTO, upload=upload)
        except ValidationError as exc:
            raise ValidationError({"photos": ValidationError(
                _("Photo %(n)d: %(reason)s") % {"n": index + 1, "reason": " ".join(exc.messages)}, code=exc.code)}
            ) from None
        photo = ingested_photo.details
        if photo.gps is not None:
            away = distance_m(photo.gps[0], photo.gps[1], lng, lat)
            if away > settings.PHOTO_GPS_TOLERANCE_M:
                raise ValidationError({"photos": ValidationError(
                    _("Photo %(n)d was taken %(km).1f km from the reported place. Take it on the spot.")
                    % {"n": index + 1, "km": away / 1000}, code="photo_location_mismatch")})
        ingested.append(ingested_photo)
    return ingested


def photos_store(ingested: Iterable[IngestedFile], *, event: Event, stage: str, user,
                  history: EventHistory | None, written: list[str]) -> None:
    """Write the files through the storage API (recording their names in ``written`` for cleanup) and the
    photo rows."""
    rows = []
    for ingested_photo in ingested:
        names = file_store(ingested=ingested_photo)
        written.extend(names.values())
        photo = ingested_photo.details
        rows.append(EventPhoto(
            event=event, history=history, stage=stage, uploaded_by=user, image=names["file"],
            thumbnail=names["thumbnail"],
            width=photo.width, height=photo.height, sha256=photo.sha256, original_format=photo.original_format,
            original_bytes=photo.original_bytes, exif_lng=photo.gps[0] if photo.gps else None,
            exif_lat=photo.gps[1] if photo.gps else None,
            taken_at=timezone.make_aware(photo.taken_at) if photo.taken_at and timezone.is_naive(photo.taken_at)
            else photo.taken_at,
        ))
    EventPhoto.objects.bulk_create(rows)


def files_discard(names: list[str]) -> None:
    file_discard(kind=EVENT_PHOTO, names=names)


def event_change_fields(event: Event) -> dict:
    """Whom an event's change reaches and what it says it produced: ``change_record``'s arguments."""
    members = (("grid", event.grid_id), ("department", event.department_id), ("user", event.reporter_id))
    return {"to": [scope(name, pk) for name, pk in members if pk is not None],
            "facts": {"status": event.status, "version": event.version}}


def event_change_record(event: Event, kind: str) -> None:
    change_record(kind=kind, obj=event, **event_change_fields(event))


def event_history_write(event: Event, *, actor, action: str, from_status: str, note: str = "", data: dict | None = None,
             at: datetime | None = None) -> EventHistory:
    return EventHistory.objects.create(
        event=event, at=at or timezone.now(), actor=actor, actor_label=actor_label(actor), action=action,
        from_status=from_status, to_status=event.status, note=note, data=data or {},
    )


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    return f"{actor.display_name or actor.username} ({actor.username})"


def text_clean(value: str, *, field: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError({field: ValidationError(
            _("At most %(limit)d characters.") % {"limit": limit}, code="too_long")})
    return value
