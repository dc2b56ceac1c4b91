"""When each camera is sampled, and what happens when it does not answer.

Each camera has a phase inside its interval (derived from its id), so 17,000 cameras with a 60-second interval
arrive as about 283 a second, not all at the top of the minute.  A camera's slot is the latest moment
``phase + k * interval`` not in the future; it is due when it has no snapshot of that slot yet and no snapshot
task still queued (backpressure: a slow vision queue delays cameras, it never piles up tasks).  The slot is the
snapshot's time: a redelivered task records the same moment, which the unique (camera, time) row turns into a
no-op.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from gridapp.incidents.models import EventSource
from gridapp.incidents.services import event_report
from vision.models import Camera, CameraStatus

log = logging.getLogger(__name__)

#: An offline camera is tried again this many intervals apart (it comes back online on its first picture).
OFFLINE_RETRY_INTERVALS = 10
#: A queued mark older than this many intervals (and 10 minutes) is taken for a lost task.
STALE_QUEUE_INTERVALS = 3
MAINTENANCE_CATEGORY = "06-07"  # surveillance camera out of order


def camera_slot(camera_id: int, interval_seconds: int, now: datetime) -> datetime:
    """The camera's latest sampling moment at or before ``now``."""
    interval = max(1, interval_seconds)
    phase = (camera_id * 7919) % interval
    moment = int(now.timestamp())
    return datetime.fromtimestamp(moment - (moment - phase) % interval, tz=UTC)


def cameras_claim_due(now: datetime | None = None, limit: int = 5000) -> list[tuple[int, datetime]]:
    """The cameras due now with their slots, marked queued in the same transaction that locks them (two beats
    never claim one camera twice).  Who may call: the beat task."""
    now = now or timezone.now()
    rows = Camera.objects.filter(enabled=True).filter(_not_queued(now)).values_list(
        "pk", "interval_seconds", "last_attempt_at", "status", "queued_at")
    due = {}
    for pk, interval, last, status, queued_at in rows.iterator(chunk_size=2000):
        if queued_at is not None and queued_at >= now - timedelta(seconds=STALE_QUEUE_INTERVALS * interval):
            continue  # queued lately: its task is on its way
        every = interval * (OFFLINE_RETRY_INTERVALS if status == CameraStatus.OFFLINE else 1)
        slot = camera_slot(pk, every, now)
        if last is None or last < slot:
            due[pk] = slot
            if len(due) >= limit:
                break
    with transaction.atomic():
        claimed = list(Camera.objects.select_for_update(skip_locked=True).filter(_not_queued(now), pk__in=due)
                       .values_list("pk", flat=True))
        Camera.objects.filter(pk__in=claimed).update(queued_at=now)
    return [(pk, due[pk]) for pk in sorted(claimed)]


def _not_queued(now: datetime) -> Q:
    """Not waiting for a snapshot task, or waiting so long (10 minutes and more) that the task must be lost."""
    return Q(queued_at__isnull=True) | Q(queued_at__lt=now - timedelta(minutes=10))


def cameras_release(camera_ids) -> None:
    Camera.objects.filter(pk__in=list(camera_ids)).update(queued_at=None)


def camera_failure(camera_id: int, reason: str, at: datetime | None = None) -> bool:
    """Count a failed snapshot; the ``VISION_OFFLINE_AFTER``-th failure in a row marks the camera offline and
    raises a maintenance task (an incident of category 06-07 at the camera's place, once per outage).
    Returns whether this call took the camera offline."""
    at = at or timezone.now()
    with transaction.atomic():
        Camera.objects.filter(pk=camera_id).update(failures=F("failures") + 1, last_error=reason[:300],
                                                   last_attempt_at=Greatest(Coalesce("last_attempt_at", at), at))
        camera = Camera.objects.select_for_update().select_related("record").get(pk=camera_id)
        if camera.status == CameraStatus.OFFLINE or camera.failures < settings.VISION_OFFLINE_AFTER:
            return False
        camera.status = CameraStatus.OFFLINE
        camera.save(update_fields=["status"])
        record = camera.record
        try:
            event_report(
                reporter=None, source=EventSource.CAMERA, category_code=MAINTENANCE_CATEGORY, lng=record.lng,
                lat=record.lat, address=record.address,
                description=_("Camera %(camera)s (%(code)s) is offline after %(count)d failed snapshots: "
                              "%(reason)s") % {"camera": record.name, "code": record.external_id,
                                               "count": camera.failures, "reason": reason},
                source_key=f"vision:offline:{camera.pk}:{at:%Y%m%d%H%M%S}", at=at)
        except ValidationError as error:
            log.warning("camera %s is offline; the maintenance task was refused: %s", camera.pk, error)
        return True
