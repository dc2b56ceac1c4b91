"""`node(id:)` for every type: a viewer who may not see an object gets null, one who may gets it."""

from __future__ import annotations

import pytest
from strawberry.relay import to_base64

from core.models import AuditEntry
from core.services import notification_send
from gridapp.geography.models import GridNotice

NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.fixture
def objects(users, district):
    return {
        "User": users["worker"].pk,
        "Notification": notification_send(recipient=users["worker"], title="只给worker").pk,
        "GridNotice": GridNotice.objects.create(grid=district.grid, author=users["operator"], title="网格通知").pk,
        "AuditEntry": AuditEntry.objects.create(action="x", result="ok").pk,
    }


CASES = [
    # type, may see, may not see
    ("User", ["worker", "operator", "admin", "auditor"], ["worker2", "urban", "citizen", "parkop"]),
    ("Notification", ["worker"], ["worker2", "operator", "admin", "citizen"]),
    ("GridNotice", ["worker", "operator", "urban"], ["worker2", "citizen", "business", "employee", "parkop"]),
    ("AuditEntry", ["auditor", "admin"], ["operator", "worker", "urban", "citizen"]),
]


@pytest.mark.parametrize("type_name,allowed,denied", CASES)
def test_node_is_null_for_those_who_may_not_see_it(gql, users, objects, token_for, type_name, allowed, denied):
    global_id = to_base64(type_name, objects[type_name])
    for username in allowed:
        response = gql(NODE, {"id": global_id}, token=token_for(users[username]))
        assert response.data["node"] == {"id": global_id}, (username, response.body)
    for username in denied:
        response = gql(NODE, {"id": global_id}, token=token_for(users[username]))
        assert response.data["node"] is None, (username, response.body)


def test_node_needs_a_token(gql, objects):
    response = gql(NODE, {"id": to_base64("User", objects["User"])})
    assert response.data == {"node": None} and response.error_codes == ["unauthenticated"]


def test_a_malformed_global_id_is_an_error_not_a_crash(gql, users, token_for):
    response = gql(NODE, {"id": "not-base64!"}, token=token_for(users["operator"]))
    assert response.status == 200 and response.data == {"node": None}
    assert response.error_codes == ["invalid_id"]


def test_marking_someone_elses_notification_read_is_not_found(gql, users, objects, token_for):
    mutation = "mutation($id: ID!) { markNotificationRead(id: $id) { errors { code field } notification { readAt } } }"
    global_id = to_base64("Notification", objects["Notification"])
    other = gql(mutation, {"id": global_id}, token=token_for(users["worker2"])).data["markNotificationRead"]
    assert other == {"errors": [{"code": "not_found", "field": None}], "notification": None}
    own = gql(mutation, {"id": global_id}, token=token_for(users["worker"])).data["markNotificationRead"]
    assert own["errors"] == [] and own["notification"]["readAt"].endswith("+08:00")


def test_notifications_list_only_the_viewers_inbox(gql, users, objects, token_for):
    notification_send(recipient=users["worker2"], title="给worker2")
    query = "{ notifications(first: 10) { edges { node { title } } } }"
    titles = [e["node"]["title"] for e in gql(query, token=token_for(users["worker"])).data["notifications"]["edges"]]
    assert titles == ["只给worker"]
