"""A charging-shaped workflow: an EV charging session is preparing, charging (meter readings keep the status and
the clock), suspended and resumed, finishing, then completed with its energy, or faulted.  The charger acts as
the system; the driver or the park operator may stop it.  Every waiting stage has a deadline, so a sweep of
the overdue leaves no session open for ever (issue 17: a session stopped twice, a meter going backwards)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role
from core.models import WorkflowCase
from core.workflow import (
    KEEP,
    STAY,
    Attempt,
    TransitionTable,
    WorkflowDenied,
    WorkflowError,
    transition,
    workflow_apply,
)
from core.workflow.cases import CaseWorkflow, workflow_case_open
from tests.core.workflow_support import codes
from tests.factories import UserFactory

WAITING = {"preparing": timedelta(minutes=2), "charging": timedelta(hours=12), "suspended": timedelta(minutes=30),
           "finishing": timedelta(minutes=5)}
LIVE = {"preparing", "charging", "suspended", "finishing"}
CHARGER, DRIVER, OPERATOR = "charger", "driver", "operator"

TABLE = TransitionTable([
    transition("start", {"preparing"}, "charging", {CHARGER}, {"meter"}, ("meter_start",)),
    transition("meter", {"charging"}, STAY, {CHARGER}, {"meter", "forward"}, ("meter_value",), clock=KEEP),
    transition("suspend", {"charging"}, "suspended", {CHARGER}),
    transition("resume", {"suspended"}, "charging", {CHARGER}),
    transition("stop", {"charging", "suspended"}, "finishing", {CHARGER, DRIVER, OPERATOR}, (), ("stop_reason",)),
    transition("finish", {"finishing"}, "completed", {CHARGER}, {"meter", "forward"}, ("meter_stop", "close")),
    transition("fault", LIVE, "faulted", {CHARGER}, {"error_code"}, ("fault", "close")),
    transition("expire", LIVE - {"charging"}, "faulted", {CHARGER}, (), ("timeout", "close")),
])


def relations(actor, session):
    if actor is None:
        return {CHARGER}  # the charger speaks through the central system
    held = set()
    if actor.pk == session.opened_by_id:
        held.add(DRIVER)
    if actor.role == Role.PARK_OPERATOR:
        held.add(OPERATOR)
    return held


def meter(attempt: Attempt) -> None:
    if not (isinstance(attempt.param("meter_wh"), int) and attempt.param("meter_wh") >= 0):
        raise WorkflowError("A meter reading in Wh.", code="invalid_meter", field="meter_wh")


def forward(attempt: Attempt) -> None:
    if attempt.param("meter_wh") < attempt.obj.data["last_wh"]:
        raise WorkflowError("The meter went backwards.", code="meter_backwards", field="meter_wh")


def error_code(attempt: Attempt) -> None:
    if not attempt.param("error_code"):
        raise WorkflowError("Name the fault.", code="required", field="error_code")


def _data(attempt: Attempt, **values) -> None:
    attempt.obj.data = {**attempt.obj.data, **values}
    attempt.data.update(values)


EFFECTS = {
    "meter_start": lambda a: _data(a, start_wh=a.param("meter_wh"), last_wh=a.param("meter_wh")),
    "meter_value": lambda a: _data(a, last_wh=a.param("meter_wh")),
    "meter_stop": lambda a: _data(a, last_wh=a.param("meter_wh"), energy_wh=a.param("meter_wh") - a.obj.data["start_wh"]),
    "stop_reason": lambda a: _data(a, stopped_by=sorted(a.relations & {CHARGER, DRIVER, OPERATOR})[0]),
    "fault": lambda a: _data(a, error_code=a.param("error_code")),
    "timeout": lambda a: _data(a, error_code="timeout"),
    "close": lambda a: setattr(a.obj, "closed_at", a.now),
}


def deadline(attempt: Attempt):
    waiting = WAITING.get(attempt.obj.status)
    return attempt.now + waiting if waiting else None


CHARGING = CaseWorkflow(
    name="tests.charging_session", table=TABLE, relations=relations, initial="preparing",
    needs={"meter": meter, "forward": forward, "error_code": error_code}, effects=EFFECTS, deadline=deadline,
)


def session_open(workflow, driver, now):
    session = workflow_case_open(workflow=workflow, title="A-01 connector 1", opened_by=driver, now=now,
                                 data={"connector": 1})
    assert session.deadline == now + WAITING["preparing"]  # the charger has two minutes to start
    return session


def sessions_expire(workflow, *, now) -> int:
    """What a beat task does: every live session past its stage's deadline is ended by the system."""
    expired = 0
    for pk in WorkflowCase.objects.filter(workflow=workflow.name, status__in=LIVE - {"charging"},
                                          deadline__lt=now).values_list("pk", flat=True):
        workflow_apply(workflow=workflow, obj=pk, action="expire", actor=None, now=now)
        expired += 1
    return expired


@pytest.fixture
def charging(register):
    return register(CHARGING)


@pytest.fixture
def people(db):
    return {"driver": UserFactory(username="driver", role=Role.PARK_EMPLOYEE),
            "stranger": UserFactory(username="stranger", role=Role.PARK_EMPLOYEE),
            "operator": UserFactory(username="parkop", role=Role.PARK_OPERATOR)}


def charger(workflow, session, action, now, **params):
    return workflow_apply(workflow=workflow, obj=session, action=action, actor=None, now=now, **params)


def test_a_session_charges_suspends_resumes_and_completes_with_its_energy(charging, people):
    now = timezone.now()
    session = session_open(charging, people["driver"], now)
    session = charger(charging, session, "start", now, meter_wh=1_000)
    assert (session.status, session.deadline) == ("charging", now + WAITING["charging"])
    later = now + timedelta(minutes=20)
    session = charger(charging, session, "meter", later, meter_wh=6_000)
    assert (session.status, session.deadline, session.data["last_wh"]) == ("charging", now + WAITING["charging"], 6_000)
    with pytest.raises(ValidationError) as caught:
        charger(charging, session, "meter", later, meter_wh=5_999)
    assert codes(caught.value) == ["meter_backwards"]
    session = charger(charging, session, "suspend", later)
    assert session.deadline == later + WAITING["suspended"]
    session = charger(charging, session, "resume", later)
    with pytest.raises(WorkflowDenied):
        workflow_apply(workflow=charging, obj=session, action="stop", actor=people["stranger"])
    session = workflow_apply(workflow=charging, obj=session, action="stop", actor=people["driver"])
    assert session.status == "finishing" and session.data["stopped_by"] == DRIVER
    with pytest.raises(ValidationError) as caught:
        workflow_apply(workflow=charging, obj=session, action="stop", actor=people["operator"])
    assert codes(caught.value) == ["transition_not_allowed"]  # a session stopped twice
    session = charger(charging, session, "finish", later, meter_wh=13_500)
    assert (session.status, session.data["energy_wh"], session.deadline) == ("completed", 12_500, None)
    assert session.closed_at == later
    assert [h.action for h in session.history.all()] == [
        "open", "start", "meter", "suspend", "resume", "stop", "finish"]
    assert session.history.get(action="meter").data == {"last_wh": 6_000}


def test_the_operator_stops_remotely_and_a_fault_ends_a_session(charging, people):
    now = timezone.now()
    session = charger(charging, session_open(charging, people["driver"], now), "start", now, meter_wh=0)
    session = workflow_apply(workflow=charging, obj=session, action="stop", actor=people["operator"])
    assert session.data["stopped_by"] == OPERATOR
    with pytest.raises(ValidationError) as caught:
        charger(charging, session, "fault", now)
    assert codes(caught.value) == ["required"]
    session = charger(charging, session, "fault", now, error_code="GroundFailure")
    assert (session.status, session.data["error_code"]) == ("faulted", "GroundFailure")


def test_no_session_stays_open_for_ever(charging, people):
    now = timezone.now()
    never_started = session_open(charging, people["driver"], now)
    suspended = charger(charging, session_open(charging, people["driver"], now), "start", now, meter_wh=0)
    suspended = charger(charging, suspended, "suspend", now)
    running = charger(charging, session_open(charging, people["driver"], now), "start", now, meter_wh=0)
    assert sessions_expire(charging, now=now + timedelta(minutes=1)) == 0
    assert sessions_expire(charging, now=now + timedelta(minutes=3)) == 1  # not started within two minutes
    assert sessions_expire(charging, now=now + timedelta(minutes=31)) == 1  # suspended for half an hour
    for session in (never_started, suspended):
        session.refresh_from_db()
        assert (session.status, session.data["error_code"]) == ("faulted", "timeout")
    running.refresh_from_db()
    assert running.status == "charging"
