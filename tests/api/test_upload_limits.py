"""The work one request, and one person, can cause with photos is bounded, and a refusal says why.

A 40-megapixel PNG weighs 116 KB and costs 1.8 s of CPU to decode; six per report cost 6.8 s.  So a request's
photos may hold ``UPLOAD_MAX_PIXELS_PER_REQUEST`` pixels in all (judged from their headers, before a pixel is
decoded), and a person may report ``EVENT_REPORTS_PER_MINUTE`` times a minute.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gridapp.incidents.models import Event
from tests.factories import jpeg_bytes
from tests.gridapp.test_event_intake import _png_header

SPOT = (120.31, 36.01)  # inside district.grid
REPORT = """mutation($input: EventReportInput!) { reportEvent(input: $input) { errors { code field message } event { id } } }"""


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def report_input(photos: int = 1) -> dict:
    return {"input": {"categoryCode": "02-01", "lng": SPOT[0], "lat": SPOT[1], "photos": [None] * photos}}


def test_photos_over_the_pixels_of_one_request_are_refused_before_decoding(users, district, event_categories, gql,
                                                                         token_for, monkeypatch, settings):
    import core.files.images

    def no_decoding(*args, **kwargs):
        raise AssertionError("a refused request must not decode its photos")

    monkeypatch.setattr(core.files.images, "_decode", no_decoding)  # where every image is decoded
    forty_megapixels = _png_header(8000, 5000)  # under the per-photo limit, 40 MP, a few bytes
    answer = gql.upload(REPORT, report_input(2), {"input.photos.0": forty_megapixels, "input.photos.1": forty_megapixels},
                        token=token_for(users["worker"]), language="en")
    assert answer.status == 413, answer.body
    assert answer.error_codes == ["too_many_pixels"]
    assert str(settings.UPLOAD_MAX_PIXELS_PER_REQUEST // 1_000_000) in answer.errors[0]["message"]
    assert Event.objects.count() == 0


def test_photos_within_the_pixels_of_one_request_are_taken(users, district, event_categories, gql, token_for,
                                                           settings):
    settings.UPLOAD_MAX_PIXELS_PER_REQUEST = 1_000_000
    token = token_for(users["worker"])
    refused = gql.upload(REPORT, report_input(2), {"input.photos.0": png(800, 800), "input.photos.1": png(800, 800)},
                         token=token)
    assert refused.status == 413 and refused.error_codes == ["too_many_pixels"]
    taken = gql.upload(REPORT, report_input(1), {"input.photos.0": png(800, 800)}, token=token)
    assert taken.errors == [] and taken.data["reportEvent"]["errors"] == [] and Event.objects.count() == 1


def test_a_file_that_is_not_an_image_is_left_to_the_photo_check(users, district, event_categories, gql, token_for):
    answer = gql.upload(REPORT, report_input(1), {"input.photos.0": b"GIF89a" + b"\0" * 100},
                        token=token_for(users["worker"]))
    assert answer.status == 200
    assert [error["code"] for error in answer.data["reportEvent"]["errors"]] == ["not_an_image"]


def test_reports_per_person_per_minute_are_limited(users, district, event_categories, gql, token_for, settings):
    settings.EVENT_REPORTS_PER_MINUTE = 2
    token = token_for(users["citizen"])
    for _ in range(2):
        answer = gql.upload(REPORT, report_input(1), {"input.photos.0": jpeg_bytes(size=(64, 64))}, token=token)
        assert answer.data["reportEvent"]["errors"] == [], answer.body
    reported = Event.objects.count()
    refused = gql.upload(REPORT, report_input(1), {"input.photos.0": jpeg_bytes(size=(64, 64))}, token=token,
                         language="en")
    errors = refused.data["reportEvent"]["errors"]
    assert [error["code"] for error in errors] == ["rate_limited"]
    assert "Try again in" in errors[0]["message"]
    assert Event.objects.count() == reported and refused.data["reportEvent"]["event"] is None
    # someone else is not affected
    other = gql.upload(REPORT, report_input(1), {"input.photos.0": jpeg_bytes(size=(64, 64))},
                       token=token_for(users["worker"]))
    assert other.data["reportEvent"]["errors"] == []


@pytest.mark.parametrize("language,expected", [("zh-hans", "上报过于频繁"), ("en", "Too many reports")])
def test_the_rate_limit_speaks_the_readers_language(users, district, event_categories, gql, token_for, settings,
                                                    language, expected):
    settings.EVENT_REPORTS_PER_MINUTE = 0
    answer = gql(REPORT, {"input": {"categoryCode": "11-01", "lng": SPOT[0], "lat": SPOT[1]}},
                 token=token_for(users["citizen"]), language=language)
    assert expected in answer.data["reportEvent"]["errors"][0]["message"]
