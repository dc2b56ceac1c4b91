"""The demo's cameras: real footage, sampled by beat through the vision task like any camera."""

from __future__ import annotations

import pytest

from gridapp.geography.models import BaseRecord, RecordKind
from vision.demo import demo_cameras_create
from vision.models import Camera, Snapshot, SourceKind
from vision.registry import algorithm_readiness
from vision.sampling import cameras_claim_due
from vision.tasks import cameras_sample_task, cameras_snapshot_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(district):
    for n in range(4):
        BaseRecord.objects.create(external_id=f"CAM-D-{n}", kind=RecordKind.CAMERA, name=f"Demo camera {n}",
                                  lng=120.31 + n / 1000, lat=36.01, grid=district.grid)


def test_demo_cameras_replay_real_footage_and_are_created_once(catalogue):
    assert demo_cameras_create() == 3
    assert demo_cameras_create() == 3
    kinds = sorted(Camera.objects.values_list("source_kind", flat=True))
    assert kinds == [SourceKind.FILE, SourceKind.FILE, SourceKind.VIDEO]
    assert all(camera.rules.exists() for camera in Camera.objects.all())


def test_which_demo_algorithms_the_installed_models_can_run(catalogue, detectors):
    demo_cameras_create()
    video = Camera.objects.get(source_kind=SourceKind.VIDEO)
    readiness = {r.algorithm: r for r in algorithm_readiness(rule.algorithm for rule in video.rules.all())}
    assert readiness["crowd"].ready and readiness["crowd"].models == ("person v1",)
    assert readiness["illegal_parking"].ready and readiness["illegal_parking"].models == ("vehicle v1",)
    assert readiness["people_flow"].ready


def test_beat_queues_due_demo_cameras_and_the_task_records_them(catalogue, detectors, event_categories, monkeypatch):
    demo_cameras_create()
    sent = []
    monkeypatch.setattr(cameras_snapshot_task, "delay", sent.append)
    assert cameras_sample_task() == 3
    assert cameras_claim_due() == []  # all queued
    [batch] = sent  # VISION_BATCH_SIZE 8: one batch
    assert cameras_snapshot_task(batch) == 3
    assert Snapshot.objects.count() == 3
    assert all(camera.queued_at is None and camera.last_snapshot_at for camera in Camera.objects.all())
    assert cameras_snapshot_task(batch) == 0  # redelivered: nothing twice
    assert Snapshot.objects.count() == 3
