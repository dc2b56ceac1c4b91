"""Acceptance: killing a vision worker mid-batch (SIGKILL, as a crash or the OOM killer would) loses no
snapshot's result and doubles none.  The batch is recorded in one transaction, so the kill leaves nothing of it
behind; the task acknowledges late, so the broker hands it to the next worker, which records the whole batch
(and would skip any camera already recorded).

Services mode only: Redis keeps a taken task until it is acknowledged; the embedded filesystem broker deletes a
message when a worker takes it, so there a crashed batch is lost and its cameras are simply sampled again at
their next slot.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import DatabaseError, transaction

from gridapp.geography.models import BaseRecord, RecordKind
from gridapp.incidents.models import Event, EventSource
from tests.vision.test_simulated_camera import VTEST
from vision.models import Camera, CameraRule, Situation, Snapshot, SourceKind
from vision.rules import Algorithm
from vision.tasks import cameras_snapshot_task

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not settings.REDIS_URL, reason="only a Redis broker redelivers a dead worker's task")]

CAMERAS = 16
SLOT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def vision_worker(tmp_path, monkeypatch):
    from tests.stack import Stack

    # A dead worker's task comes back after 3 s unacknowledged; idle workers look every second.
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "3")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_INTERVAL", "1")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_THROTTLE", "1")
    stack = Stack(tmp_path)
    yield stack
    stack.stop()
    print(f"--- worker log ---\n{stack.worker.log()}")


def _wait(condition, timeout: float, what: str, poll: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()) is not None:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def _cameras_locked():
    try:
        with transaction.atomic():
            list(Camera.objects.select_for_update(nowait=True).values_list("pk", flat=True))
    except DatabaseError:  # PostgreSQL: lock not available
        return True
    return None


def test_killing_a_vision_worker_mid_batch_loses_no_snapshot_and_duplicates_none(
        vision_worker, detectors, event_categories, district):
    for n in range(CAMERAS):
        record = BaseRecord.objects.create(external_id=f"CAM-K-{n:02}", kind=RecordKind.CAMERA, name=f"Cam {n}",
                                           lng=120.301 + n / 500, lat=36.01, grid=district.grid)
        camera = Camera.objects.create(record=record, source_kind=SourceKind.VIDEO, source=str(VTEST))
        # Every snapshot starts a crowd at once: each recorded camera opens exactly one incident.
        CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD,
                                  params={"min_people": 2, "min_hits": 1, "min_seconds": 0})
    batch = [[camera.pk, SLOT.isoformat()] for camera in Camera.objects.all()]

    vision_worker.worker.start()
    cameras_snapshot_task.delay(batch)
    # Mid-batch: the worker has detected and is recording, holding the cameras' rows, when it dies.
    _wait(_cameras_locked, 120, "the worker recording the batch", poll=0.01)
    vision_worker.worker.kill()
    assert Snapshot.objects.count() == 0 and Situation.objects.count() == 0  # nothing half-written

    vision_worker.worker.start()  # a fresh worker: the broker gives it the unacknowledged batch
    _wait(lambda: True if Snapshot.objects.count() == CAMERAS else None, 120, "all snapshots", poll=0.2)
    time.sleep(1)  # nothing more arrives
    assert Snapshot.objects.count() == CAMERAS
    assert Snapshot.objects.values("camera", "taken_at").distinct().count() == CAMERAS
    assert Situation.objects.count() == CAMERAS
    events = Event.objects.filter(source=EventSource.CAMERA)
    assert events.count() == CAMERAS
    assert sorted(Situation.objects.values_list("camera__record__external_id", flat=True)) == [
        f"CAM-K-{n:02}" for n in range(CAMERAS)]
