"""Backends: a model exported to ONNX and OpenVINO offline, registered as the same version, and each worker
running whichever format is fastest on its machine (or the one settings name)."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from tests.vision.conftest import BUS
from vision import backends
from vision.backends import backend_choose, model_export
from vision.detector import detector_for
from vision.models import DetectorModel, ModelFormat
from vision.registry import serving_models

pytestmark = pytest.mark.django_db


@pytest.fixture
def vehicle(model_files, settings, tmp_path, monkeypatch):
    """The vehicle model registered from a private model folder (exports are written beside it)."""
    from vision.registry import offline_models_register

    for path in model_files:
        if path.is_dir():  # the plate reader: a folder of its own
            shutil.copytree(path, tmp_path / path.name)
            continue
        (tmp_path / path.parent.name).mkdir()
        shutil.copyfile(path, tmp_path / path.parent.name / path.name)
    settings.VISION_MODEL_DIR = tmp_path
    monkeypatch.setattr(backends, "_chosen", {})
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # OpenVINO's telemetry consent file goes here
    (tmp_path / "home").mkdir()
    return {m.name: m for m in offline_models_register()}["vehicle"]


def test_exports_register_the_same_version_in_each_format_and_the_fastest_runs(vehicle, settings, tmp_path):
    onnx = model_export(vehicle, ModelFormat.ONNX)
    openvino = model_export(vehicle, ModelFormat.OPENVINO)
    assert (onnx.name, onnx.version, onnx.class_map) == (vehicle.name, vehicle.version, vehicle.class_map)
    assert onnx.path.suffix == ".onnx" and openvino.path.is_dir()
    # Exporting to OpenVINO declined its telemetry, as `opt_in_out --opt_out` would.
    assert (tmp_path / "home" / "intel" / "openvino_telemetry").read_text() == "0"
    assert model_export(vehicle, ModelFormat.ONNX) == onnx  # idempotent
    # The version is named by its .pt; serving it does not multiply it.
    assert serving_models(["bus"])["bus"] == vehicle

    chosen = backend_choose(vehicle)
    timings = {label: ms for label, ms in backends.backend_timings.items() if label.startswith("vehicle v1")}
    assert set(timings) == {"vehicle v1 (pt)", "vehicle v1 (onnx)", "vehicle v1 (openvino)"}
    assert timings[chosen.label] == min(timings.values())
    assert backend_choose(vehicle) is chosen  # timed once per process

    with Image.open(BUS) as image:
        picture = image.convert("RGB")
    for format in (ModelFormat.TORCH, ModelFormat.ONNX, ModelFormat.OPENVINO):
        backends._chosen.clear()
        settings.VISION_BACKEND = format
        detector = detector_for(vehicle)
        assert detector.name == f"vehicle v1 ({format})"
        [found] = detector.detect([picture], confidence=0.25)
        assert "bus" in {d.label for d in found}, (format, found)


def test_only_a_pt_model_exports(vehicle):
    onnx = model_export(vehicle, ModelFormat.ONNX)
    with pytest.raises(ValueError):
        model_export(onnx, ModelFormat.OPENVINO)
    with pytest.raises(ValueError):
        model_export(vehicle, "tflite")
    assert DetectorModel.objects.filter(name="vehicle").count() == 2


def test_an_operators_telemetry_decision_stays(vehicle, tmp_path):
    consent = tmp_path / "home" / "intel" / "openvino_telemetry"
    consent.parent.mkdir()
    consent.write_text("1")
    assert backends.openvino_telemetry_declined() is False
    assert consent.read_text() == "1"
    consent.write_text("")  # no decision on file: declined
    assert backends.openvino_telemetry_declined() is True
    assert consent.read_text() == "0"
