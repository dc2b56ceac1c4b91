"""Every list is paged: a default page when the client asks no size, never more than the maximum."""

from __future__ import annotations

import pytest
from strawberry.types.base import get_object_definition

from api.paging import CursorConnection, ListConnection
from api.schema import schema
from core.services import notification_send
from gridapp.geography.models import BaseRecord, RecordKind


def _connection_fields():
    query = schema.schema_converter.type_map["Query"].definition
    for field in query.fields:
        definition = get_object_definition(field.type, strict=False) if not hasattr(field.type, "of_type") else None
        origin = getattr(definition, "origin", None)
        if origin is not None and "edges" in {f.name for f in definition.fields}:
            yield field.name, origin


@pytest.mark.parametrize("name,origin", list(_connection_fields()))
def test_every_connection_checks_its_page_and_defaults_its_size(name, origin):
    assert issubclass(origin, ListConnection | CursorConnection), name


def test_the_generated_list_of_connections_is_not_empty():
    assert {"events", "my_tasks", "records", "cameras", "notifications"} <= {name for name, _ in _connection_fields()}


def test_a_list_asked_without_a_size_is_one_default_page(gql, users, token_for, district, settings):
    settings.GRAPHQL = {**settings.GRAPHQL, "DEFAULT_PAGE_SIZE": 5}
    for n in range(7):
        notification_send(recipient=users["worker"], title=f"n{n}")
        BaseRecord.objects.create(kind=RecordKind.SMALL_SHOP, external_id=f"S{n}", name=f"店{n}", lng=120.31,
                                  lat=36.01, grid=district.grid)
    token = token_for(users["worker"])
    inbox = gql("{ notifications { edges { node { title } } pageInfo { hasNextPage endCursor } } }", token=token)
    assert inbox.errors == [] and len(inbox.data["notifications"]["edges"]) == 5
    assert inbox.data["notifications"]["pageInfo"]["hasNextPage"] is True
    rest = gql("query($a: String) { notifications(after: $a) { edges { node { title } } } }",
               {"a": inbox.data["notifications"]["pageInfo"]["endCursor"]}, token=token)
    assert len(rest.data["notifications"]["edges"]) == 2
    records = gql("{ records { edges { node { name } } pageInfo { hasNextPage } } }", token=token)
    assert records.errors == [] and len(records.data["records"]["edges"]) == 5
    assert records.data["records"]["pageInfo"]["hasNextPage"] is True
    tail = gql("{ records(last: 3) { edges { node { name } } } }", token=token)
    assert len(tail.data["records"]["edges"]) == 3


def test_a_page_larger_than_the_maximum_is_a_coded_error(gql, users, token_for, district):
    answer = gql("{ records(first: 5000) { edges { node { name } } } }", token=token_for(users["worker"]))
    assert answer.error_codes == ["invalid_page_size"]
