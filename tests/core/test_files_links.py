"""Signed expiring links to any registered kind's files, served by one view (core.files.links, api.media).

A kind registered here (a camera situation's evidence, by the API's rule for situations; a report only the
operator sees, by a rule of its own) is served by the same view and the same checks as event photos, whose
links keep the path and format the app has always handed out.
"""

from __future__ import annotations

import io
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import storages
from django.core.signing import Signer
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.models import Role
from core.files import (
    FileKind,
    Images,
    Pdfs,
    file_ingest,
    file_kind_register,
    file_kind_unregister,
    file_link_issue,
    file_link_sign,
    file_links_issue,
    file_store,
)
from core.files import links as file_links
from gridapp.models import BaseRecord, RecordKind
from tests.factories import jpeg_bytes
from vision.models import Algorithm, Camera, CameraRule, Situation, SourceKind

SPOT = (120.31, 36.01)  # inside district.grid, worker's grid
REPORT = """mutation($input: EventReportInput!) { reportEvent(input: $input) { errors { code } event { id } } }"""
PHOTOS = "{ events(first: 5) { edges { node { thumbnailUrl photos { url thumbnailUrl } } } } }"


def pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 90, 160)).save(buffer, "PDF")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def kinds():
    registered = [
        # No rule of its own: the API's rule for situations (whoever sees the camera).
        FileKind(name="t_evidence", model="vision.Situation", variants={"f": "evidence"}, accepts=(Images(),)),
        FileKind(name="t_report", model="vision.Situation", variants={"f": "evidence"}, accepts=(Pdfs(),),
                 visibility=lambda user, situations: situations if user.role == Role.OPERATOR else situations.none()),
    ]
    for kind in registered:
        file_kind_register(kind)
    yield
    for kind in registered:
        file_kind_unregister(kind.name)


def situation_in(grid) -> Situation:
    record = BaseRecord.objects.create(kind=RecordKind.CAMERA, external_id=f"CAM-F{grid.pk}-{time.monotonic_ns()}",
                                       name="路口", lng=SPOT[0], lat=SPOT[1], grid=grid)
    camera = Camera.objects.create(record=record, source_kind=SourceKind.FILE, source="bus.jpg")
    rule = CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD)
    return Situation.objects.create(rule=rule, camera=camera, started_at=timezone.now(),
                                    last_seen_at=timezone.now(), peak=4)


def with_file(situation: Situation, kind: str, upload: bytes) -> bytes:
    """Ingest and store ``upload`` as ``kind`` on ``situation``; the stored bytes."""
    ingested = file_ingest(kind=kind, upload=upload)
    situation.evidence = file_store(ingested=ingested)["file"]
    situation.save(update_fields=["evidence"])
    return ingested.parts["file"].content


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_second_model_kind_is_served_by_the_same_view(users, district):
    situation = situation_in(district.grid)
    stored = with_file(situation, "t_evidence", jpeg_bytes(gps=SPOT))

    link = file_link_issue(user=users["worker"], kind="t_evidence", pk=situation.pk)
    assert link.startswith("/files/t_evidence/")
    response = Client().get(link)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline; filename=")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, max-age=1800"
    assert body(response) == stored and b"Exif" not in stored


def test_a_link_is_never_issued_for_a_file_the_viewer_may_not_see(users, district):
    situation = situation_in(district.grid)
    with_file(situation, "t_evidence", jpeg_bytes())
    users["urban"].is_active = False
    for who in (users["worker2"], users["citizen"], users["urban"], AnonymousUser(), None):
        assert file_link_issue(user=who, kind="t_evidence", pk=situation.pk) is None, who
    assert file_link_issue(user=users["operator"], kind="t_evidence", pk=situation.pk) is not None
    # No file yet is no link either.
    bare = situation_in(district.grid)
    assert file_link_issue(user=users["worker"], kind="t_evidence", pk=bare.pk) is None


def test_a_kinds_own_rule_decides_and_a_pdf_is_served_as_a_download(users, district):
    situation = situation_in(district.grid)
    stored = with_file(situation, "t_report", pdf_bytes())
    assert file_link_issue(user=users["worker"], kind="t_report", pk=situation.pk) is None  # sees the camera
    link = file_link_issue(user=users["operator"], kind="t_report", pk=situation.pk)
    response = Client().get(link)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="') and ".pdf" in response[
        "Content-Disposition"]
    assert body(response) == stored


def test_links_for_a_list_take_one_query_however_long(users, district, django_assert_max_num_queries):
    visible = [situation_in(district.grid) for _ in range(3)]
    hidden = situation_in(district.grid2)
    for situation in [*visible, hidden]:
        situation.evidence = "t_evidence/2026/01/x.jpg"
        situation.save(update_fields=["evidence"])
    worker = users["worker"]
    with django_assert_max_num_queries(1):
        links = file_links_issue(user=worker, kind="t_evidence", pks=[s.pk for s in [*visible, hidden]])
    assert sorted(links) == sorted(s.pk for s in visible)


def test_an_expired_link_is_refused(users, district, monkeypatch):
    situation = situation_in(district.grid)
    with_file(situation, "t_evidence", jpeg_bytes())
    link = file_link_issue(user=users["worker"], kind="t_evidence", pk=situation.pk)
    now = time.time()
    monkeypatch.setattr(file_links, "_now", lambda: now + 3600 + 1)  # the TTL, and then some
    response = Client().get(link, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert response.json() == {"errors": [{"message": "This file link has expired.",
                                           "extensions": {"code": "link_expired"}}]}
    monkeypatch.setattr(file_links, "_now", lambda: now + 1800)  # within the TTL: still good
    assert Client().get(link).status_code == 200


def test_forged_altered_and_misdirected_links_are_refused(users, district):
    situation = situation_in(district.grid)
    other = situation_in(district.grid2)
    with_file(situation, "t_evidence", jpeg_bytes())
    with_file(other, "t_evidence", jpeg_bytes())
    link = file_link_issue(user=users["worker"], kind="t_evidence", pk=situation.pk)
    token = link.rsplit("/", 1)[1]
    value, signature = token.rsplit(":", 1)
    far = int(time.time()) + 10**6
    attempts = [
        link[:-2] + ("AA" if not link.endswith("AA") else "BB"),  # the signature altered
        f"/files/t_evidence/{other.pk}.f.{far}:{signature}",  # another object, a later expiry, the old signature
        f"/files/t_evidence/{Signer().sign(f'{other.pk}.f.{far}')}",  # signed with the site key but no salt
        f"/files/t_report/{token}",  # a link of one kind presented as another's
        f"/photos/{token}",
        f"/files/t_evidence/{value}",  # no signature at all
    ]
    for attempt in attempts:
        response = Client().get(attempt, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404, attempt
        assert response.json()["errors"][0]["extensions"]["code"] == "not_found"
    response = Client().get(f"/files/no_such_kind/{token}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and response.json()["errors"][0]["message"] == "No such file."
    assert Client().get(link).status_code == 200  # the real one still works


def test_a_link_to_a_deleted_file_or_object_is_not_found(users, district):
    situation = situation_in(district.grid)
    with_file(situation, "t_evidence", jpeg_bytes())
    link = file_link_issue(user=users["worker"], kind="t_evidence", pk=situation.pk)
    storages["default"].delete(situation.evidence.name)
    assert Client().get(link).status_code == 404
    situation.delete()
    assert Client().get(link).status_code == 404


def test_files_go_through_the_configured_storage_only(users, district, settings):
    """An in-memory storage stands for an object store: nothing is written to or read from the disk."""
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    settings.MEDIA_ROOT = "/nonexistent/never-used"
    situation = situation_in(district.grid)
    stored = with_file(situation, "t_evidence", jpeg_bytes())
    assert storages["default"].__class__.__name__ == "InMemoryStorage"
    response = Client().get(file_link_issue(user=users["worker"], kind="t_evidence", pk=situation.pk))
    assert response.status_code == 200 and body(response) == stored


# --- event photos: the first user -----------------------------------------------------------------------------


def test_event_photo_links_keep_their_path_and_format(users, district, event_categories, gql, token_for):
    answer = gql.upload(REPORT, {"input": {"categoryCode": "02-01", "lng": SPOT[0], "lat": SPOT[1],
                                           "photos": [None]}},
                        {"input.photos.0": jpeg_bytes(gps=SPOT)}, token=token_for(users["worker"]))
    assert answer.data["reportEvent"]["errors"] == []
    node = gql(PHOTOS, token=token_for(users["worker"])).data["events"]["edges"][0]["node"]
    url, thumbnail_url = node["photos"][0]["url"], node["photos"][0]["thumbnailUrl"]
    assert url.startswith("/photos/") and thumbnail_url.startswith("/photos/")
    assert node["thumbnailUrl"] == thumbnail_url
    full, thumbnail = body(Client().get(url)), body(Client().get(thumbnail_url))
    assert Image.open(io.BytesIO(full)).size == (640, 480) and max(Image.open(io.BytesIO(thumbnail)).size) == 320

    # A link the app handed out before files were a platform service: signed the way api/media.py signed it.
    from gridapp.models import EventPhoto

    photo = EventPhoto.objects.get()
    window = 3600 // 2
    expires = (int(time.time()) // window + 2) * window
    legacy = f"/photos/{Signer(salt='onegrid.photo').sign(f'{photo.pk}.i.{expires}')}"
    assert legacy == file_link_sign(kind="event_photo", pk=photo.pk, variant="i") == url
    response = Client().get(legacy)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg" and body(response) == full

    # Whoever the API does not show the event to gets no link to its photos.
    assert file_link_issue(user=users["worker2"], kind="event_photo", pk=photo.pk) is None
    assert file_link_issue(user=users["worker"], kind="event_photo", pk=photo.pk) == url


def test_event_photo_link_errors_keep_their_words(db):
    response = Client().get("/photos/not-a-signed-token", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and response.json()["errors"][0]["message"] == "No such photo."


def test_a_requests_pixel_budget_refuses_event_photos_before_core_decodes_them(users, district, event_categories,
                                                                              gql, token_for, monkeypatch, settings):
    """tests/api/test_upload_limits.py patches the decoder under its old name in gridapp; this patches the one
    that decodes, and shows it is reached once the budget lets a request through."""
    from django.core.exceptions import ValidationError

    from core.files import images
    from tests.core.test_files import png_header

    decoded = []

    def recording_decoder(data, max_pixels):
        decoded.append(len(data))
        raise ValidationError("stub", code="not_an_image")

    monkeypatch.setattr(images, "_decode", recording_decoder)
    forty_megapixels = png_header(8000, 5000)  # within the per-photo limit; two of them past the request's
    variables = {"input": {"categoryCode": "02-01", "lng": SPOT[0], "lat": SPOT[1], "photos": [None, None]}}
    files = {"input.photos.0": forty_megapixels, "input.photos.1": forty_megapixels}
    answer = gql.upload(REPORT, variables, files, token=token_for(users["worker"]))
    assert (answer.status, answer.error_codes, decoded) == (413, ["too_many_pixels"], [])
    settings.UPLOAD_MAX_PIXELS_PER_REQUEST = 100_000_000
    answer = gql.upload(REPORT, variables, files, token=token_for(users["worker"]))
    assert answer.data["reportEvent"]["errors"][0]["code"] == "not_an_image" and decoded == [len(forty_megapixels)]

