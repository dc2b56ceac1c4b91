"""Every object that leaves the API passes the viewer's restriction: nodes, relations, payloads, the feed.

The first tests are generated over the schema, so a new node type or payload that skips the rule fails here;
the others reproduce what reached the wrong person before.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from strawberry.relay import to_base64

from accounts.models import Role
from api.restrict import RULES, Payload, Public, Restricted, reread, visible
from core.actor import acting_as
from core.services import notification_send
from gridapp.incidents.models import Event
from gridapp.incidents.services import event_report, event_transition
from tests.api.cases import node_types, payload_types
from tests.gridapp.test_event_intake import SPOT
from vision.models import Algorithm, Camera, CameraRule, Situation, SourceKind

NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.mark.parametrize("type_name,origin", list(node_types().items()))
def test_every_node_type_is_restricted_by_its_models_rule_or_declared_public(type_name, origin):
    assert issubclass(origin, Restricted | Public), f"{type_name} derives from neither Restricted nor Public"
    if issubclass(origin, Restricted):
        model = origin.__strawberry_django_definition__.model
        visible(model, None)  # raises LookupError without a rule
        assert "get_queryset" not in vars(origin), f"{type_name} filters by hand instead of through its rule"


@pytest.mark.parametrize("mutation,payload",
                         [(name, graphql_type.extensions["strawberry-definition"].origin)
                          for name, graphql_type in payload_types().items()])
def test_every_mutation_payload_rereads_what_it_carries(mutation, payload):
    assert issubclass(payload, Payload), f"{mutation} returns {payload.__name__}, which is not a Payload"


def test_a_payload_built_with_an_object_the_viewer_may_not_see_carries_nothing(users, district, event_categories):
    from api.incidents.mutations import EventReportPayload

    case = event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    with acting_as(users["business"]):
        payload = EventReportPayload(errors=[], event=case, duplicate_of=case)
    assert payload.event is None and payload.duplicate_of is None
    payload = EventReportPayload(errors=[], event=case)  # no acting viewer at all: nothing
    assert payload.event is None
    with acting_as(users["citizen"]):
        assert EventReportPayload(errors=[], event=case).event.pk == case.pk
    assert reread([case], users["business"]) == [] and reread([case], users["citizen"]) == [case]


REPORT = """mutation($input: EventReportInput!) { reportEvent(input: $input) {
  errors { code } replayed
  event { caseNumber status duplicateOf { caseNumber description reporter { username } history { actor note } }
          joinedCase { caseNumber status statusLabel resolvedAt closedAt } }
  duplicateOf { caseNumber description reporter { username } }
} }"""


def test_a_report_joined_to_someone_elses_case_shows_its_progress_not_its_private_details(
        gql, users, token_for, district, event_categories):
    """`business` reports 02-05 next to a citizen's open case: before, `duplicateOf` returned the citizen's
    case whole (reporter, note with a phone number, history)."""
    case = event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1],
                        description="占道经营，联系我 13800138000").event
    answer = gql(REPORT, {"input": {"categoryCode": "02-05", "lng": SPOT[0], "lat": SPOT[1]}},
                 token=token_for(users["business"]))
    assert answer.errors == [], answer.errors
    payload = answer.data["reportEvent"]
    assert payload["duplicateOf"] is None
    assert payload["event"]["status"] == "DUPLICATE" and payload["event"]["duplicateOf"] is None
    assert payload["event"]["joinedCase"] == {"caseNumber": case.case_number, "status": "REPORTED",
                                              "statusLabel": "已上报", "resolvedAt": None, "closedAt": None}
    assert "13800138000" not in str(answer.body)
    # The case's own handlers still see the link whole.
    mine = gql("query($id: ID!) { node(id: $id) { ... on Event { duplicateOf { caseNumber } } } }",
               {"id": to_base64("Event", Event.objects.get(duplicate_of=case).pk)}, token=token_for(users["worker"]))
    assert mine.data["node"]["duplicateOf"] == {"caseNumber": case.case_number}


def test_a_citizen_whose_report_joined_a_case_finds_it_in_their_list(gql, users, token_for, district,
                                                                      event_categories):
    event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1])
    mine = event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    answer = gql("{ events(first: 10) { edges { node { id status joinedCase { status } } } } }",
                 token=token_for(users["citizen"]))
    assert [edge["node"]["id"] for edge in answer.data["events"]["edges"]] == [to_base64("Event", mine.pk)]
    assert answer.data["events"]["edges"][0]["node"]["joinedCase"] == {"status": "REPORTED"}


HISTORY = """query($id: ID!) { node(id: $id) { ... on Event {
  reporter { username displayName } assignee { username displayName } history { actor action } } } }"""


def test_a_citizen_sees_no_other_persons_name_in_their_own_case(gql, users, token_for, district, event_categories):
    case = event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    event_transition(actor=users["urban"], event_id=case.pk, action="accept")
    event_transition(actor=users["urban"], event_id=case.pk, action="dispatch", assignee=users["worker"])
    citizen = gql(HISTORY, {"id": to_base64("Event", case.pk)}, token=token_for(users["citizen"])).data["node"]
    assert citizen["reporter"]["username"] == "citizen"  # themselves
    assert citizen["assignee"]["username"] is None
    assert citizen["assignee"]["displayName"] == "网格员"  # the role, not the person
    actors = [entry["actor"] for entry in citizen["history"]]
    assert "(citizen)" in actors[0] and "urban" not in str(actors).lower() and "worker" not in str(citizen)
    staff = gql(HISTORY, {"id": to_base64("Event", case.pk)}, token=token_for(users["urban"])).data["node"]
    assert staff["assignee"]["username"] == "worker" and "Urban (urban)" in [e["actor"] for e in staff["history"]]


@pytest.fixture
def situation(district, users, event_categories):
    from gridapp.geography.models import BaseRecord, RecordKind

    record = BaseRecord.objects.create(kind=RecordKind.CAMERA, external_id="CAM-R1", name="路口", lng=SPOT[0],
                                       lat=SPOT[1], grid=district.grid)
    camera = Camera.objects.create(record=record, source_kind=SourceKind.FILE, source="bus.jpg")
    rule = CameraRule.objects.create(camera=camera, algorithm=Algorithm.CROWD)
    return Situation.objects.create(rule=rule, camera=camera, started_at=timezone.now(),
                                    last_seen_at=timezone.now(), peak=4)


def test_a_situation_is_visible_only_to_those_who_see_its_camera(gql, users, token_for, situation):
    """`node(id:)` of a Situation answered any signed-in user."""
    global_id = to_base64("Situation", situation.pk)
    for who in ("worker", "operator", "admin", "auditor"):
        assert gql(NODE, {"id": global_id}, token=token_for(users[who])).data["node"] == {"id": global_id}, who
    for who in ("worker2", "citizen", "business", "employee", "parkop"):
        assert gql(NODE, {"id": global_id}, token=token_for(users[who])).data["node"] is None, who


POST = 'mutation($g: ID!) { postGridNotice(input: {gridId: $g, title: "通知"}) { errors { code } notice { id } } }'


def test_the_auditor_reads_the_whole_district_but_writes_nothing(gql, users, token_for, district):
    answer = gql(POST, {"g": to_base64("Grid", district.grid.pk)}, token=token_for(users["auditor"]))
    assert answer.data["postGridNotice"]["errors"] == [{"code": "permission_denied"}]
    assert answer.data["postGridNotice"]["notice"] is None
    assert users["auditor"].sees_whole_district and not users["auditor"].commands_district
    ok = gql(POST, {"g": to_base64("Grid", district.grid.pk)}, token=token_for(users["operator"]))
    assert ok.data["postGridNotice"]["errors"] == []


CHANGES = "{ changes(first: 50) { changes { kind objectType } } }"


def test_a_demoted_user_no_longer_receives_their_old_departments_changes(gql, users, token_for, district,
                                                                        event_categories):
    urban = users["urban"]
    event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1])
    token = token_for(urban)
    assert any(c["objectType"] == "gridapp.event" for c in gql(CHANGES, token=token).data["changes"]["changes"])
    urban.role = Role.CITIZEN  # demoted; the department column is left as it was
    urban.save(update_fields=["role"])
    assert gql(CHANGES, token=token).data["changes"]["changes"] == []


def test_the_command_centre_feed_lists_no_other_persons_notifications(gql, users, token_for, district):
    notification_send(recipient=users["worker"], title="私信")
    own = notification_send(recipient=users["operator"], title="给操作员")
    changes = gql("{ changes(first: 50) { changes { kind objectId } } }",
                  token=token_for(users["operator"])).data["changes"]["changes"]
    assert changes == [{"kind": "notification.created", "objectId": str(own.pk)}]  # their own only


def test_every_rule_is_for_a_model_a_node_type_serves():
    served = {origin.__strawberry_django_definition__.model for origin in node_types().values()}
    assert set(RULES) <= served


def test_a_reopened_case_waits_for_a_new_dispatch_and_its_history_names_no_internal_ids(
        gql, users, token_for, district, event_categories, supervisors):
    from tests.factories import jpeg_bytes

    case = event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    for actor, action, extra in [("urban", "accept", {}), ("urban", "dispatch", {"assignee": users["worker"]}),
                                 ("worker", "start", {}),
                                 ("worker", "resolve", {"note": "已清理", "photos": [jpeg_bytes()]}),
                                 ("worker2", "verify", {}), ("urban", "close", {})]:
        actor_user = supervisors["community"] if action == "verify" else users[actor]
        event_transition(actor=actor_user, event_id=case.pk, action=action, **extra)
    event_transition(actor=users["citizen"], event_id=case.pk, action="reopen", note="又来了")
    query = """query($id: ID!) { node(id: $id) { ... on Event { status dispatchedAt history { action data } } } }"""
    staff = gql(query, {"id": to_base64("Event", case.pk)}, token=token_for(users["urban"])).data["node"]
    assert staff["status"] == "ACCEPTED" and staff["dispatchedAt"] is None
    assert not any(key.endswith("_id") for entry in staff["history"] for key in entry["data"])
    dispatch = next(entry for entry in staff["history"] if entry["action"] == "dispatch")
    assert dispatch["data"] == {"assignee": "worker", "previous_assignee": None}
    citizen = gql(query, {"id": to_base64("Event", case.pk)}, token=token_for(users["citizen"])).data["node"]
    assert next(entry for entry in citizen["history"] if entry["action"] == "dispatch")["data"] == {}


LIVE = """subscription { eventChanged {
  kind event { status duplicateOf { caseNumber description reporter { username } } } } }"""


@pytest.mark.django_db(transaction=True)
async def test_a_subscriber_demoted_while_connected_gets_messages_as_they_are_now(users, district, event_categories):
    """Messages were resolved for the user as of `connection_init`: an operator demoted to citizen while
    subscribed still received a stranger's case whole through `duplicateOf`."""
    import asyncio

    from channels.db import database_sync_to_async

    from tests.api.test_websocket import issue, open_socket

    await database_sync_to_async(event_report)(reporter=users["citizen"], category_code="02-05", lng=SPOT[0],
                                               lat=SPOT[1], description="secret 13800000000")
    operator = users["operator"]
    _ok, socket = await open_socket(await database_sync_to_async(issue)(operator))
    await socket.subscribe("e", LIVE, {})
    await asyncio.sleep(0.5)

    def demote_and_report():
        operator.role = Role.CITIZEN
        operator.save(update_fields=["role"])
        event_report(reporter=operator, category_code="02-05", lng=SPOT[0], lat=SPOT[1])

    await database_sync_to_async(demote_and_report)()
    message = (await socket.next(timeout=10))["payload"]["data"]["eventChanged"]
    assert message["event"]["status"] == "DUPLICATE" and message["event"]["duplicateOf"] is None
    assert "13800000000" not in str(message)
    await socket.ws.disconnect()


def test_a_grid_assignment_left_behind_by_a_role_change_grants_nothing(gql, users, token_for, district,
                                                                       event_categories):
    from gridapp.geography.models import BaseRecord, RecordKind
    from gridapp.geography.selectors import grid_workers
    from gridapp.geography.services import grid_notice_post

    worker = users["worker"]
    BaseRecord.objects.create(kind=RecordKind.SMALL_SHOP, external_id="S1", name="小店", lng=SPOT[0], lat=SPOT[1],
                              grid=district.grid)
    event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1])
    grid_notice_post(author=users["operator"], grid=district.grid, title="通知")
    worker.role = Role.CITIZEN  # the patrol permission stays behind
    worker.save(update_fields=["role"])
    answer = gql("""{ grids { edges { node { code } } } records { edges { node { name } } }
                     changes(after: "0") { changes { kind objectType } } }""", token=token_for(worker))
    assert answer.errors == []
    assert answer.data["grids"]["edges"] == [] and answer.data["records"]["edges"] == []
    # (only their own assignment, addressed to them, remains: nothing of the grid's)
    assert [c["kind"] for c in answer.data["changes"]["changes"]] == ["grid.assigned"]
    assert worker not in grid_workers(district.grid)  # and grid notices no longer reach them
