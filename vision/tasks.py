"""Celery entry points of the cameras (routed to the ``vision`` queue): take ids, call services.

``cameras_snapshot_task`` acknowledges late and is redelivered if its worker dies: the cameras it had
recorded are skipped (their (camera, slot) rows exist), the rest are processed, so a killed worker loses no
snapshot and doubles none.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from vision.models import Camera
from vision.sampling import camera_failure, cameras_claim_due, cameras_release
from vision.services import Picture, snapshots_process
from vision.sources import SnapshotError, snapshot_fetch

log = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=20, time_limit=40)
def cameras_sample_task() -> int:
    """Beat, every VISION_SAMPLE_CHECK_SECONDS: queue the cameras due, in batches; returns how many."""
    due = cameras_claim_due()
    size = max(1, settings.VISION_BATCH_SIZE)
    for start in range(0, len(due), size):
        batch = [[camera_id, slot.isoformat()] for camera_id, slot in due[start:start + size]]
        cameras_snapshot_task.delay(batch)
    return len(due)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=180)
def cameras_snapshot_task(batch: list[list]) -> int:
    """Take, detect and record one snapshot per [camera id, slot (ISO)]; returns how many were recorded."""
    cameras = Camera.objects.select_related("record").prefetch_related("rules").in_bulk([pk for pk, _slot in batch])
    pictures = []
    try:
        for camera_id, slot in batch:
            camera = cameras.get(camera_id)
            if camera is None:
                continue
            at = datetime.fromisoformat(slot)
            try:
                pictures.append(Picture(camera=camera, taken_at=at, image=snapshot_fetch(camera, at)))
            except SnapshotError as error:
                camera_failure(camera.pk, error.reason, at)
        outcomes = snapshots_process(pictures)
    finally:
        cameras_release(cameras)
    return sum(not outcome.replayed for outcome in outcomes)
