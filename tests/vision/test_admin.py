"""The vision admin: its pages open for an administrator, and a camera's page says which model serves which
of its algorithms and what no installed model can see."""

from __future__ import annotations

import pytest

from tests.vision.conftest import BUS
from vision.models import Camera, CameraRule, SourceKind
from vision.rules import Algorithm

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.mark.parametrize("model", ["detectormodel", "camera", "situation", "snapshot", "photobox"])
def test_vision_changelists_open_for_an_administrator(client, users, model):
    client.force_login(users["admin"])
    assert client.get(f"/admin/vision/{model}/").status_code == 200
    client.force_login(users["worker"])
    assert client.get(f"/admin/vision/{model}/").status_code == 302  # not staff: to the login page


def test_a_camera_page_shows_its_algorithms_readiness(client, users, camera_record, detectors):
    camera = Camera.objects.create(record=camera_record, source_kind=SourceKind.FILE, source=str(BUS))
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD)
    CameraRule.objects.create(camera=camera, algorithm=Algorithm.PILED_GARBAGE)
    client.force_login(users["admin"])
    page = client.get(f"/admin/vision/camera/{camera.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "crowd: person v1" in page
    assert "piled_garbage: no model detects garbage" in page
