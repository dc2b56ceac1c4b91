"""A year of incidents for the demo and the benchmarks: 400,000 at full scale, mostly from the cameras' AI.

Written in bulk (no service calls: those are what the benchmarks measure), but
every row is one the services could have written: a case number, the grid,
community, street and department of its location and category, timestamps in
lifecycle order, a deadline for the open ones, one report photo and one
history row.  Deterministic for a given seed.
"""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from gridapp.geography.models import Grid
from gridapp.incidents.models import (
    CaseCounter,
    Event,
    EventCategory,
    EventHistory,
    EventPhoto,
    EventSource,
    EventStatus,
    PhotoStage,
)

FULL_SCALE_EVENTS = 400_000
S = EventStatus
#: Status of a generated case by its age: most older cases are closed, the newest are still being worked.
OPEN_MIX = [(S.REPORTED, 0.2), (S.ACCEPTED, 0.15), (S.DISPATCHED, 0.2), (S.IN_PROGRESS, 0.2), (S.RESOLVED, 0.15),
            (S.VERIFIED, 0.1)]
DEMO_PHOTOS = 8


def _demo_photo_names() -> list[tuple[str, str]]:
    """A few real JPEGs (and thumbnails) shared by the generated events, written once."""
    from PIL import Image, ImageDraw

    names = []
    for index in range(DEMO_PHOTOS):
        stem = f"events/demo/{index}"
        if not default_storage.exists(f"{stem}.jpg"):
            image = Image.new("RGB", (960, 720), (60 + 20 * index, 110, 160 - 10 * index))
            ImageDraw.Draw(image).rectangle((200, 240, 760, 560), outline=(250, 250, 250), width=8)
            for side, name in ((960, f"{stem}.jpg"), (320, f"{stem}-thumb.jpg")):
                buffer = io.BytesIO()
                image.resize((side, side * 3 // 4)).save(buffer, "JPEG", quality=80)
                default_storage.save(name, ContentFile(buffer.getvalue()))
        names.append((f"{stem}.jpg", f"{stem}-thumb.jpg"))
    return names


def demo_events_create(*, count: int, seed: int = 23, progress=None, batch: int = 5_000,
                       workers: dict[int, int] | None = None, staff: dict[int, int] | None = None) -> int:
    """Create ``count`` generated events over the past year; returns how many were created.

    ``workers`` maps a grid id to a grid worker's id: that worker is the
    reporter of the grid's worker reports and the assignee of its open cases
    in the handling stages, so the demo accounts have a realistic task list.
    Elsewhere the assignee is the department's member in ``staff``
    (department id to user id).
    """
    rng = np.random.default_rng(seed)
    grids = list(Grid.objects.current().values_list("id", "community_id", "community__street_id",
                                                     "centroid_lng", "centroid_lat"))
    categories = list(EventCategory.objects.filter(active=True).values_list(
        "id", "department_id", "severity", "accept_hours", "dispatch_hours", "handle_hours", "verify_hours"))
    if not grids or not categories:
        return 0
    workers, staff = workers or {}, staff or {}
    photos = _demo_photo_names()
    now = timezone.now()
    year = now.year
    with transaction.atomic():
        counter, _created = CaseCounter.objects.select_for_update().get_or_create(year=year)
        number = counter.last
        made = 0
        while made < count:
            size = min(batch, count - made)
            # Seconds ago: a tenth within the last three days (the work in hand), the rest fading over the year.
            ages = np.where(rng.random(size) < 0.1, rng.uniform(0, 3, size), rng.exponential(120.0, size).clip(3, 364))
            ages = ages * 86400
            grid_pick = rng.integers(0, len(grids), size)
            category_pick = rng.integers(0, len(categories), size)
            camera = rng.random(size) < 0.8
            jitter = rng.normal(0, 0.0015, (size, 2))
            handle_hours = rng.lognormal(2.0, 0.9, size)  # median ~7 h
            overdue = rng.random(size) < 0.08
            open_pick = rng.random(size)
            events = []
            for i in range(size):
                grid_id, community_id, street_id, lng, lat = grids[grid_pick[i]]
                category_id, department_id, severity, *hours = categories[category_pick[i]]
                reported = now - timedelta(seconds=float(ages[i]))
                number += 1
                event = Event(
                    case_number=f"{year}{number:07d}", category_id=category_id, severity=severity,
                    source=EventSource.CAMERA if camera[i] else EventSource.GRID_WORKER,
                    lng=float(lng + jitter[i, 0]), lat=float(lat + jitter[i, 1]), grid_id=grid_id,
                    community_id=community_id, street_id=street_id, department_id=department_id,
                    reporter_id=None if camera[i] else workers.get(grid_id), reported_at=reported,
                    updated_at=reported, was_overdue=bool(overdue[i]),
                    escalation_level=1 if overdue[i] else 0,
                )
                _age_into_status(event, hours, float(ages[i]) / 3600, float(handle_hours[i]), float(open_pick[i]),
                                 now, workers.get(grid_id) or staff.get(department_id))
                events.append(event)
            for event in events:  # bulk_create skips save()
                event.derive_resolution_seconds()
            Event.objects.bulk_create(events, batch_size=batch)
            EventHistory.objects.bulk_create(
                [EventHistory(event=e, at=e.reported_at, actor_label="system" if e.reporter_id is None else "demo",
                              actor_id=e.reporter_id, action="report", from_status="", to_status=S.REPORTED,
                              data={"source": e.source, "generated": True}) for e in events], batch_size=batch)
            EventPhoto.objects.bulk_create(
                [EventPhoto(event=e, stage=PhotoStage.EVIDENCE if e.source == EventSource.CAMERA else PhotoStage.REPORT,
                            image=photos[e.pk % DEMO_PHOTOS][0], thumbnail=photos[e.pk % DEMO_PHOTOS][1], width=960,
                            height=720, sha256="0" * 64, original_format="JPEG", original_bytes=0, created_at=e.reported_at)
                 for e in events], batch_size=batch)
            made += size
            if progress:
                progress(size)
        CaseCounter.objects.filter(year=year).update(last=number)
    return made


def _age_into_status(event: Event, hours: list[int], age_hours: float, handle_hours: float, pick: float, now,
                     worker_id: int | None) -> None:
    """Old cases are closed; a case younger than its whole lifecycle is still somewhere along it."""
    accept, dispatch, handle, verify = hours
    reported = event.reported_at
    if age_hours > accept + dispatch + handle + verify + 48:
        event.status = S.CLOSED
        event.accepted_at = reported + timedelta(hours=min(accept, 0.5))
        event.dispatched_at = event.accepted_at + timedelta(hours=min(dispatch, 0.5))
        event.resolved_at = reported + timedelta(hours=handle_hours)
        event.closed_at = event.resolved_at + timedelta(hours=2)
        event.updated_at = event.closed_at
        return
    cumulative = 0.0
    for status, share in OPEN_MIX:
        cumulative += share
        if pick <= cumulative:
            event.status = status
            break
    else:
        event.status = S.VERIFIED
    stage_hours = {S.REPORTED: accept, S.ACCEPTED: dispatch, S.DISPATCHED: handle, S.IN_PROGRESS: handle,
                   S.RESOLVED: verify, S.VERIFIED: verify}[event.status]
    order = [S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.VERIFIED]
    reached = order.index(event.status)
    if reached >= 1:
        event.accepted_at = reported + timedelta(minutes=20)
    if reached >= 2:
        event.dispatched_at = reported + timedelta(minutes=40)
        event.assignee_id = worker_id
    if reached >= 4:
        event.resolved_at = min(now, reported + timedelta(hours=min(handle_hours, age_hours)))
        event.resolved_by_id = worker_id
    stage_start = event.resolved_at or event.dispatched_at or event.accepted_at or reported
    event.deadline = stage_start + timedelta(hours=stage_hours)
    event.updated_at = stage_start
