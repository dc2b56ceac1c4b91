"""Acceptance: a worker's photo of bus.jpg gets category suggestions and a description, fast, and bad photos
get typed errors (also after Ultralytics has patched PIL in the same process)."""

from __future__ import annotations

import time

import pytest

from tests.vision.conftest import BUS, ZIDANE
from vision.detector import detectors_preload

pytestmark = pytest.mark.django_db

SUGGEST = """mutation($photo: Upload!) { suggestEventCategories(photo: $photo) {
  errors { code field message }
  suggestions { category { code name } confidence objects }
  description objects { label confidence box }
} }"""


def test_a_worker_photo_of_bus_jpg_gets_suggestions_within_two_seconds(
        gql, users, token_for, detectors, event_categories):
    token = token_for(users["worker"])
    detectors_preload()  # the models load once per process, as a server preloads them (VISION_PRELOAD)
    started = time.perf_counter()
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()}, token=token, language="en")
    elapsed = time.perf_counter() - started
    payload = answer.data["suggestEventCategories"]
    assert payload["errors"] == []
    codes = [s["category"]["code"] for s in payload["suggestions"]]
    assert "05-08" in codes  # four people: a crowd is proposed
    crowd = next(s for s in payload["suggestions"] if s["category"]["code"] == "05-08")
    assert crowd["objects"] == 4 and 0.4 < crowd["confidence"] <= 1
    assert crowd["category"]["name"] == "Crowd gathering"
    confidences = [s["confidence"] for s in payload["suggestions"]]
    assert confidences == sorted(confidences, reverse=True)
    assert "Person × 4" in payload["description"]
    assert sum(o["label"] == "person" for o in payload["objects"]) == 4
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_two_people_are_no_crowd(gql, users, token_for, detectors, event_categories):
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": ZIDANE.read_bytes()}, token=token_for(users["worker"]))
    payload = answer.data["suggestEventCategories"]
    assert "05-08" not in [s["category"]["code"] for s in payload["suggestions"]]
    assert sum(o["label"] == "person" for o in payload["objects"]) == 2


@pytest.mark.parametrize(("content", "code"), [(b"\xff\xd8 not a jpeg at all", "not_an_image"),
                                               (b"GIF89a" + b"\0" * 64, "not_an_image")])
def test_a_bad_photo_gets_a_typed_error_even_after_ultralytics_patched_pil(
        gql, users, token_for, detectors, event_categories, content, code):
    import ultralytics.utils.patches  # noqa: F401  (replaces PIL.Image.open in this process)

    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": content}, token=token_for(users["worker"]))
    assert answer.status == 200 and not answer.errors
    assert [e["code"] for e in answer.data["suggestEventCategories"]["errors"]] == [code]


def test_suggestions_need_a_signed_in_user(gql, detectors):
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()})
    assert answer.errors and answer.errors[0]["extensions"]["code"] == "unauthenticated"


def test_preloading_loads_every_serving_detector(detectors, monkeypatch):
    from vision import backends, detector, inference

    monkeypatch.setattr(inference, "_loaded", {})
    monkeypatch.setattr(backends, "_chosen", {})
    detector.detectors_preload()
    assert sorted(d.name for d in inference._loaded.values()) == ["person v1 (pt)", "vehicle v1 (pt)"]
