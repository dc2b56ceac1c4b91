"""Acceptance: the real person model on bus.jpg; the crowd rule opens one incident with evidence, and ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from gridapp.incidents.models import Event, EventSource, PhotoStage
from tests.vision.conftest import BUS
from vision.detections import ObjectClass
from vision.detector import detector_for
from vision.models import Camera, CameraRule, Situation, Snapshot, SourceKind
from vision.rules import Algorithm
from vision.services import Picture, snapshots_process
from vision.sources import snapshot_fetch

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_the_person_model_finds_the_four_people_on_bus_jpg(detectors):
    [found] = detector_for(detectors["person"]).detect([Image.open(BUS).convert("RGB")])
    people = [d for d in found if d.label == ObjectClass.PERSON]
    assert len(people) == 4
    assert all(0 <= v <= 1 for d in people for v in d.box)
    assert all(d.confidence >= 0.4 for d in people)


@pytest.fixture
def crowd_camera(camera_record):
    camera = Camera.objects.create(record=camera_record, source_kind=SourceKind.FILE, source=str(BUS),
                                   interval_seconds=10)
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD,
                              params={"min_people": 3, "min_hits": 3, "min_seconds": 20, "clear_seconds": 20})
    return camera


def _snapshot(camera: Camera, at: datetime):
    camera.refresh_from_db()
    [outcome] = snapshots_process([Picture(camera=camera, taken_at=at, image=snapshot_fetch(camera, at))])
    return outcome


def test_a_crowd_over_three_snapshots_opens_exactly_one_incident_with_evidence_and_ends_when_people_leave(
        detectors, event_categories, crowd_camera, empty_street):
    first, second, third = (_snapshot(crowd_camera, T0 + timedelta(seconds=10 * i)) for i in range(3))
    assert [len(o.started) for o in (first, second, third)] == [0, 0, 1]
    assert sum(d.label == ObjectClass.PERSON for d in third.detections) == 4

    [event] = Event.objects.filter(source=EventSource.CAMERA)
    assert event.category.code == "05-08"
    assert event.grid_id == crowd_camera.record.grid_id
    assert event.case_number and event.source_key == f"vision:situation:{third.started[0].pk}"
    [photo] = event.photos.all()
    assert photo.stage == PhotoStage.EVIDENCE
    with default_storage.open(photo.image) as stored, Image.open(stored) as evidence, Image.open(BUS) as original:
        assert evidence.size == original.size  # the whole scene, annotated
        assert not evidence.getexif()  # re-encoded without EXIF
        # red boxes were drawn: many more strongly red pixels than the original has
        def red(image):
            return sum(1 for r, g, b in image.convert("RGB").get_flattened_data() if r > 200 and g < 60 and b < 60)
        assert red(evidence) > red(original) + 1000

    # The situation goes on: more snapshots update it, no new incident; a replayed snapshot changes nothing.
    fourth = _snapshot(crowd_camera, T0 + timedelta(seconds=30))
    assert not fourth.started and _snapshot(crowd_camera, T0 + timedelta(seconds=20)).replayed
    situation = Situation.objects.get()
    assert situation.ended_at is None and situation.snapshots == 2 and situation.peak == 4
    assert situation.event_id == event.pk

    # People gone: the situation ends once, after clear_seconds on two snapshots.
    Camera.objects.filter(pk=crowd_camera.pk).update(source=str(empty_street))
    ends = [_snapshot(crowd_camera, T0 + timedelta(seconds=40 + 10 * i)).ended for i in range(4)]
    assert [len(e) for e in ends] == [0, 0, 1, 0]
    situation.refresh_from_db()
    assert situation.ended_at == T0 + timedelta(seconds=60)
    assert Event.objects.filter(source=EventSource.CAMERA).count() == 1
    assert Snapshot.objects.filter(camera=crowd_camera).count() == 8


def test_a_camera_situation_near_an_open_human_report_joins_it_as_a_duplicate(
        users, detectors, event_categories, crowd_camera):
    from gridapp.incidents.models import EventStatus
    from gridapp.incidents.services import event_report
    from tests.factories import jpeg_bytes

    record = crowd_camera.record
    human = event_report(reporter=users["worker"], category_code="05-08", lng=record.lng + 0.0002, lat=record.lat,
                         photos=[jpeg_bytes()]).event  # about 18 m away
    CameraRule.objects.filter(camera=crowd_camera).update(params={"min_people": 3, "min_hits": 1, "min_seconds": 0})
    [situation] = _snapshot(crowd_camera, T0).started
    camera_report = situation.event
    assert camera_report.status == EventStatus.DUPLICATE and camera_report.duplicate_of_id == human.pk
    assert camera_report.photos.get().stage == PhotoStage.EVIDENCE  # the evidence joins the human's case
    human.refresh_from_db()
    assert human.duplicate_count == 1
