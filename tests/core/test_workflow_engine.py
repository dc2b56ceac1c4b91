"""The engine itself: a table that cannot be ambiguous, a registry, needs in the workflow's order, one
transaction for the status, the history, the change, the notices and the tasks (all or nothing), and refusals
as typed errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.utils import translation

from accounts.models import Role
from core.models import Change, Notification, OutboxTask, WorkflowCase, WorkflowCaseHistory
from core.workflow import (
    Notice,
    QueuedTask,
    TransitionTable,
    WorkflowError,
    transition,
    workflow_apply,
    workflow_get,
    workflow_register,
)
from core.workflow.cases import CaseWorkflow, workflow_case_open
from tests.core.workflow_support import codes
from tests.factories import UserFactory

TABLE = TransitionTable([
    transition("open", {"closed"}, "open", {"keeper", "system"}, {"second", "first"}),
    transition("close", {"open"}, "closed", {"keeper"}),
    transition("break", {"open", "closed"}, "broken", {"keeper"}, effects=("explode",)),
])


def refuse(code):
    def check(attempt):
        if attempt.param(code):
            raise WorkflowError(code, code=code)
    return check


def explode(attempt):
    raise RuntimeError("the hook failed after the status changed")


def notices(attempt):
    case = attempt.obj
    return [Notice(recipient=user, title=f"{case.title} {attempt.action}", source=f"door:{case.pk}:{case.version}")
            for user in attempt.param("tell", [])]


def tasks(attempt):
    return [QueuedTask("tests.door.opened", (attempt.obj.pk,))]


DOOR = CaseWorkflow(
    name="tests.door", table=TABLE, initial="closed",
    relations=lambda actor, case: {"system"} if actor is None else ({"keeper"} if actor.role == Role.OPERATOR else ()),
    needs={"first": refuse("first"), "second": refuse("second")}, effects={"explode": explode},
    notices=notices, tasks=tasks, open_action="install",
)


@pytest.fixture
def door(register):
    return register(DOOR)


@pytest.fixture
def keeper(db):
    return UserFactory(username="keeper", role=Role.OPERATOR)


def test_a_table_has_one_rule_per_action_and_status():
    with pytest.raises(ImproperlyConfigured, match="two rules for 'open' from 'closed'"):
        TransitionTable([transition("open", {"closed"}, "open", {"a"}), transition("open", {"closed"}, "ajar", {"b"})])
    with pytest.raises(ImproperlyConfigured, match="not one of the actions"):
        TransitionTable([transition("open", {"closed"}, "open", {"a"})], actions=["close"])
    assert TABLE.actions_open_to({"keeper"}, "open") == ["close", "break"]
    assert TABLE.actions_open_to({"system"}, "open") == []
    assert TABLE.sources == {"open", "closed"}


def test_a_workflow_names_only_what_it_registers():
    with pytest.raises(ImproperlyConfigured, match="unregistered"):
        CaseWorkflow(name="tests.bad", table=TABLE, relations=lambda a, o: (), initial="closed")
    with pytest.raises(ImproperlyConfigured, match="has no field 'state'"):
        CaseWorkflow(name="tests.bad", table=TransitionTable([]), relations=lambda a, o: (), status_field="state")


def test_the_registry_finds_a_workflow_by_name_and_refuses_a_second_under_it(door):
    assert workflow_get("tests.door") is door
    assert workflow_register(door) is door
    with pytest.raises(ImproperlyConfigured):
        workflow_register(CaseWorkflow(name="tests.door", table=TransitionTable([]), relations=lambda a, o: ()))
    with pytest.raises(LookupError):
        workflow_get("tests.nothing")


def test_needs_run_in_the_workflow_order_whatever_the_rule_says(door, keeper):
    case = workflow_case_open(workflow=door, title="gate")
    with pytest.raises(ValidationError) as caught:
        workflow_apply(workflow="tests.door", obj=case, action="open", actor=keeper, first=True, second=True)
    assert codes(caught.value) == ["first"]


def test_a_refusal_or_a_failing_hook_leaves_nothing_behind(door, keeper):
    case = workflow_case_open(workflow=door, title="gate")
    before = (Change.objects.count(), WorkflowCaseHistory.objects.count(), OutboxTask.objects.count())
    with pytest.raises(ValidationError):
        workflow_apply(workflow=door, obj=case, action="open", actor=keeper, second=True, tell=[keeper])
    with pytest.raises(RuntimeError):
        workflow_apply(workflow=door, obj=case, action="break", actor=keeper)
    case.refresh_from_db()
    assert (case.status, case.version) == ("closed", 1)
    assert (Change.objects.count(), WorkflowCaseHistory.objects.count(), OutboxTask.objects.count()) == before
    assert not Notification.objects.exists()


def test_one_transition_writes_status_history_change_notices_and_tasks(door, keeper):
    other = UserFactory(username="other")
    case = workflow_case_open(workflow=door, title="gate", opened_by=other)
    case = workflow_apply(workflow=door, obj=case, action="open", actor=keeper, tell=[keeper, other])
    assert (case.status, case.version) == ("open", 2)
    assert WorkflowCaseHistory.objects.filter(case=case).last().to_status == "open"
    change = Change.objects.filter(kind="tests.door.open").get()
    assert (change.object_type, change.object_id, change.facts) == ("core.workflowcase", case.pk,
                                                                     {"status": "open", "version": 2})
    # the actor is never told of their own act
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["other"]
    assert [row.args for row in OutboxTask.objects.filter(task="tests.door.opened")] == [[case.pk]]
    workflow_apply(workflow=door, obj=case, action="close", actor=keeper)
    assert workflow_apply(workflow=door, obj=case.pk, action="open", actor=None).status == "open"  # the system


def test_refusals_are_typed_and_translated(door, keeper):
    case = workflow_case_open(workflow=door, title="gate")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        workflow_apply(workflow=door, obj=case, action="close", actor=keeper)
    assert codes(caught.value) == ["transition_not_allowed"]
    assert caught.value.messages == ["处于“closed”状态时不能执行“close”操作。"]
    with translation.override("zh-hans"), pytest.raises(PermissionDenied) as denied:
        workflow_apply(workflow=door, obj=case, action="break", actor=UserFactory(username="passer-by"))
    assert str(denied.value) == "您无权执行“break”操作。"
    assert WorkflowCase.objects.get(pk=case.pk).status == "closed"


def test_incidents_are_the_engines_first_user():
    from gridapp.incidents.models import Event
    from gridapp.incidents.workflow import TABLE

    incidents = workflow_get("gridapp.event")  # registered by gridapp's AppConfig.ready
    assert (incidents.model, incidents.table, incidents.change_prefix) == (Event, TABLE, "event")
