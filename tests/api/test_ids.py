"""One global-id decoder (``api.base.ids``) behind every id the API takes: node, filters, inputs, subscriptions,
the exports' query strings."""

from __future__ import annotations

import pathlib
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from strawberry import relay
from strawberry.relay import to_base64

from api.base.ids import InvalidId, input_pk, node_pk, node_pk_or_none
from core.services import notification_send

API = pathlib.Path(__file__).resolve().parents[2] / "api"


@pytest.mark.parametrize("value,type_name,pk", [
    (relay.GlobalID("Grid", "12"), "Grid", 12),
    (to_base64("Grid", 12), "Grid", 12),
    (relay.GlobalID("Event", "7"), None, 7),
    (to_base64("Camera", "000123456789012345"), "Camera", 123456789012345),
])
def test_an_id_of_the_expected_type_is_its_primary_key(value, type_name, pk):
    assert node_pk(value, type_name) == pk
    assert node_pk_or_none(value, type_name) == pk


@pytest.mark.parametrize("value,type_name", [
    (relay.GlobalID("Street", "12"), "Grid"),  # another type's id
    (relay.GlobalID("Grid", "x"), "Grid"),
    (relay.GlobalID("Grid", "²"), None),  # a digit to str.isdigit, not to int
    (relay.GlobalID("Grid", "-1"), "Grid"),
    (relay.GlobalID("Grid", "1" + "0" * 18), "Grid"),  # more than a 64-bit key
    ("!!!", "Grid"),  # text that is no global id
    (to_base64("no colon", "")[:-4], None),
    ("", "Camera"),
])
def test_an_id_that_cannot_name_a_row_of_the_type_is_invalid_id(value, type_name):
    with pytest.raises(InvalidId) as refused:
        node_pk(value, type_name)
    assert refused.value.extensions == {"code": "invalid_id"}
    assert node_pk_or_none(value, type_name) is None


def test_a_mutation_input_id_is_not_found_on_its_field():
    assert input_pk(relay.GlobalID("Event", "3"), "Event", field="eventId", message="Event not found.") == 3
    with pytest.raises(ValidationError) as refused:
        input_pk(relay.GlobalID("Grid", "3"), "Event", field="eventId", message="Event not found.")
    assert [(field, [e.code for e in errors]) for field, errors in refused.value.error_dict.items()] == [
        ("eventId", ["not_found"])]


def test_no_api_module_reads_a_global_id_by_hand():
    """Reading ``type_name`` or ``node_id`` of a client's id, or decoding one, happens in api/base/ids.py only
    (api/fields.py builds ids: its ``type_name`` is a field's)."""
    by_hand = re.compile(r"\.type_name\b|\.node_id\b|GlobalID\.from_id|from_base64|\bis_pk\(")
    allowed = {API / "base" / "ids.py", API / "fields.py"}
    offenders = [f"{path.relative_to(API.parent)}:{number}"
                 for path in sorted(API.rglob("*.py")) if path not in allowed
                 for number, line in enumerate(path.read_text().splitlines(), 1) if by_hand.search(line)]
    assert offenders == []


NODE = "query($id: ID!) { node(id: $id) { id } }"


def test_each_way_in_refuses_a_wrong_id_as_before(gql, users, token_for, district):
    token = token_for(users["operator"])
    street = to_base64("Street", district.street.pk)
    # node(id:) takes any type; an id whose key is no primary key is invalid_id
    assert gql(NODE, {"id": street}, token=token).data == {"node": {"id": street}}
    assert gql(NODE, {"id": to_base64("Street", "x")}, token=token).error_codes == ["invalid_id"]
    # a list filter names one type
    events = gql("query($g: ID!) { events(filter: {gridId: $g}) { edges { node { id } } } }", {"g": street},
                 token=token)
    assert events.error_codes == ["invalid_id"]
    assert "Grid" in events.errors[0]["message"]
    # a mutation input: the typed error not_found on the field
    notice = gql('mutation($g: ID!) { postGridNotice(input: {gridId: $g, title: "t"}) { errors { code field } } }',
                 {"g": street}, token=token)
    assert notice.data["postGridNotice"]["errors"] == [{"code": "not_found", "field": "gridId"}]
    own = notification_send(recipient=users["operator"], title="t2")
    wrong_type = gql("mutation($id: ID!) { markNotificationRead(id: $id) { errors { code field } } }",
                     {"id": to_base64("Grid", own.pk)}, token=token)
    assert wrong_type.data["markNotificationRead"]["errors"] == [{"code": "not_found", "field": "id"}]


def test_the_exports_read_ids_with_the_same_decoder(users, token_for, district):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(users['operator'])}"}
    street = to_base64("Street", district.street.pk)
    ok = Client().get(f"/exports/event-statistics.csv?groupBy=street&streetId={street}", **headers)
    assert ok.status_code == 200
    for bogus in ("bogus", "U3RyZWV0", to_base64("Grid", district.street.pk)):  # U3RyZWV0: "Street", no key
        refused = Client().get(f"/exports/event-statistics.csv?groupBy=street&streetId={bogus}", **headers)
        assert refused.status_code == 400 and refused.json()["errors"][0]["extensions"]["code"] == "invalid_filter"
    for camera in ("", "bogus", street):
        missing = Client().get(f"/exports/camera-flow.png?camera={camera}", **headers)
        assert missing.status_code == 404 and missing.json()["errors"][0]["extensions"]["code"] == "not_found"
