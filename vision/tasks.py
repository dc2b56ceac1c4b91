"""Celery entry points of the cameras (routed to the ``vision`` queue): take ids, call services.

``cameras_snapshot_task`` acknowledges late and is redelivered if its worker dies.  Its batch is recorded in
one transaction, so a worker killed mid-batch leaves none of it behind; any camera whose (camera, slot) row
exists all the same (recorded one by one after a failed batch) is skipped.  A killed worker loses no snapshot
and doubles none.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import translation

from vision.inference import detect_chunk
from vision.models import Camera
from vision.sampling import camera_failure, cameras_claim_due, cameras_release
from vision.services import Picture, pictures_detect, snapshots_record, snapshots_recorded
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


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=80)
def cameras_snapshot_task(batch: list[list]) -> int:
    """Take, detect and record one snapshot per [camera id, slot (ISO)]; returns how many were recorded.

    A pipeline: the cameras are asked at once (a batch waits for its slowest camera, not for the sum of them),
    each ``detect_chunk()`` pictures are detected as soon as they are decoded while the rest still decode, and
    the batch is recorded in one transaction.  Cameras whose picture of the slot is recorded already (a
    redelivered batch) are not asked again.
    """
    cameras = Camera.objects.prefetch_related("rules").in_bulk([pk for pk, _slot in batch])
    wanted = [(cameras[pk], datetime.fromisoformat(slot)) for pk, slot in batch if pk in cameras]
    try:
        recorded = snapshots_recorded((camera.pk, at) for camera, at in wanted)
        wanted = [(camera, at) for camera, at in wanted if (camera.pk, at) not in recorded]
        fetch = functools.partial(_fetch, language=translation.get_language())
        seen, chunk, size = [], [], detect_chunk()
        for (camera, at), frame in zip(wanted, _fetcher().map(fetch, wanted), strict=True):
            if isinstance(frame, SnapshotError):
                camera_failure(camera.pk, frame.reason, at)
                continue
            chunk.append(Picture(camera=camera, taken_at=at, image=frame))
            if len(chunk) >= size:
                seen += pictures_detect(chunk)
                chunk = []
        seen += pictures_detect(chunk)
        outcomes = snapshots_record(seen)
    finally:
        cameras_release(cameras)
    return sum(not (outcome.replayed or outcome.failed) for outcome in outcomes)


@functools.cache
def _fetcher() -> ThreadPoolExecutor:
    """The worker process's fetching threads (made on first use: after the prefork, never before it)."""
    return ThreadPoolExecutor(max_workers=max(1, settings.VISION_FETCH_THREADS), thread_name_prefix="snapshot-fetch")


def _fetch(wanted: tuple[Camera, datetime], language: str | None):
    try:
        with translation.override(language):  # a camera's error reads in the caller's language
            return snapshot_fetch(*wanted)
    except SnapshotError as error:
        return error
