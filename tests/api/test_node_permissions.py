"""Who may see what, generated from the schema: every node type by `node(id:)`, and every object field of every
mutation payload, against every role of the ``users`` fixture.

Each node type has a case in ``tests/api/cases.py`` (an object and the roles that may see it); a node type the
schema gains without one fails here, by name.  A payload field that holds a node type must never carry an object
its viewer may not see (``api.restrict.Payload`` re-reads it); a payload field that holds a plain object must not
reach a restricted node type through it (the re-read sees only the model objects a payload holds itself).
"""

from __future__ import annotations

import dataclasses

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type
from strawberry.relay import to_base64

from api.restrict import Public
from api.schema import schema
from core.actor import acting_as
from core.services import notification_send
from tests.api.cases import EVERYONE, NODE_CASES, ROLES, World, node_types, payload_types, returns_node

NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.fixture
def world(users, district, event_categories) -> World:
    return World(users=users, district=district)


def test_every_node_type_has_a_case_and_every_case_a_node_type():
    types = set(node_types())
    missing, stale = sorted(types - set(NODE_CASES)), sorted(set(NODE_CASES) - types)
    assert not missing, f"node types without a case: add them to NODE_CASES in tests/api/cases.py: {missing}"
    assert not stale, f"cases of types the schema no longer has: {stale}"
    for name, case in NODE_CASES.items():
        assert case.sees <= EVERYONE, (name, case.sees - EVERYONE)


@pytest.mark.parametrize("type_name", sorted(node_types()))
def test_a_node_is_seen_by_exactly_the_roles_its_case_names(gql, users, token_for, world, type_name):
    assert type_name in NODE_CASES, f"no case for the node type {type_name} in tests/api/cases.py"
    global_id = to_base64(type_name, world.object(type_name).pk)
    answers = {role: gql(NODE, {"id": global_id}, token=token_for(users[role])) for role in ROLES}
    for role, answer in answers.items():
        assert answer.errors == [] and answer.data["node"] in (None, {"id": global_id}), (role, answer.body)
    seen = {role for role, answer in answers.items() if answer.data["node"] is not None}
    case = NODE_CASES[type_name]
    assert seen == case.sees, f"{type_name}: seen but should not: {sorted(seen - case.sees)}; " \
                              f"not seen but should: {sorted(case.sees - seen)}"
    anonymous = gql(NODE, {"id": global_id})
    assert anonymous.data == {"node": None} and anonymous.error_codes == ["unauthenticated"]


def _payload_object_fields():
    for mutation, payload in sorted(payload_types().items()):
        for name, graphql_field in payload.fields.items():
            if isinstance(get_named_type(graphql_field.type), GraphQLObjectType):
                yield pytest.param(mutation, payload.name, name, id=f"{mutation}.{name}")


def _strawberry_field(payload_class, graphql_name: str):
    for item in payload_class.__strawberry_definition__.fields:
        if schema.config.name_converter.from_field(item) == graphql_name:
            return item
    raise LookupError(graphql_name)


def _restricted_types_reached(graphql_type, seen=None) -> set[str]:
    """The node types not declared ``Public`` that a plain (non-node) object type leads to."""
    seen = set() if seen is None else seen
    found = set()
    for graphql_field in graphql_type.fields.values():
        target = get_named_type(graphql_field.type)
        if not isinstance(target, GraphQLObjectType) or target.name in seen:
            continue
        seen.add(target.name)
        if returns_node(target):
            if not issubclass(node_types()[target.name], Public):
                found.add(target.name)
        else:
            found |= _restricted_types_reached(target, seen)
    return found


@pytest.mark.parametrize("mutation,payload_name,field_name", list(_payload_object_fields()))
def test_a_payload_field_never_carries_an_object_its_viewer_may_not_see(users, world, mutation, payload_name,
                                                                      field_name):
    graphql_field = schema._schema.type_map[payload_name].fields[field_name]
    target = get_named_type(graphql_field.type)
    if not returns_node(target):
        reached = _restricted_types_reached(target)
        assert not reached, (f"{payload_name}.{field_name} ({target.name}) reaches restricted node types "
                             f"{sorted(reached)} through a plain object, which Payload does not re-read")
        return
    assert target.name in NODE_CASES, f"no case for the node type {target.name} in tests/api/cases.py"
    payload_class = schema._schema.type_map[payload_name].extensions["strawberry-definition"].origin
    python_field = _strawberry_field(payload_class, field_name)
    assert python_field.base_resolver is None, \
        f"{payload_name}.{field_name} has a resolver: Payload re-reads only the values a payload is built with"
    inner = graphql_field.type.of_type if isinstance(graphql_field.type, GraphQLNonNull) else graphql_field.type
    made = world.object(target.name)
    value = [made] if isinstance(inner, GraphQLList) else made
    required = {item.name: [] for item in dataclasses.fields(payload_class)
                if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING}

    def built(user):
        with acting_as(user):
            payload = payload_class(**{**required, python_field.python_name: value})
        return getattr(payload, python_field.python_name)

    carried = {role for role in ROLES if built(users[role]) == value}
    assert carried == NODE_CASES[target.name].sees, (
        f"{payload_name}.{field_name} carries a {target.name} to {sorted(carried)}; "
        f"its case says {sorted(NODE_CASES[target.name].sees)}")
    assert built(None) in (None, []), "a payload built with no acting viewer carries nothing"


def test_node_needs_a_token(gql, users):
    response = gql(NODE, {"id": to_base64("User", users["worker"].pk)})
    assert response.data == {"node": None} and response.error_codes == ["unauthenticated"]


def test_a_malformed_global_id_is_an_error_not_a_crash(gql, users, token_for):
    response = gql(NODE, {"id": "not-base64!"}, token=token_for(users["operator"]))
    assert response.status == 200 and response.data == {"node": None}
    assert response.error_codes == ["invalid_id"]


def test_marking_someone_elses_notification_read_is_not_found(gql, users, world, token_for):
    mutation = "mutation($id: ID!) { markNotificationRead(id: $id) { errors { code field } notification { readAt } } }"
    global_id = to_base64("Notification", world.object("Notification").pk)
    other = gql(mutation, {"id": global_id}, token=token_for(users["worker2"])).data["markNotificationRead"]
    assert other == {"errors": [{"code": "not_found", "field": None}], "notification": None}
    own = gql(mutation, {"id": global_id}, token=token_for(users["worker"])).data["markNotificationRead"]
    assert own["errors"] == [] and own["notification"]["readAt"].endswith("+08:00")


def test_notifications_list_only_the_viewers_inbox(gql, users, world, token_for):
    world.object("Notification")
    notification_send(recipient=users["worker2"], title="给worker2")
    query = "{ notifications(first: 10) { edges { node { title } } } }"
    titles = [e["node"]["title"] for e in gql(query, token=token_for(users["worker"])).data["notifications"]["edges"]]
    assert titles == ["只给worker"]
