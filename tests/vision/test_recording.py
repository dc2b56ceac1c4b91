"""Recording a batch: one transaction of a few statements for the whole batch, and a bad picture costing only
itself (the rest recorded, no evidence file left behind by the attempt that failed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from gridapp.geography.models import BaseRecord, RecordKind
from gridapp.incidents.models import Event, EventSource
from tests.vision.conftest import BUS
from vision import services
from vision.detections import Detection
from vision.models import Camera, CameraRule, Situation, Snapshot, SourceKind
from vision.rules import Algorithm
from vision.services import Picture, Seen, snapshots_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PEOPLE = [Detection("person", 0.9, (0.1 * n, 0.3, 0.1 * n + 0.08, 0.9)) for n in range(4)]


@pytest.fixture
def cameras(district, event_categories):
    made = []
    for n in range(6):
        record = BaseRecord.objects.create(external_id=f"CAM-R-{n}", kind=RecordKind.CAMERA, name=f"Cam {n}",
                                           lng=120.30 + n / 1000, lat=36.0, grid=district.grid)
        camera = Camera.objects.create(record=record, source_kind=SourceKind.FILE, source=str(BUS))
        CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD,
                                  params={"min_people": 3, "min_hits": 1, "min_seconds": 0})
        made.append(camera)
    return made


@pytest.fixture
def bus():
    with Image.open(BUS) as image:
        return image.convert("RGB")


def _batch(cameras, bus, at=AT):
    return [Seen(Picture(camera, at, bus), PEOPLE, "person v1 (pt)") for camera in cameras]


def test_a_batch_of_quiet_pictures_costs_the_same_few_statements_whatever_its_size(cameras, bus):
    def statements(batch) -> int:
        with CaptureQueriesContext(connection) as queries:
            outcomes = snapshots_record(batch)
        assert not any(o.replayed or o.failed for o in outcomes)
        return len(queries)

    def quiet(some, at):  # nobody there: the rules run, nothing starts
        return [Seen(Picture(camera, at, bus), [], "") for camera in some]

    assert statements(quiet(cameras[:2], AT)) == statements(quiet(cameras, AT.replace(minute=1)))
    assert Snapshot.objects.count() == 2 + 6


def test_a_bad_picture_costs_only_itself(cameras, bus, monkeypatch):
    bad = cameras[2]
    render = services._evidence

    def evidence(camera, rule, verdict, image, at):
        if camera.pk == bad.pk:
            raise OSError("disk full")
        return render(camera, rule, verdict, image, at)

    monkeypatch.setattr(services, "_evidence", evidence)
    outcomes = snapshots_record(_batch(cameras, bus))

    assert [o.failed for o in outcomes] == [camera.pk == bad.pk for camera in cameras]
    assert set(Snapshot.objects.values_list("camera_id", flat=True)) == {c.pk for c in cameras} - {bad.pk}
    assert Situation.objects.count() == 5
    assert Event.objects.filter(source=EventSource.CAMERA).count() == 5
    # The first, whole-batch attempt had drawn evidence for cameras 0 and 1 before it failed: those files went
    # with its transaction; what is stored is exactly the surviving situations' evidence.
    stored = {path.relative_to(settings.MEDIA_ROOT).as_posix()
              for path in Path(settings.MEDIA_ROOT, "vision", "evidence").rglob("*.jpg")}
    assert stored == {situation.evidence.name for situation in Situation.objects.all()}

    monkeypatch.setattr(services, "_evidence", render)  # the camera's next picture records normally
    [outcome] = snapshots_record(_batch([bad], bus, AT.replace(minute=1)))
    assert not outcome.failed and outcome.started
