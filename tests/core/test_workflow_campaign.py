"""A campaign-shaped workflow: a ledger case is listed, its plan agreed, the work done (demolished or rectified,
with its area), then a look-back re-inspection passes it or finds it recurred, which reopens it (MISSION
section 1, the hill parks' illegal structures).  Each stage has its clock; the look-back is queued through the
outbox when the work is reported."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role
from core.models import WorkflowCase
from core.workflow import (
    Attempt,
    QueuedTask,
    TransitionTable,
    WorkflowDenied,
    WorkflowError,
    transition,
    workflow_apply,
)
from core.workflow.cases import CaseWorkflow, workflow_case_open
from tests.core.workflow_support import changes_of, codes, queued
from tests.factories import DepartmentFactory, UserFactory

LOOKBACK_TASK = "tests.campaign.lookback_due"  # what a campaign app would run when the look-back falls due
DAYS = {"plan_agreed": 7, "demolished": 30, "rectified": 30, "recurred": 3}

TABLE = TransitionTable([
    transition("agree_plan", {"listed"}, "plan_agreed", {"unit", "office"}, {"note_required", "days"}, ("plan",)),
    transition("start", {"plan_agreed"}, "in_progress", {"unit"}),
    transition("demolish", {"in_progress"}, "demolished", {"unit"}, {"area"}, ("area",)),
    transition("rectify", {"in_progress"}, "rectified", {"unit"}, {"area"}, ("area",)),
    transition("pass_lookback", {"demolished", "rectified"}, "lookback_passed", {"inspector"}, (), ("close",)),
    transition("recur", {"demolished", "rectified", "lookback_passed"}, "recurred", {"inspector"},
               {"note_required"}, ("recur",)),
    transition("reopen", {"recurred"}, "in_progress", {"office", "unit"}),
])


def relations(actor, case):
    if actor is None:
        return {"system"}
    held = set()
    if actor.role == Role.GRID_WORKER:
        held.add("inspector")
    if actor.role == Role.DEPARTMENT_STAFF and actor.department.code == case.data["unit"]:
        held.add("unit")
    if actor.role == Role.OPERATOR:
        held.add("office")
    return held


def note_required(attempt: Attempt) -> None:
    if not (attempt.param("note") or "").strip():
        raise WorkflowError("Give a note.", code="required", field="note")


def days(attempt: Attempt) -> None:
    if not (isinstance(attempt.param("days"), int) and 1 <= attempt.param("days") <= 365):
        raise WorkflowError("A plan takes 1 to 365 days.", code="invalid_days", field="days")


def area(attempt: Attempt) -> None:
    value = attempt.param("area_m2")
    if not (isinstance(value, int | float) and 0 < value < 1_000_000):
        raise WorkflowError("Give the area in square metres.", code="invalid_area", field="area_m2")


def plan(attempt: Attempt) -> None:
    attempt.obj.data = {**attempt.obj.data, "plan_days": attempt.param("days")}
    attempt.data["plan_days"] = attempt.param("days")


def record_area(attempt: Attempt) -> None:
    attempt.obj.data = {**attempt.obj.data, "area_m2": attempt.param("area_m2")}
    attempt.data["area_m2"] = attempt.param("area_m2")


def close(attempt: Attempt) -> None:
    attempt.obj.closed_at = attempt.now


def recur(attempt: Attempt) -> None:
    case = attempt.obj
    case.closed_at = None
    case.data = {**case.data, "recurrences": case.data.get("recurrences", 0) + 1}


def deadline(attempt: Attempt):
    case = attempt.obj
    span = case.data.get("plan_days") if case.status == "in_progress" else DAYS.get(case.status)
    return attempt.now + timedelta(days=span) if span else None


def tasks(attempt: Attempt):
    case = attempt.obj
    if case.status in {"demolished", "rectified"}:
        return [QueuedTask(LOOKBACK_TASK, (case.pk,), {"due": case.deadline.isoformat()})]
    return []


CAMPAIGN = CaseWorkflow(
    name="tests.campaign_case", table=TABLE, relations=relations, initial="listed",
    needs={"note_required": note_required, "days": days, "area": area},
    effects={"plan": plan, "area": record_area, "close": close, "recur": recur},
    deadline=deadline, tasks=tasks, open_action="list",
)


@pytest.fixture
def campaign(register):
    return register(CAMPAIGN)


@pytest.fixture
def people(db):
    return {
        "inspector": UserFactory(username="inspector", role=Role.GRID_WORKER),
        "unit": UserFactory(username="unit", role=Role.DEPARTMENT_STAFF, department=DepartmentFactory(code="urban")),
        "other_unit": UserFactory(username="greening", role=Role.DEPARTMENT_STAFF,
                                  department=DepartmentFactory(code="greening")),
        "office": UserFactory(username="office", role=Role.OPERATOR),
    }


def listed(campaign, people, title, kind="illegal_structure"):
    return workflow_case_open(workflow=campaign, title=title, opened_by=people["inspector"],
                              data={"unit": "urban", "type": kind})


def act(campaign, case, who, action, **params):
    return workflow_apply(workflow=campaign, obj=case, action=action, actor=who, **params)


def test_a_case_is_listed_planned_worked_and_passes_the_look_back(campaign, people):
    case = listed(campaign, people, "浮山 违建 1号")
    assert case.status == "listed" and case.deadline is None  # opening sets the status; the clock starts on plan
    with pytest.raises(WorkflowDenied):
        act(campaign, case, people["other_unit"], "agree_plan", note="拆除", days=10)  # not the responsible unit
    with pytest.raises(ValidationError) as caught:
        act(campaign, case, people["unit"], "agree_plan", note="拆除", days=0)
    assert codes(caught.value) == ["invalid_days"]
    case = act(campaign, case, people["unit"], "agree_plan", note="拆除彩钢棚", days=10)
    assert case.deadline > timezone.now() + timedelta(days=6, hours=23)  # the work must start within a week
    case = act(campaign, case, people["unit"], "start")
    assert case.deadline > timezone.now() + timedelta(days=9, hours=23)  # the plan's ten days
    with pytest.raises(ValidationError) as caught:
        act(campaign, case, people["unit"], "demolish", area_m2=-3)
    assert codes(caught.value) == ["invalid_area"]
    case = act(campaign, case, people["unit"], "demolish", area_m2=37.5)
    assert case.data["area_m2"] == 37.5 and case.deadline > timezone.now() + timedelta(days=29)
    assert queued(LOOKBACK_TASK) == [[case.pk]]
    with pytest.raises(WorkflowDenied):
        act(campaign, case, people["unit"], "pass_lookback")  # the unit does not inspect its own work
    case = act(campaign, case, people["inspector"], "pass_lookback")
    assert case.status == "lookback_passed" and case.closed_at is not None and case.deadline is None
    assert [h.action for h in case.history.all()] == ["list", "agree_plan", "start", "demolish", "pass_lookback"]
    assert changes_of(case)[-1] == "tests.campaign_case.pass_lookback"


def test_a_recurrence_found_at_the_look_back_reopens_the_case(campaign, people):
    case = listed(campaign, people, "太平山 绿地占用", kind="green_space")
    case = act(campaign, case, people["office"], "agree_plan", note="恢复绿地", days=20)
    case = act(campaign, case, people["unit"], "start")
    case = act(campaign, case, people["unit"], "rectify", area_m2=120)
    case = act(campaign, case, people["inspector"], "pass_lookback")
    with pytest.raises(ValidationError) as caught:
        act(campaign, case, people["inspector"], "recur")
    assert codes(caught.value) == ["required"]
    case = act(campaign, case, people["inspector"], "recur", note="又搭了菜棚")
    assert (case.status, case.closed_at, case.data["recurrences"]) == ("recurred", None, 1)
    assert case.deadline > timezone.now() + timedelta(days=2, hours=23)  # three days to reopen
    case = act(campaign, case, people["office"], "reopen")
    assert case.status == "in_progress" and case.deadline > timezone.now() + timedelta(days=19)
    case = act(campaign, case, people["unit"], "rectify", area_m2=120)
    assert queued(LOOKBACK_TASK) == [[case.pk], [case.pk]]  # a second look-back after the second work
    assert [(h.from_status, h.to_status) for h in case.history.all()][-4:] == [
        ("rectified", "lookback_passed"), ("lookback_passed", "recurred"), ("recurred", "in_progress"),
        ("in_progress", "rectified")]


def test_the_ledger_reads_the_cases(campaign, people):
    """The ledger's figures come from the cases' statuses and areas (MISSION: 20 structures demolished, 741 m²)."""
    for number, (action, m2) in enumerate([("demolish", 30), ("demolish", 12.5), ("rectify", 80), (None, None)]):
        case = listed(campaign, people, f"case {number}")
        if action:
            case = act(campaign, case, people["unit"], "agree_plan", note="plan", days=5)
            case = act(campaign, case, people["unit"], "start")
            act(campaign, case, people["unit"], action, area_m2=m2)
    cases = WorkflowCase.objects.filter(workflow=campaign.name)
    assert Counter(cases.values_list("status", flat=True)) == {"demolished": 2, "rectified": 1, "listed": 1}
    assert sum(c.data["area_m2"] for c in cases.filter(status="demolished")) == 42.5
