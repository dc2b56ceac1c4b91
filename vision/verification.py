"""The cameras' say on an incident they opened: its resolution is verified only once the camera has shown the
place clear for ``VISION_VERIFY_CLEAR_SECONDS`` after it (the system verifies it then by itself), and the
problem coming back reopens the incident rather than opening another."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridapp.incidents.models import Event, EventStatus
from vision.models import Situation


def camera_site_check(event: Event, now: datetime) -> str | None:
    """Registered with ``gridapp.incidents.verification``: why the camera does not confirm ``event``'s resolution yet."""
    situation = (Situation.objects.filter(event=event).select_related("camera__record")
                 .order_by("-started_at").first())
    if situation is None:
        return None  # no camera watches this incident
    camera = situation.camera.record.name
    if situation.ended_at is None:
        return _("Camera %(camera)s still sees the problem.") % {"camera": camera}
    since = max(situation.ended_at, event.resolved_at or situation.ended_at)
    seen_until = situation.camera.last_snapshot_at
    if seen_until is None or seen_until - since < timedelta(seconds=settings.VISION_VERIFY_CLEAR_SECONDS):
        minutes = max(1, round(settings.VISION_VERIFY_CLEAR_SECONDS / 60))
        return ngettext("Camera %(camera)s has not yet shown the place clear for %(minutes)d minute since the "
                        "resolution.",
                        "Camera %(camera)s has not yet shown the place clear for %(minutes)d minutes since the "
                        "resolution.", minutes) % {"camera": camera, "minutes": minutes}
    return None


def camera_resolutions_confirmed(seen: dict[int, datetime]) -> dict[int, list[int]]:
    """Verify, as the system, the resolved incidents of the cameras in ``seen`` (camera id -> the moment of its
    latest picture) whose place the camera has now shown clear long enough; returns their ids per camera.  One
    query when there are none.  Who may call: the snapshot service, inside its transaction, after saving the
    cameras."""
    from gridapp.incidents.services import event_transition

    verified: dict[int, list[int]] = {}
    resolved = (Situation.objects.filter(camera_id__in=seen, event__status=EventStatus.RESOLVED,
                                         ended_at__isnull=False)
                .values_list("camera_id", "event_id").distinct().order_by("event_id"))
    done: set[int] = set()
    for camera_id, event_id in resolved:
        if event_id in done:  # an incident two of the cameras watch
            continue
        event = Event.objects.get(pk=event_id)
        now = seen[camera_id]
        if camera_site_check(event, now) is None:
            event_transition(actor=None, event_id=event_id, action="verify", now=now,
                             note=_("The camera has shown the place clear since the resolution."))
            verified.setdefault(camera_id, []).append(event_id)
            done.add(event_id)
    return verified


def recurrence_target(situations, at: datetime) -> Event | None:
    """The incident a new situation of a rule belongs to, if the rule's last one is still being handled or came
    back soon after it was closed (``VISION_RECURRENCE_HOURS``); None: report a new incident."""
    last = situations.exclude(event=None).select_related("event").order_by("-started_at").first()
    if last is None:
        return None
    event = last.event
    if event.status in {EventStatus.REJECTED, EventStatus.VOID, EventStatus.DUPLICATE}:
        return None
    if event.status == EventStatus.CLOSED:
        closed = event.closed_at or event.updated_at
        return event if at - closed <= timedelta(hours=settings.VISION_RECURRENCE_HOURS) else None
    return event
