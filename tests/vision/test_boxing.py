"""Staff box objects on incident photos over the API: who may, what a box must be, who sees the photo."""

from __future__ import annotations

import pytest
from strawberry import relay

from gridapp.incidents.services import event_report
from tests.factories import jpeg_bytes
from vision.models import PhotoBox

pytestmark = pytest.mark.django_db

BOX = """mutation($input: PhotoBoxesInput!) { boxEventPhoto(input: $input) {
  errors { code field } photo { id boxes { label box } }
} }"""
NODE = "query($id: ID!) { node(id: $id) { ... on EventPhoto { stage boxes { label } } } }"


@pytest.fixture
def photo_id(users, event_categories):
    """A photo of a business-outside-the-shop report (urban's department) in worker's grid."""
    event = event_report(reporter=users["worker"], category_code="05-02", lng=120.31, lat=36.01,
                         photos=[jpeg_bytes()]).event
    return str(relay.GlobalID("EventPhoto", str(event.photos.get().pk)))


def _box(gql, token, photo_id, boxes):
    answer = gql(BOX, {"input": {"photoId": photo_id, "boxes": boxes}}, token=token)
    assert not answer.errors, answer.errors
    return answer.data["boxEventPhoto"]


def test_the_handling_department_boxes_a_photo_and_a_second_call_replaces_the_boxes(
        gql, users, token_for, photo_id):
    token = token_for(users["urban"])
    done = _box(gql, token, photo_id, [{"label": "stall", "box": [0.1, 0.2, 0.5, 0.9]},
                                       {"label": "umbrella", "box": [0.6, 0.1, 0.9, 0.5]}])
    assert done["errors"] == [] and [b["label"] for b in done["photo"]["boxes"]] == ["stall", "umbrella"]
    assert _box(gql, token, photo_id, [{"label": "table", "box": [0, 0, 1, 1]}])["photo"]["boxes"] == [
        {"label": "table", "box": [0.0, 0.0, 1.0, 1.0]}]
    assert list(PhotoBox.objects.values_list("label", "boxed_by__username")) == [("table", "urban")]
    assert _box(gql, token_for(users["operator"]), photo_id, [])["errors"] == []  # the command centre clears them
    assert not PhotoBox.objects.exists()


def test_others_may_not_box_and_those_who_cannot_see_the_photo_are_told_it_does_not_exist(
        gql, users, token_for, photo_id):
    boxes = [{"label": "stall", "box": [0.1, 0.2, 0.5, 0.9]}]
    assert [e["code"] for e in _box(gql, token_for(users["worker"]), photo_id, boxes)["errors"]] == [
        "permission_denied"]  # the reporter sees it but does not label training data
    assert [e["code"] for e in _box(gql, token_for(users["worker2"]), photo_id, boxes)["errors"]] == ["not_found"]
    assert not PhotoBox.objects.exists()
    seen = gql(NODE, {"id": photo_id}, token=token_for(users["worker"])).data["node"]
    assert seen == {"stage": "REPORT", "boxes": []}
    assert gql(NODE, {"id": photo_id}, token=token_for(users["worker2"])).data["node"] is None


@pytest.mark.parametrize(("boxes", "code"), [
    ([{"label": "stall", "box": [0.5, 0.2, 0.1, 0.9]}], "invalid_box"),  # right edge left of the left one
    ([{"label": "stall", "box": [0.1, 0.2, 1.5, 0.9]}], "invalid_box"),
    ([{"label": "stall", "box": [0.1, 0.2, 0.5]}], "invalid_box"),
    ([{"label": "dragon", "box": [0.1, 0.2, 0.5, 0.9]}], "unknown_object"),
    ([{"label": "stall", "box": [0.1, 0.2, 0.5, 0.9]}] * 101, "too_many_boxes"),
])
def test_a_bad_box_gets_a_typed_error_and_changes_nothing(gql, users, token_for, photo_id, boxes, code):
    token = token_for(users["urban"])
    _box(gql, token, photo_id, [{"label": "stall", "box": [0.1, 0.2, 0.5, 0.9]}])
    assert [e["code"] for e in _box(gql, token, photo_id, boxes)["errors"]] == [code]
    assert list(PhotoBox.objects.values_list("label", flat=True)) == ["stall"]
