"""Reads of the cameras: which a viewer may see, and their people-flow series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from core.restriction import restricted
from gridapp.geography.selectors import records_visible_to
from vision.models import Camera, CameraRule, FlowSample
from vision.rules import Algorithm


def cameras_visible_to(user, cameras: QuerySet[Camera] | None = None) -> QuerySet[Camera]:
    """The cameras (of ``cameras``, default all) whose catalogue entry the user may see: the command centre
    all, department staff those in their department's area, a grid worker those in their grids, others none.
    Marked ``restricted`` to the user, so the API does not filter it again."""
    cameras = Camera.objects.all() if cameras is None else cameras
    return restricted(cameras.filter(record_id__in=records_visible_to(user).values("pk")), user)


MAX_FLOW_HOURS = 7 * 24


@dataclass(frozen=True)
class FlowSeries:
    points: list[tuple[datetime, int]]  # (interval start, people), oldest first
    threshold: int | None  # the rule's alert threshold


def camera_flow(camera: Camera | None, *, hours: int) -> FlowSeries:
    """The people counted by ``camera``'s (first) people-flow rule over the last ``hours``; empty for no camera
    or a camera without such a rule.  Raises ``ValueError`` for hours outside 1 to ``MAX_FLOW_HOURS``."""
    if not 1 <= hours <= MAX_FLOW_HOURS:
        raise ValueError(f"hours must be 1 to {MAX_FLOW_HOURS}")
    rule = (CameraRule.objects.filter(camera=camera, algorithm=Algorithm.PEOPLE_FLOW).order_by("id").first()
            if camera is not None else None)
    if rule is None:
        return FlowSeries(points=[], threshold=None)
    since = timezone.now() - timedelta(hours=hours)
    points = list(FlowSample.objects.filter(rule=rule, interval_start__gte=since).order_by("interval_start")
                  .values_list("interval_start", "count"))
    return FlowSeries(points=points, threshold=(rule.params or {}).get("threshold"))
