"""Reporting an incident: routing, numbering, duplicates, idempotent retries, and every kind of bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridapp.geography.crs import CRS, from_wgs84
from gridapp.incidents.models import Event, EventHistory, EventPhoto, EventStatus
from gridapp.incidents.services import event_report
from tests.factories import IndustryGridFactory, jpeg_bytes

SPOT = (120.31, 36.01)  # inside district.grid
REPORT = """mutation($input: EventReportInput!) { reportEvent(input: $input) {
  errors { code field message } replayed
  event { id caseNumber status source department { code } duplicateOf { caseNumber } }
  duplicateOf { caseNumber duplicateCount }
} }"""


def report(user, code="02-01", lng=SPOT[0], lat=SPOT[1], **kwargs):
    kwargs.setdefault("photos", [jpeg_bytes()])
    return event_report(reporter=user, category_code=code, lng=lng, lat=lat, **kwargs)


def codes(error: ValidationError) -> list[str]:
    return [e.code for e in error.error_list] if not hasattr(error, "error_dict") else [
        e.code for items in error.error_dict.values() for e in items]


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "events"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_report_is_located_routed_numbered_and_timed(users, district, event_categories):
    zone = IndustryGridFactory(department=users["urban"].department, lng=120.28, lat=35.98, size=0.1)
    outcome = report(users["worker"], description="  电线杆上的小广告  ")
    event = outcome.event
    assert outcome.duplicate_of is None and not outcome.replayed
    assert event.status == EventStatus.REPORTED and event.source == "grid_worker"
    assert (event.grid_id, event.community_id, event.street_id) == (
        district.grid.pk, district.community.pk, district.street.pk)
    assert event.department.code == "urban" and event.industry_grid_id == zone.pk
    assert event.case_number == f"{timezone.now().year}0000001"
    assert report(users["worker2"], lng=120.36).event.case_number == f"{timezone.now().year}0000002"
    assert event.deadline == event.reported_at + timedelta(hours=event.category.accept_hours)
    assert event.description == "电线杆上的小广告"
    assert EventHistory.objects.filter(event=event, action="report").count() == 1
    photo = EventPhoto.objects.get(event=event)
    assert (Path(settings.MEDIA_ROOT) / photo.image).is_file() and (Path(settings.MEDIA_ROOT) / photo.thumbnail).is_file()


def test_a_phone_position_in_gcj02_lands_in_the_same_grid_and_matches_the_photos_gps(users, district,
                                                                                     event_categories):
    gcj_lng, gcj_lat = from_wgs84(SPOT[0], SPOT[1], CRS.GCJ02)
    assert abs(gcj_lng - SPOT[0]) > 0.003  # hundreds of metres apart on the map
    event = report(users["worker"], lng=gcj_lng, lat=gcj_lat, crs=CRS.GCJ02, photos=[jpeg_bytes(gps=SPOT)]).event
    assert event.grid_id == district.grid.pk and event.source_crs == "GCJ02"
    assert abs(event.lng - SPOT[0]) < 1e-6 and abs(event.lat - SPOT[1]) < 1e-6


def test_a_report_near_an_open_case_of_the_same_category_is_linked_as_a_duplicate(users, district,
                                                                                  event_categories):
    first = report(users["worker"]).event
    nearby = report(users["operator"], lng=SPOT[0] + 0.0002, photos=[jpeg_bytes()])  # about 18 m east
    assert nearby.duplicate_of == first
    assert nearby.event.status == EventStatus.DUPLICATE and nearby.event.case_number is None
    assert nearby.event.reporter == users["operator"] and nearby.event.photos.count() == 1
    first.refresh_from_db()
    assert first.duplicate_count == 1 and first.history.filter(action="duplicate").exists()
    # Another category, or farther than the radius, or an old case: a case of its own.
    assert report(users["worker"], code="02-02").duplicate_of is None
    assert report(users["worker"], lng=SPOT[0] + 0.003).duplicate_of is None  # about 270 m
    Event.objects.filter(pk=first.pk).update(reported_at=timezone.now() - timedelta(hours=25))
    assert report(users["worker"], lng=SPOT[0] + 0.0001).duplicate_of is None


def test_a_retried_report_with_the_same_client_id_creates_nothing_new(users, district, event_categories, gql,
                                                                      token_for):
    token = token_for(users["worker"])
    variables = {"input": {"categoryCode": "11-01", "lng": SPOT[0], "lat": SPOT[1], "clientRequestId": "abc-1"}}
    first = gql(REPORT, variables, token=token).data["reportEvent"]
    again = gql(REPORT, variables, token=token).data["reportEvent"]
    assert first["errors"] == [] and again["replayed"] is True and not first["replayed"]
    assert again["event"]["id"] == first["event"]["id"] and Event.objects.count() == 1
    # Another user's identical client id is another report.
    other = gql(REPORT, variables, token=token_for(users["operator"])).data["reportEvent"]
    assert other["event"]["id"] != first["event"]["id"] and other["event"]["source"] == "BACK_OFFICE"


@pytest.mark.parametrize(("change", "code"), [
    ({"category_code": "99-99"}, "unknown_category"),
    ({"lng": 121.9, "lat": 37.5}, "outside_district"),
    ({"lat": 95.0}, "invalid_coordinates"),
    ({"lng": float("nan")}, "invalid_coordinates"),
    ({"photos": []}, "photo_required"),
    ({"photos": [jpeg_bytes()] * 7}, "too_many_photos"),
    ({"photos": [b"%PDF-1.4 not a photo"]}, "not_an_image"),
    ({"photos": [jpeg_bytes(gps=(120.36, 36.04))]}, "photo_location_mismatch"),  # about 5 km away
    ({"description": "x" * 2001}, "too_long"),
])
def test_bad_reports_get_a_typed_error_and_leave_nothing_behind(users, district, event_categories, change, code):
    arguments = {"category_code": "02-01", "lng": SPOT[0], "lat": SPOT[1], "photos": [jpeg_bytes()], **change}
    with pytest.raises(ValidationError) as caught:
        event_report(reporter=users["worker"], **arguments)
    assert codes(caught.value) == [code]
    assert Event.objects.count() == 0 and EventPhoto.objects.count() == 0 and media_files() == []


def test_a_bad_second_photo_writes_neither_rows_nor_files(users, district, event_categories):
    from django.utils import translation

    with pytest.raises(ValidationError) as caught, translation.override("en"):
        report(users["worker"], photos=[jpeg_bytes(), b"GIF89a" + b"\0" * 100])
    assert codes(caught.value) == ["not_an_image"] and "Photo 2" in caught.value.messages[0]
    assert Event.objects.count() == 0 and media_files() == []


def test_bad_input_over_the_api_is_a_typed_error_not_a_500(users, district, event_categories, gql, token_for):
    token = token_for(users["worker"])
    bomb = _png_header(30000, 30000)
    answer = gql.upload(REPORT, {"input": {"categoryCode": "02-01", "lng": SPOT[0], "lat": SPOT[1], "photos": [None]}},
                        {"input.photos.0": bomb}, token=token)
    assert answer.status == 200
    assert [(e["code"], e["field"]) for e in answer.data["reportEvent"]["errors"]] == [("image_too_large", "photos")]
    outside = gql(REPORT, {"input": {"categoryCode": "11-01", "lng": 0.0, "lat": 0.0}}, token=token)
    assert [e["code"] for e in outside.data["reportEvent"]["errors"]] == ["outside_district"]
    anonymous = gql(REPORT, {"input": {"categoryCode": "11-01", "lng": SPOT[0], "lat": SPOT[1]}})
    assert anonymous.error_codes == ["unauthenticated"] and Event.objects.count() == 0


def test_a_100_mb_upload_is_refused_before_it_is_read(users, district, gql, token_for):
    from django.test import Client

    response = Client().generic(
        "POST", "/graphql/", b"--x\r\n", content_type="multipart/form-data; boundary=x",
        HTTP_AUTHORIZATION=f"Bearer {token_for(users['worker'])}", CONTENT_LENGTH=str(100 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "upload_too_large"


def test_a_photo_over_the_per_file_limit_is_refused(users, district, event_categories, settings):
    settings.PHOTO_MAX_BYTES = 2000
    with pytest.raises(ValidationError) as caught:
        report(users["worker"], photos=[jpeg_bytes(size=(800, 800))])
    assert codes(caught.value) == ["file_too_large"]


def test_photos_are_served_stripped_through_signed_links_only(users, district, event_categories, gql, token_for):
    from django.test import Client
    from PIL import Image

    report(users["worker"], photos=[jpeg_bytes(gps=SPOT)])
    query = "{ events(first: 5) { edges { node { thumbnailUrl photos { url exifLocation } } } } }"
    node = gql(query, token=token_for(users["urban"])).data["events"]["edges"][0]["node"]
    assert node["photos"][0]["exifLocation"]["coordinates"] == pytest.approx(list(SPOT), abs=1e-5)
    worker_view = gql(query, token=token_for(users["worker"])).data["events"]["edges"][0]["node"]
    assert worker_view["photos"][0]["exifLocation"] is None  # restricted to staff and the command centre
    response = Client().get(node["photos"][0]["url"])
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    import io

    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.format == "JPEG" and len(image.getexif()) == 0
    forged = node["thumbnailUrl"][:-3] + ("aaa" if not node["thumbnailUrl"].endswith("aaa") else "bbb")
    assert Client().get(forged).status_code == 404


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge image in a few bytes (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_a_sensor_alarm_comes_in_through_the_same_intake_once(users, district, event_categories):
    from gridapp.tasks import event_report_task

    alarm = {"source": "sensor", "source_key": "water-meter:WM-0042:2026-11-24T08", "category_code": "02-01",
             "lng": SPOT[0], "lat": SPOT[1], "description": "独居老人家中 36 小时未用水"}
    first = event_report_task.apply(kwargs=alarm).get()
    assert event_report_task.apply(kwargs=alarm).get() == first  # redelivered: the same event
    event = Event.objects.get()
    assert (event.pk, event.source, event.reporter, event.department.code) == (first, "sensor", None, "urban")
    assert event.photos.count() == 0  # a meter has no camera: the category's photo rule is for people
    assert event_report_task.apply(kwargs={**alarm, "source_key": "x", "lng": 0.0, "lat": 0.0}).get() is None


@pytest.mark.django_db(transaction=True)
def test_reports_at_the_same_moment_get_distinct_consecutive_case_numbers(users, district, event_categories):
    import threading

    from django.db import connection

    start = threading.Barrier(4)
    numbers, problems = [], []

    def report_at(offset: float):
        start.wait()
        try:
            numbers.append(event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0] + offset,
                                        lat=SPOT[1]).event.case_number)
        except Exception as exc:  # the assertion below shows it
            problems.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report_at, args=(0.002 * i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert problems == []
    year = timezone.now().year
    assert sorted(numbers) == [f"{year}{n:07d}" for n in range(1, 5)]
