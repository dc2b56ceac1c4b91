"""A server whose detectors are not installed says so: photo suggestions answer a typed error instead of an empty
list, the processes warn at start, /healthz names what is missing, and cameras record no flow figures (zero
people) for rules no detector can see for."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from PIL import Image

from tests.vision.conftest import BUS
from vision.models import Camera, CameraRule, DetectorModel, FlowSample, Snapshot, SourceKind
from vision.rules import Algorithm
from vision.services import Picture, snapshots_process

pytestmark = pytest.mark.django_db

SUGGEST = """mutation($photo: Upload!) { suggestEventCategories(photo: $photo) {
  errors { code message } suggestions { category { code } } description objects { label }
} }"""
AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _missing_file_model() -> DetectorModel:
    """A registration whose file never reached this machine (a deployment that copied the database only)."""
    return DetectorModel.objects.create(name="person", version=1, file="person/absent.pt", sha256="0" * 64,
                                        class_map={"Normal": "person"})


@pytest.mark.parametrize("registered", [False, True], ids=["nothing registered", "file missing"])
def test_photo_suggestions_without_detectors_are_a_typed_translated_error(gql, users, token_for, event_categories,
                                                                           registered):
    if registered:
        _missing_file_model()
    token = token_for(users["worker"])
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()}, token=token, language="en")
    assert answer.status == 200 and not answer.errors
    payload = answer.data["suggestEventCategories"]
    assert [e["code"] for e in payload["errors"]] == ["detectors_unavailable"]
    assert "no detector is installed" in payload["errors"][0]["message"]
    assert payload["suggestions"] == [] and payload["objects"] == []
    chinese = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()}, token=token, language="zh-hans")
    assert "检测模型" in chinese.data["suggestEventCategories"]["errors"][0]["message"]


def test_with_the_detectors_installed_the_same_photo_gets_suggestions(gql, users, token_for, event_categories,
                                                                       detectors, settings):
    settings.VISION_SUGGEST_WAIT_SECONDS = 60  # the models load in this request: no ticket
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()}, token=token_for(users["worker"]))
    payload = answer.data["suggestEventCategories"]
    assert payload["errors"] == [] and "05-08" in [s["category"]["code"] for s in payload["suggestions"]]


def test_healthz_names_what_is_missing(model_files):
    from vision.registry import offline_models_register

    client = Client()
    _missing_file_model()
    body = client.get("/healthz").json()
    detectors = body["checks"]["detectors"]
    assert detectors["ok"] is False and body["status"] == "degraded"
    assert detectors["models"] == []
    assert detectors["missing_files"] == [f"person v1 (pt): {DetectorModel.objects.get().path}"]
    assert "install_models" in detectors["error"]

    DetectorModel.objects.all().delete()
    offline_models_register()
    response = client.get("/healthz")
    detectors = response.json()["checks"]["detectors"]
    assert detectors["ok"] is True and detectors["models"] == ["person v1", "vehicle v1"], detectors
    assert detectors["missing_files"] == []
    assert "garbage" in detectors["unserved_classes"]  # what the offline models cannot see, told, not a fault
    if all(check["ok"] for name, check in response.json()["checks"].items() if name != "detectors"):
        assert response.status_code == 200


def test_a_warning_at_start(model_files, caplog):
    from django.core.management import call_command

    from vision.checks import detectors_check
    from vision.detector import detectors_preload
    from vision.registry import offline_models_register

    [warning] = detectors_check()
    assert warning.id == "vision.W001" and "no detector is installed" in warning.msg
    assert "install_models" in warning.hint
    with caplog.at_level(logging.WARNING):
        detectors_preload()  # what a server started with VISION_PRELOAD (make run, production) does first
    assert any("The AI is off: no detector is installed" in r.getMessage() for r in caplog.records)

    offline_models_register()
    assert detectors_check() == []
    call_command("check")  # passes quietly (a warning would be printed, an error raised)


def test_a_worker_warns_when_it_starts(caplog):
    from celery.signals import worker_ready

    with caplog.at_level(logging.WARNING):
        worker_ready.send(sender=None)
    assert any("The AI is off" in r.getMessage() for r in caplog.records)


@pytest.fixture
def flow_camera(camera_record):
    camera = Camera.objects.create(record=camera_record, source_kind=SourceKind.FILE, source=str(BUS))
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.PEOPLE_FLOW, params={"interval_seconds": 60})
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD, params={"min_people": 3, "min_hits": 1,
                                                                                "min_seconds": 0})
    return camera


def _process(camera, at):
    with Image.open(BUS) as image:
        return snapshots_process([Picture(camera=camera, taken_at=at, image=image.convert("RGB"))])


def test_a_camera_without_its_detector_records_no_flow_figures(flow_camera, event_categories, caplog):
    with caplog.at_level(logging.WARNING):
        outcomes = _process(flow_camera, AT) + _process(flow_camera, AT + timedelta(minutes=1))
    assert not any(outcome.failed or outcome.started for outcome in outcomes)
    assert FlowSample.objects.count() == 0  # not an interval of "nobody there"
    assert all(rule.state == {} for rule in flow_camera.rules.all())
    assert set(Snapshot.objects.values_list("models_used", flat=True)) == {""}  # taken; no detector looked
    assert any("people_flow rules are skipped" in r.getMessage() and "person" in r.getMessage()
               for r in caplog.records)


def test_with_its_detector_the_same_camera_counts_people(flow_camera, event_categories, detectors):
    _process(flow_camera, AT)
    _process(flow_camera, AT + timedelta(minutes=1))
    assert [count for count, in FlowSample.objects.values_list("count")] == [4]
