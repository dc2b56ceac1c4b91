"""Event lists over GraphQL: who sees what, my tasks, filters, and query counts that do not grow with the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridapp.incidents.models import Event
from gridapp.incidents.services import event_report, event_transition
from tests.factories import jpeg_bytes
from tests.gridapp.test_event_intake import SPOT

GRID2_SPOT = (120.36, 36.01)
HOME = """{ myTasks(first: 20) { edges { node { caseNumber status deadline isOverdue thumbnailUrl
  grid { code name } category { code name } } } } }"""
LIST = """query($filter: EventFilter) { events(first: 100, filter: $filter) { edges { node {
  caseNumber status isOverdue thumbnailUrl availableActions reporter { username } assignee { displayName }
  grid { code name } community { name } street { name } category { code name departmentName } department { code }
} } } }"""


def cases(gql, token, filter=None) -> list[str]:
    answer = gql(LIST, {"filter": filter}, token=token)
    assert answer.errors == [], answer.errors
    return sorted(edge["node"]["caseNumber"] for edge in answer.data["events"]["edges"])


def report(user, code="02-05", at=SPOT, **kwargs):
    return event_report(reporter=user, category_code=code, lng=at[0], lat=at[1], **kwargs).event


@pytest.fixture
def spread(users, district, event_categories, supervisors):
    """A case in worker's grid (urban), one in worker2's grid (urban), one of the civil-affairs department in
    worker's grid, and a citizen's report in worker2's grid."""
    return {
        "mine": report(users["worker"]),
        "other_grid": report(users["worker2"], at=GRID2_SPOT),
        "civil": report(users["worker"], code="11-01", at=(SPOT[0] + 0.01, SPOT[1])),
        "citizen": report(users["citizen"], code="03-01", at=(GRID2_SPOT[0] + 0.005, GRID2_SPOT[1])),
    }


def test_each_role_lists_exactly_the_events_it_may_see(spread, users, supervisors, gql, token_for):
    number = {name: event.case_number for name, event in spread.items()}
    expected = {
        "worker": {"mine", "civil"},  # their grid, whatever the department
        "worker2": {"other_grid", "citizen"},
        "urban": {"mine", "other_grid"},  # routed to their department, any grid
        "citizen": {"citizen"},  # what they reported
        "operator": set(spread), "auditor": set(spread), "admin": set(spread),
        "employee": set(), "parkop": set(),
    }
    for who, names in expected.items():
        assert cases(gql, token_for(users[who])) == sorted(number[name] for name in names), who
    # Supervisors: the community's grids (worker's and worker2's grids are both in it), the street's too.
    assert cases(gql, token_for(supervisors["community"])) == sorted(number.values())
    assert cases(gql, token_for(supervisors["street"])) == sorted(number.values())


def test_my_tasks_is_the_work_waiting_for_me(spread, users, gql, token_for):
    def tasks(who):
        return [edge["node"]["caseNumber"] for edge in gql(HOME, token=token_for(users[who])).data["myTasks"]["edges"]]

    assert sorted(tasks("urban")) == sorted([spread["mine"].case_number, spread["other_grid"].case_number])
    assert tasks("worker") == []
    event_transition(actor=users["urban"], event_id=spread["mine"].pk, action="accept")
    event_transition(actor=users["urban"], event_id=spread["mine"].pk, action="dispatch", assignee=users["worker"])
    assert tasks("worker") == [spread["mine"].case_number]
    event_transition(actor=users["worker"], event_id=spread["mine"].pk, action="resolve", note="ok")
    assert tasks("worker") == []  # resolved by them: someone else verifies
    assert tasks("worker2") == []  # not their grid
    event_transition(actor=users["urban"], event_id=spread["other_grid"].pk, action="accept")
    event_transition(actor=users["urban"], event_id=spread["other_grid"].pk, action="dispatch",
                     assignee=users["urban"])
    event_transition(actor=users["urban"], event_id=spread["other_grid"].pk, action="resolve", note="ok")
    assert tasks("worker2") == [spread["other_grid"].case_number]  # to verify in their grid


PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  myTasks(first: $first, after: $after, last: $last, before: $before) {
    edges { node { caseNumber deadline } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def test_my_tasks_put_those_with_a_deadline_first_soonest_first_then_those_without_on_every_database(
        users, district, event_categories, gql, token_for):
    """What a worker expects: the task due soonest on top, tasks whose clock is stopped (a case on hold has no
    deadline) below every dated one, oldest first; ties by age.  SQLite sorts NULL first and PostgreSQL last,
    so the order says where NULL goes, and the keyset cursor pages it on both."""
    now = timezone.now()
    deadlines = [now + timedelta(hours=5), None, now + timedelta(hours=1), None, now + timedelta(hours=5),
                 now - timedelta(hours=2), None]
    made = []
    for i, deadline in enumerate(deadlines):
        event = report(users["worker"], at=(SPOT[0] + 0.0012 * i, SPOT[1]))
        Event.objects.filter(pk=event.pk).update(deadline=deadline)
        made.append((deadline, event.pk, event.case_number))
    expected = [number for _deadline, _pk, number in sorted(
        made, key=lambda row: (row[0] is None, row[0] or now, row[1]))]
    token = token_for(users["urban"])

    whole = gql(PAGE, {"first": 20}, token=token).data["myTasks"]["edges"]
    assert [edge["node"]["caseNumber"] for edge in whole] == expected
    assert [edge["node"]["deadline"] is None for edge in whole] == [False] * 4 + [True] * 3

    forward, after = [], None
    while True:
        page = gql(PAGE, {"first": 2, "after": after}, token=token)
        assert page.errors == [], page.errors
        forward += [edge["node"]["caseNumber"] for edge in page.data["myTasks"]["edges"]]
        if not page.data["myTasks"]["pageInfo"]["hasNextPage"]:
            break
        after = page.data["myTasks"]["pageInfo"]["endCursor"]
    assert forward == expected

    backward, before = [], None
    while True:
        page = gql(PAGE, {"last": 2, "before": before}, token=token)
        assert page.errors == [], page.errors
        backward = [edge["node"]["caseNumber"] for edge in page.data["myTasks"]["edges"]] + backward
        if not page.data["myTasks"]["pageInfo"]["hasPreviousPage"]:
            break
        before = page.data["myTasks"]["pageInfo"]["startCursor"]
    assert backward == expected


def test_filters(spread, users, gql, token_for):
    token = token_for(users["operator"])
    assert cases(gql, token, {"departmentCode": "civil"}) == [spread["civil"].case_number]
    assert cases(gql, token, {"gridId": f"{_gid('Grid', spread['other_grid'].grid_id)}"}) == sorted(
        [spread["other_grid"].case_number, spread["citizen"].case_number])
    assert cases(gql, token, {"status": ["ACCEPTED"]}) == []
    assert cases(gql, token, {"search": spread["mine"].case_number}) == [spread["mine"].case_number]
    assert cases(gql, token, {"source": "CITIZEN"}) == [spread["citizen"].case_number]
    assert cases(gql, token, {"overdue": True}) == []
    bad = gql(LIST, {"filter": {"gridId": _gid("Street", 1)}}, token=token)
    assert bad.error_codes == ["invalid_id"]


def _gid(type_name: str, pk: int) -> str:
    from strawberry import relay

    return str(relay.GlobalID(type_name, str(pk)))


def _queries(gql, token, query, variables=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        answer = gql(query, variables, token=token)
    assert answer.errors == [], answer.errors
    return len(captured)


def test_query_counts_do_not_grow_with_the_page(users, district, event_categories, gql, token_for):
    made = []

    def add(count):
        for i in range(len(made), len(made) + count):
            made.append(i)
            event = report(users["worker"], code="02-01", at=(SPOT[0] + 0.0012 * (i % 30), SPOT[1] + 0.0012 * (i // 30)),
                           photos=[jpeg_bytes(size=(64, 48))])
            event_transition(actor=users["urban"], event_id=event.pk, action="accept")

    grid_page = "{ grids(first: 10) { edges { node { code recentEvents { caseNumber category { name } } } } } }"
    add(2)
    small = {who: (_queries(gql, token_for(users[who]), LIST), _queries(gql, token_for(users[who]), HOME),
                   _queries(gql, token_for(users[who]), grid_page)) for who in ("urban", "worker", "operator")}
    add(20)
    large = {who: (_queries(gql, token_for(users[who]), LIST), _queries(gql, token_for(users[who]), HOME),
                   _queries(gql, token_for(users[who]), grid_page)) for who in ("urban", "worker", "operator")}
    assert small == large
    assert len(gql(LIST, token=token_for(users["urban"])).data["events"]["edges"]) == 22


def test_the_map_layer_lists_events_in_columns_with_two_queries(spread, users, gql, token_for):
    query = """query($first: Int!) { eventLayer(first: $first) { count ids caseNumbers lngs lats statuses overdue
      gridIndex categoryIndex gridIds gridCodes categoryCodes categoryNames } }"""
    token = token_for(users["operator"])
    with CaptureQueriesContext(connection) as captured:
        layer = gql(query, {"first": 10000}, token=token).data["eventLayer"]
    # the events, then the names of their grids and categories (whatever the number of events)
    assert len([q for q in captured.captured_queries if "gridapp_" in q["sql"]]) == 2
    assert layer["count"] == 4 and len(layer["ids"]) == len(layer["lngs"]) == len(layer["gridIndex"]) == 4
    by_number = dict(zip(layer["caseNumbers"], range(4), strict=True))
    civil = by_number[spread["civil"].case_number]
    assert layer["categoryCodes"][layer["categoryIndex"][civil]] == "11-01"
    assert layer["gridCodes"][layer["gridIndex"][civil]] == spread["civil"].grid.code
    assert len(layer["gridCodes"]) == len(set(layer["gridIndex"])) == 2  # each grid listed once
    assert gql(query, {"first": 4}, token=token_for(users["worker2"])).data["eventLayer"]["count"] == 2
    assert gql(query, {"first": 10001}, token=token).error_codes == ["invalid_page_size"]
