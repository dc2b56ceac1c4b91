"""The transition table as the service enforces it: who may fire what, what it needs, and what it records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gridapp.incidents.models import EventHistory, EventStatus
from gridapp.incidents.services import event_report, event_transition, events_transition_bulk
from gridapp.incidents.workflow import TRANSITIONS, Action, Relation, actions_open_to
from tests.factories import jpeg_bytes
from tests.gridapp.test_event_intake import SPOT, codes

S = EventStatus


@pytest.fixture
def case(users, district, event_categories):
    return event_report(reporter=users["worker"], category_code="02-01", lng=SPOT[0], lat=SPOT[1],
                        photos=[jpeg_bytes()]).event


def fire(actor, event, action, **kwargs):
    return event_transition(actor=actor, event_id=event.pk, action=action, **kwargs)


def to(event, users, status):
    """Walk ``event`` to ``status`` along the main path (urban handles, worker verifies)."""
    path = [("accept", users["urban"], {}), ("dispatch", users["urban"], {"assignee": users["urban"]}),
            ("start", users["urban"], {}), ("resolve", users["urban"], {"note": "done", "photos": [jpeg_bytes()]}),
            ("verify", users["worker"], {}), ("close", users["urban"], {})]
    order = [S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.VERIFIED, S.CLOSED]
    for (action, actor, kwargs), reached in zip(path, order, strict=True):
        event = fire(actor, event, action, **kwargs)
        if reached == status:
            return event
    raise AssertionError(status)


def test_every_status_but_the_terminal_ones_has_a_way_forward():
    statuses = {source for rule in TRANSITIONS for source in rule.sources}
    assert statuses == set(S) - {S.REJECTED, S.VOID, S.DUPLICATE}
    assert actions_open_to({Relation.DEPARTMENT}, S.REPORTED) == [Action.ACCEPT, Action.REJECT]
    assert Action.VERIFY not in actions_open_to({Relation.DEPARTMENT}, S.RESOLVED)


@pytest.mark.parametrize(("who", "outcome"), [
    ("urban", "ok"), ("operator", "ok"), ("admin", "ok"),
    ("worker", "permission_denied"),  # sees it (reporter, grid worker) but only the office accepts
    ("auditor", "permission_denied"),  # reads everything, acts on nothing
    ("worker2", "not_found"), ("citizen", "not_found"), ("employee", "not_found"),
])
def test_who_may_accept_a_new_case(case, users, who, outcome):
    if outcome == "ok":
        assert fire(users[who], case, "accept").status == S.ACCEPTED
        return
    with pytest.raises((PermissionDenied, ValidationError)) as caught:
        fire(users[who], case, "accept")
    got = "permission_denied" if isinstance(caught.value, PermissionDenied) else codes(caught.value)[0]
    assert got == outcome
    case.refresh_from_db()
    assert case.status == S.REPORTED and case.history.count() == 1


def test_a_state_that_does_not_allow_the_action_is_a_typed_error(case, users):
    with pytest.raises(ValidationError) as caught:
        fire(users["urban"], case, "close")
    assert codes(caught.value) == ["transition_not_allowed"]
    with pytest.raises(ValidationError) as caught:
        fire(users["urban"], case, "fly")
    assert codes(caught.value) == ["unknown_action"]


def test_dispatch_needs_an_assignee_who_can_see_the_event(case, users):
    fire(users["urban"], case, "accept")
    for assignee, code in ((None, "required"), (users["worker2"], "invalid_assignee"),
                           (users["citizen"], "invalid_assignee")):
        with pytest.raises(ValidationError) as caught:
            fire(users["urban"], case, "dispatch", assignee=assignee)
        assert codes(caught.value) == [code]
    event = fire(users["urban"], case, "dispatch", assignee=users["worker"])  # a grid worker of the event's grid
    assert event.assignee == users["worker"] and event.status == S.DISPATCHED
    assert users["worker"].notifications.filter(title__contains=event.case_number).exists()


def test_whoever_resolved_may_not_verify(case, users):
    fire(users["urban"], case, "accept")
    fire(users["urban"], case, "dispatch", assignee=users["worker"])
    fire(users["worker"], case, "start")
    fire(users["worker"], case, "resolve", note="cleaned", photos=[jpeg_bytes()])
    with pytest.raises(ValidationError) as caught:
        fire(users["worker"], case, "verify")
    assert codes(caught.value) == ["same_person"]
    assert fire(users["operator"], case, "verify").status == S.VERIFIED


def test_a_failed_check_returns_the_case_to_the_handler_with_a_reason(case, users):
    event = to(case, users, S.RESOLVED)
    with pytest.raises(ValidationError) as caught:
        fire(users["worker"], event, "return")
    assert codes(caught.value) == ["required"]
    event = fire(users["worker"], event, "return", note="还有两张没撕掉")
    assert event.status == S.IN_PROGRESS and event.resolved_by is None and event.resolved_at is None
    last = EventHistory.objects.filter(event=event).last()
    assert (last.action, last.from_status, last.to_status, last.note) == (
        "return", S.RESOLVED, S.IN_PROGRESS, "还有两张没撕掉")
    assert event.deadline > timezone.now() + timedelta(hours=event.category.handle_hours - 1)


def test_hold_stops_the_clock_and_resume_gives_back_the_time_left(case, users):
    event = to(case, users, S.DISPATCHED)
    left = event.deadline - timezone.now()
    held = fire(users["urban"], event, "hold", note="等待产权单位确认")
    assert held.status == S.ON_HOLD and held.deadline is None and held.held_from == S.DISPATCHED
    resumed = fire(users["urban"], event, "resume")
    assert resumed.status == S.DISPATCHED
    assert abs((resumed.deadline - timezone.now()) - left) < timedelta(seconds=5)


def test_extensions_are_asked_by_the_handler_and_decided_by_a_supervisor(case, users, supervisors):
    event = to(case, users, S.IN_PROGRESS)
    before = event.deadline
    with pytest.raises(ValidationError) as caught:
        fire(users["urban"], event, "request_extension", note="需要吊车", hours=0)
    assert codes(caught.value) == ["invalid_hours"]
    fire(users["urban"], event, "request_extension", note="需要吊车", hours=48)
    with pytest.raises(ValidationError) as caught:
        fire(users["urban"], event, "request_extension", note="again", hours=4)
    assert codes(caught.value) == ["extension_pending"]
    with pytest.raises(PermissionDenied):
        fire(users["urban"], event, "approve_extension")  # not their own request
    approved = fire(supervisors["community"], event, "approve_extension")
    assert approved.deadline == before + timedelta(hours=48) and approved.extension_hours is None
    with pytest.raises(ValidationError) as caught:
        fire(supervisors["street"], event, "deny_extension", note="no")
    assert codes(caught.value) == ["no_extension"]


def test_a_stale_version_is_refused(case, users):
    with pytest.raises(ValidationError) as caught:
        fire(users["urban"], case, "accept", expected_version=case.version + 1)
    assert codes(caught.value) == ["stale"]
    assert fire(users["urban"], case, "accept", expected_version=case.version).version == case.version + 1


def test_reopen_by_the_reporter_and_void_by_the_reporter(case, users):
    closed = to(case, users, S.CLOSED)
    assert closed.closed_at is not None
    reopened = fire(users["worker"], closed, "reopen", note="又贴上了")
    assert reopened.status == S.ACCEPTED and reopened.closed_at is None and reopened.assignee is None
    voided = fire(users["worker"], reopened, "void", note="误报")
    assert voided.status == S.VOID and not voided.is_open


def test_bulk_actions_succeed_or_fail_one_by_one(users, district, event_categories):
    events = [event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0] + i * 0.001,
                           lat=SPOT[1]).event for i in range(3)]
    fire(users["urban"], events[1], "accept")
    outcomes = events_transition_bulk(actor=users["urban"], event_ids=[e.pk for e in events], action="accept")
    assert [(pk, [codes(e)[0] for e in errors]) for pk, errors in outcomes] == [
        (events[0].pk, []), (events[1].pk, ["transition_not_allowed"]), (events[2].pk, [])]
    with pytest.raises(ValidationError) as caught:
        events_transition_bulk(actor=users["urban"], event_ids=list(range(1, 102)), action="accept")
    assert codes(caught.value) == ["too_many"]


@pytest.mark.django_db(transaction=True)
def test_two_people_accepting_at_once_one_wins_the_other_is_told(users, district, event_categories):
    import threading

    from django.db import connection

    event = event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
    start = threading.Barrier(2)
    outcomes = []

    def accept(user):
        start.wait()
        try:
            fire(user, event, "accept")
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(codes(exc)[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(users[name],)) for name in ("urban", "operator")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["ok", "transition_not_allowed"]
    event.refresh_from_db()
    assert event.status == S.ACCEPTED and event.version == 2
    assert list(event.history.values_list("action", flat=True)) == ["report", "accept"]


def test_a_photo_sent_to_someone_elses_event_reveals_nothing(case, users):
    far_photo = jpeg_bytes(gps=(120.20, 35.90))  # kilometres from the case
    with pytest.raises(ValidationError) as caught:
        fire(users["worker2"], case, "verify", photos=[far_photo])
    assert codes(caught.value) == ["not_found"]  # not photo_location_mismatch, which would tell where it is
