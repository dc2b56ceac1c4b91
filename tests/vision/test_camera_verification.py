"""A camera's incident: verified only once the camera has shown the place clear long enough after the
resolution (then by the system itself), and reopened, not duplicated, when the problem comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from gridapp.incidents.models import Event, EventHistory, EventSource, EventStatus
from gridapp.incidents.services import event_transition
from tests.factories import jpeg_bytes
from tests.vision.conftest import BUS
from vision.models import Camera, CameraRule, Situation, SourceKind
from vision.rules import Algorithm
from vision.services import Picture, snapshots_process

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def watched(camera_record, settings):
    settings.VISION_VERIFY_CLEAR_SECONDS = 60
    camera = Camera.objects.create(record=camera_record, source_kind=SourceKind.FILE, source=str(BUS),
                                   interval_seconds=10)
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD,
                              params={"min_people": 3, "min_hits": 1, "min_seconds": 0, "clear_seconds": 20})
    return camera


def _see(camera, seconds: int, path):
    with Image.open(path) as image:
        [outcome] = snapshots_process([Picture(camera=camera, taken_at=T0 + timedelta(seconds=seconds),
                                               image=image.convert("RGB"))])
    return outcome


def _handle_and_resolve(users, event, seconds: int):
    for action, extra in (("accept", {}), ("dispatch", {"assignee": users["urban"]}), ("start", {}),
                          ("resolve", {"note": "人群已疏导", "photos": [jpeg_bytes()]})):
        event_transition(actor=users["urban"], event_id=event.pk, action=action,
                         now=T0 + timedelta(seconds=seconds), **extra)


def test_verification_waits_for_the_camera_to_show_the_place_clear_then_the_system_verifies(
        users, detectors, event_categories, watched, empty_street):
    event = _see(watched, 0, BUS).started[0].event
    _handle_and_resolve(users, event, 60)

    with pytest.raises(ValidationError) as refused:  # the crowd is still there
        event_transition(actor=users["worker"], event_id=event.pk, action="verify", now=T0 + timedelta(seconds=65))
    assert refused.value.code == "not_confirmed_on_site" and "still sees" in refused.value.messages[0]

    for seconds in (70, 80, 90):  # people gone: the situation ends at 90 s (clear for 20 s, two snapshots)
        _see(watched, seconds, empty_street)
    assert Situation.objects.get().ended_at == T0 + timedelta(seconds=90)
    with pytest.raises(ValidationError) as refused:  # clear, but not yet for 60 s
        event_transition(actor=users["worker"], event_id=event.pk, action="verify", now=T0 + timedelta(seconds=100))
    assert "not yet shown the place clear for 1 minute since" in refused.value.messages[0]

    assert _see(watched, 140, empty_street).verified == []  # 50 s clear
    assert _see(watched, 150, empty_street).verified == [event.pk]  # 60 s clear: the system verifies
    event.refresh_from_db()
    assert event.status == EventStatus.VERIFIED
    verify = EventHistory.objects.get(event=event, action="verify")
    assert verify.actor is None and "clear" in verify.note


def test_the_problem_coming_back_reopens_the_closed_incident_instead_of_opening_another(
        users, detectors, event_categories, watched, empty_street):
    event = _see(watched, 0, BUS).started[0].event
    _handle_and_resolve(users, event, 60)
    for seconds in (70, 80, 90, 150):
        _see(watched, seconds, empty_street)
    event_transition(actor=users["urban"], event_id=event.pk, action="close", now=T0 + timedelta(seconds=200))

    back = _see(watched, 300, BUS)
    assert [s.event_id for s in back.started] == [event.pk]
    event.refresh_from_db()
    assert event.status == EventStatus.ACCEPTED
    reopen = EventHistory.objects.get(event=event, action="reopen")
    assert reopen.actor is None and reopen.note.startswith("It is back.")
    assert reopen.photos.count() == 1  # the new evidence
    assert Event.objects.filter(source=EventSource.CAMERA).count() == 1
    assert Situation.objects.filter(event=event).count() == 2


def test_the_problem_coming_back_before_verification_returns_the_resolution_to_its_handler(
        users, detectors, event_categories, watched, empty_street):
    event = _see(watched, 0, BUS).started[0].event
    _handle_and_resolve(users, event, 60)
    for seconds in (70, 80, 90):
        _see(watched, seconds, empty_street)
    _see(watched, 100, BUS)  # back within the minute: the resolution did not hold
    event.refresh_from_db()
    assert event.status == EventStatus.IN_PROGRESS
    assert Event.objects.filter(source=EventSource.CAMERA).count() == 1


def test_an_incident_no_camera_watches_is_verified_as_before(users, event_categories):
    from gridapp.incidents.services import event_report

    event = event_report(reporter=users["worker"], category_code="02-05", lng=120.31, lat=36.01).event
    _handle_and_resolve(users, event, 60)
    event_transition(actor=users["worker"], event_id=event.pk, action="verify", now=T0 + timedelta(seconds=61))
    event.refresh_from_db()
    assert event.status == EventStatus.VERIFIED
