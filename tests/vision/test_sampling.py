"""Sampling: cameras spread over their interval, backpressure, failures, offline cameras and their
maintenance task; snapshot sources (files, HTTP with auth, garbage, timeouts)."""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gridapp.geography.models import BaseRecord, RecordKind
from gridapp.incidents.models import Event
from tests.vision.conftest import BUS
from vision.frames import frame_size
from vision.models import Camera, CameraStatus, HttpAuth, Snapshot, SourceKind
from vision.sampling import camera_failure, camera_slot, cameras_claim_due, cameras_release
from vision.sources import SnapshotError, snapshot_fetch
from vision.tasks import cameras_snapshot_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NOW = datetime(2026, 11, 25, 8, 0, 30, tzinfo=UTC)


def test_cameras_are_spread_over_their_interval_not_bunched_at_its_start():
    phases = Counter(camera_slot(pk, 60, NOW).second for pk in range(1, 6001))
    assert len(phases) == 60  # every second of the minute has cameras
    assert max(phases.values()) <= 2 * 6000 / 60  # none has more than twice its share


def test_a_slot_is_the_latest_sampling_moment_not_in_the_future():
    for pk in (1, 2, 77):
        slot = camera_slot(pk, 60, NOW)
        assert NOW - timedelta(seconds=60) < slot <= NOW
        assert camera_slot(pk, 60, slot) == slot  # stable within its slot


@pytest.fixture
def camera(camera_record):
    return Camera.objects.create(record=camera_record, source_kind=SourceKind.FILE, source=str(BUS),
                                 interval_seconds=60)


def test_a_due_camera_is_claimed_once_and_not_again_while_its_snapshot_is_queued(camera):
    [(pk, slot)] = cameras_claim_due(NOW)
    assert pk == camera.pk and slot == camera_slot(camera.pk, 60, NOW)
    assert cameras_claim_due(NOW) == []  # queued: the beat does not pile up a second task
    assert cameras_claim_due(NOW + timedelta(seconds=120)) == []  # still queued two intervals on
    assert [pk for pk, _ in cameras_claim_due(NOW + timedelta(minutes=11))] == [camera.pk]  # a lost task expires
    cameras_release([camera.pk])
    Camera.objects.filter(pk=camera.pk).update(last_attempt_at=slot)
    assert cameras_claim_due(NOW) == []  # this slot is done
    assert [s for _, s in cameras_claim_due(slot + timedelta(seconds=60))] == [slot + timedelta(seconds=60)]


def test_a_disabled_camera_is_never_due(camera):
    Camera.objects.filter(pk=camera.pk).update(enabled=False)
    assert cameras_claim_due(NOW) == []


def test_the_third_failure_in_a_row_takes_a_camera_offline_with_one_maintenance_task(camera, event_categories):
    assert [camera_failure(camera.pk, "timeout", NOW) for _ in range(4)] == [False, False, True, False]
    camera.refresh_from_db()
    assert camera.status == CameraStatus.OFFLINE and camera.failures == 4 and camera.last_error == "timeout"
    [task] = Event.objects.filter(category__code="06-07")
    assert task.grid_id == camera.record.grid_id and camera.record.external_id in task.description
    # An offline camera is tried once per ten intervals: its slots are 600 s apart.
    cameras_release([camera.pk])
    tried = camera_slot(camera.pk, 600, NOW)  # the slot of the last attempt
    assert cameras_claim_due(tried + timedelta(seconds=599)) == []
    assert cameras_claim_due(tried + timedelta(seconds=600)) != []


def test_a_snapshot_task_records_garbage_as_a_failure_and_a_good_picture_as_online(
        camera, detectors, event_categories, tmp_path):
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8 this is not a jpeg")
    Camera.objects.filter(pk=camera.pk).update(source=str(garbage), queued_at=NOW)
    assert cameras_snapshot_task([[camera.pk, NOW.isoformat()]]) == 0
    camera.refresh_from_db()
    assert camera.failures == 1 and "not a picture" in camera.last_error and camera.queued_at is None
    Camera.objects.filter(pk=camera.pk).update(source=str(BUS))
    assert cameras_snapshot_task([[camera.pk, NOW.isoformat()]]) == 1
    assert cameras_snapshot_task([[camera.pk, NOW.isoformat()]]) == 0  # the same slot again: nothing
    camera.refresh_from_db()
    assert camera.failures == 0 and camera.status == CameraStatus.ONLINE and camera.last_snapshot_at == NOW


class _Handler(BaseHTTPRequestHandler):
    in_flight = 0
    most_in_flight = 0
    counting = threading.Lock()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/held":  # a camera that takes a while to answer; counts how many are asked at once
            with self.counting:
                _Handler.in_flight += 1
                _Handler.most_in_flight = max(_Handler.most_in_flight, _Handler.in_flight)
            time.sleep(0.4)
            with self.counting:
                _Handler.in_flight -= 1
        if self.path == "/basic" and self.headers.get("Authorization") != "Basic " + base64.b64encode(
                b"cam:secret").decode():
            self.send_response(401)
            self.end_headers()
            return
        body = b"<html>login</html>" if self.path == "/html" else BUS.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def http_camera(camera):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    camera.source_kind = SourceKind.HTTP
    camera.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield camera
    server.shutdown()


def test_http_snapshots_with_basic_auth_wrong_password_garbage_and_timeout(http_camera, settings):
    settings.VISION_FETCH_TIMEOUT_SECONDS = 0.5
    http_camera.source, http_camera.auth, http_camera.username, http_camera.password = (
        f"{http_camera.base}/basic", HttpAuth.BASIC, "cam", "secret")
    assert frame_size(snapshot_fetch(http_camera, NOW)) == (810, 1080)
    http_camera.password = "wrong"
    with pytest.raises(SnapshotError, match="HTTP 401"):
        snapshot_fetch(http_camera, NOW)
    http_camera.source = f"{http_camera.base}/html"
    with pytest.raises(SnapshotError, match="not a picture"):
        snapshot_fetch(http_camera, NOW)
    http_camera.source = f"{http_camera.base}/slow"
    started = time.monotonic()
    with pytest.raises(SnapshotError, match="in time"):
        snapshot_fetch(http_camera, NOW)
    assert time.monotonic() - started < 2


def test_a_snapshot_larger_than_the_limit_is_refused_without_reading_it_all(http_camera, settings):
    settings.VISION_SNAPSHOT_MAX_BYTES = 10_000
    http_camera.source = f"{http_camera.base}/plain"
    with pytest.raises(SnapshotError, match="larger than"):
        snapshot_fetch(http_camera, NOW)


def test_a_picture_cut_short_is_garbage_not_half_a_picture():
    from vision.sources import image_decode

    whole = BUS.read_bytes()
    assert frame_size(image_decode(whole)) == (810, 1080)
    with pytest.raises(SnapshotError, match="not a picture"):
        image_decode(whole[: len(whole) // 2])


def test_a_batch_asks_its_cameras_at_once_and_a_dead_one_fails_alone(http_camera, district, settings):
    settings.VISION_FETCH_TIMEOUT_SECONDS = 1
    cameras = [http_camera]
    for n in range(3):
        record = BaseRecord.objects.create(external_id=f"CAM-H-{n}", kind=RecordKind.CAMERA, name=f"Cam {n}",
                                           lng=120.30, lat=36.0, grid=district.grid)
        cameras.append(Camera.objects.create(record=record, source_kind=SourceKind.HTTP, source="",
                                             interval_seconds=60))
    for camera in cameras:
        Camera.objects.filter(pk=camera.pk).update(source_kind=SourceKind.HTTP, source=f"{http_camera.base}/held")
    Camera.objects.filter(pk=cameras[-1].pk).update(source=f"{http_camera.base}/slow")  # times out
    _Handler.most_in_flight = 0

    assert cameras_snapshot_task([[camera.pk, NOW.isoformat()] for camera in cameras]) == 3
    assert _Handler.most_in_flight == 3  # the three answering cameras were asked together, not in turn
    dead = Camera.objects.get(pk=cameras[-1].pk)
    assert dead.failures == 1 and "in time" in dead.last_error
    assert set(Snapshot.objects.values_list("camera_id", flat=True)) == {camera.pk for camera in cameras[:3]}
