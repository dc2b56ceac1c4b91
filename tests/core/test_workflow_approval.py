"""An approval-shaped workflow stored as data: steps held by a role in an organisation at a level (district ->
province -> national), each with a deadline; approve, reject with a reason, return for correction and resubmit,
ask for more materials; a changed workflow affects new cases only.  The geographical-indication case of
MISSION section 3 is the definition."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from core.models import Notification, WorkflowCase, WorkflowCaseHistory, WorkflowDefinition
from core.workflow import WorkflowDenied, workflow_apply
from core.workflow.cases import workflow_case_open
from core.workflow.steps import (
    HOLDERS_NOTIFY_TASK,
    StepSpec,
    StepStatus,
    step_workflow,
    workflow_case_holders_notify,
    workflow_cases_overdue,
    workflow_cases_waiting_on,
    workflow_definition_publish,
    workflow_steps_held_by,
)
from tests.core.workflow_support import changes_of, codes, fields, queued
from tests.factories import DepartmentFactory, UserFactory

S = StepStatus
#: The level of each test organisation (the approvals app will keep this on its organisations).
LEVEL = {"msa": "district", "ip-province": "province", "ip-national": "national"}
STAFF = Role.DEPARTMENT_STAFF

GI_MARK = [  # MISSION section 3: the district accepts, the province approves and announces, the nation files
    StepSpec("accept", "受理", "district", "msa", STAFF, 72),
    StepSpec("approve", "审核批准", "province", "ip-province", STAFF, 240),
    StepSpec("announce", "公告", "province", "ip-province", STAFF, 120),
    StepSpec("file", "备案", "national", "ip-national", STAFF, 240),
]


def holder_filter(user) -> Q:
    if user.department_id is None:
        return Q(pk__in=[])
    code = user.department.code
    return Q(organisation=code, level=LEVEL.get(code, ""), role=user.role)


def holders(step):
    if LEVEL.get(step.organisation) != step.level:
        return User.objects.none()
    return User.objects.filter(is_active=True, department__code=step.organisation, role=step.role)


@pytest.fixture
def approval(register):
    return register(step_workflow(name="tests.approval", holder_filter=holder_filter, holders=holders))


@pytest.fixture
def people(db):
    made = {}
    for code in LEVEL:
        department = DepartmentFactory(code=code)
        made[code] = UserFactory(username=code, role=STAFF, department=department)
    made["msa2"] = UserFactory(username="msa2", role=STAFF, department=made["msa"].department)
    made["producer"] = UserFactory(username="producer", business=True)
    made["citizen"] = UserFactory(username="citizen", role=Role.CITIZEN)
    return made


@pytest.fixture
def gi_mark(db):
    return workflow_definition_publish(key="tests-gi-mark", title="地理标志专用标志使用申请", steps=GI_MARK)


def open_case(approval, people, key="tests-gi-mark", who="producer"):
    return workflow_case_open(workflow=approval, definition_key=key, opened_by=people[who], title="崂山绿茶 地理标志")


def act(approval, case, who, action, **params):
    return workflow_apply(workflow=approval, obj=case, action=action, actor=who, **params)


def trail(case) -> list[tuple]:
    return [(h.action, h.step.code if h.step else None, h.from_status, h.to_status)
            for h in WorkflowCaseHistory.objects.filter(case=case).select_related("step")]


def test_the_geographical_indication_case_runs_district_then_province_then_national(approval, people, gi_mark):
    before = timezone.now()
    case = open_case(approval, people)
    assert (case.status, case.step.code, case.definition.version) == (S.IN_REVIEW, "accept", 1)
    assert before + timedelta(hours=72) <= case.deadline <= timezone.now() + timedelta(hours=72)
    assert queued(HOLDERS_NOTIFY_TASK) == [[case.pk, 1]]  # decided with the submission, through the outbox
    assert workflow_case_holders_notify(case_id=case.pk, version=1) == 2  # both staff of the district bureau
    assert workflow_case_holders_notify(case_id=case.pk, version=1) == 0  # a retried task tells no one twice
    assert set(Notification.objects.filter(source__startswith=f"wfcase:{case.pk}:1:")
               .values_list("recipient__username", flat=True)) == {"msa", "msa2"}

    for outsider in ("ip-province", "producer", "citizen"):  # not the step's holders
        with pytest.raises(WorkflowDenied):
            act(approval, case, people[outsider], "approve")
    case = act(approval, case, people["msa"], "approve")
    assert (case.status, case.step.code, case.version) == (S.IN_REVIEW, "approve", 2)
    assert case.deadline > timezone.now() + timedelta(hours=239)
    assert workflow_case_holders_notify(case_id=case.pk, version=1) == 0  # the case moved on
    assert workflow_case_holders_notify(case_id=case.pk, version=2) == 1  # the provincial office
    with pytest.raises(WorkflowDenied):
        act(approval, case, people["msa"], "approve")  # the district's step is done

    case = act(approval, case, people["ip-province"], "approve")
    case = act(approval, case, people["ip-province"], "approve", note="已公告")
    assert case.step.code == "file"
    case = act(approval, case, people["ip-national"], "approve", note="已备案")
    assert (case.status, case.step.code, case.deadline) == (S.APPROVED, "file", None)
    assert case.closed_at is not None
    assert queued(HOLDERS_NOTIFY_TASK) == [[case.pk, v] for v in (1, 2, 3, 4)]  # none after the last step
    assert trail(case) == [
        ("submit", "accept", "", S.IN_REVIEW),
        ("approve", "accept", S.IN_REVIEW, S.IN_REVIEW),
        ("approve", "approve", S.IN_REVIEW, S.IN_REVIEW),
        ("approve", "announce", S.IN_REVIEW, S.IN_REVIEW),
        ("approve", "file", S.IN_REVIEW, S.APPROVED),
    ]
    assert changes_of(case) == ["tests.approval.submit"] + ["tests.approval.approve"] * 4
    told = Notification.objects.get(recipient=people["producer"])
    assert "崂山绿茶" in told.title and told.body == "已备案"  # only the outcome reaches the applicant
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["ip-national"], "approve")
    assert codes(caught.value) == ["transition_not_allowed"]


def test_return_for_correction_then_resubmit_keeps_the_history(approval, people, gi_mark):
    case = open_case(approval, people)
    case = act(approval, case, people["msa"], "approve")
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["ip-province"], "return")
    assert codes(caught.value) == ["required"] and fields(caught.value) == ["note"]

    case = act(approval, case, people["ip-province"], "return", note="产地范围图不清晰")
    assert (case.status, case.step.code, case.deadline) == (S.RETURNED, "approve", None)  # the holders' clock stops
    assert Notification.objects.get(recipient=people["producer"]).body == "产地范围图不清晰"
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["ip-province"], "approve")
    assert codes(caught.value) == ["transition_not_allowed"]
    with pytest.raises(WorkflowDenied):
        act(approval, case, people["ip-province"], "resubmit")  # the applicant's move

    case = act(approval, case, people["producer"], "resubmit", note="已更换产地范围图")
    assert (case.status, case.step.code) == (S.IN_REVIEW, "approve")  # the same step looks again
    assert case.deadline > timezone.now() + timedelta(hours=239)  # with a fresh clock
    assert queued(HOLDERS_NOTIFY_TASK)[-1] == [case.pk, case.version]
    assert trail(case) == [
        ("submit", "accept", "", S.IN_REVIEW),
        ("approve", "accept", S.IN_REVIEW, S.IN_REVIEW),
        ("return", "approve", S.IN_REVIEW, S.RETURNED),
        ("resubmit", "approve", S.RETURNED, S.IN_REVIEW),
    ]
    assert WorkflowCaseHistory.objects.filter(case=case, action="return").get().note == "产地范围图不清晰"


def test_asking_for_more_materials_waits_for_the_applicant(approval, people, gi_mark):
    case = open_case(approval, people)
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["msa"], "request_materials", note="缺质量检测报告", materials=["x" * 61])
    assert codes(caught.value) == ["invalid_materials"]
    case = act(approval, case, people["msa"], "request_materials", note="缺质量检测报告",
               materials=["quality-report"])
    assert case.status == S.MATERIALS_REQUESTED and case.data == {"requested_materials": ["quality-report"]}
    assert Notification.objects.filter(recipient=people["producer"], body="缺质量检测报告").exists()
    case = act(approval, case, people["producer"], "supply_materials")
    assert (case.status, case.step.code, case.data) == (S.IN_REVIEW, "accept", {})
    supplied = WorkflowCaseHistory.objects.filter(case=case).last()
    assert (supplied.action, supplied.data) == ("supply_materials", {"materials": ["quality-report"]})


def test_a_rejection_needs_a_reason_and_ends_the_case(approval, people, gi_mark):
    case = open_case(approval, people)
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["msa"], "reject", note="   ")
    assert codes(caught.value) == ["required"]
    case = act(approval, case, people["msa"], "reject", note="不属于地理标志产品保护范围")
    assert (case.status, case.deadline) == (S.REJECTED, None) and case.closed_at is not None
    assert Notification.objects.get(recipient=people["producer"]).body == "不属于地理标志产品保护范围"
    for who, action in (("producer", "withdraw"), ("producer", "resubmit"), ("msa", "approve")):
        with pytest.raises(ValidationError) as caught:
            act(approval, case, people[who], action)
        assert codes(caught.value) == ["transition_not_allowed"]


def test_no_one_decides_their_own_case(approval, people, gi_mark):
    case = open_case(approval, people, who="msa2")  # staff of the accepting bureau apply themselves
    assert approval.actions_open_to(approval.relations(people["msa2"], case), case.status) == [
        "approve", "reject", "return", "request_materials", "withdraw"]  # the buttons; the needs check again
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["msa2"], "approve")
    assert codes(caught.value) == ["own_case"]
    assert act(approval, case, people["msa"], "approve").step.code == "approve"


def test_a_changed_workflow_affects_new_cases_only(approval, people, gi_mark):
    running = open_case(approval, people)
    revised = workflow_definition_publish(key="tests-gi-mark", title="地理标志（简化）", steps=[
        StepSpec("accept", "受理", "district", "msa", STAFF, 48),
        StepSpec("file", "备案", "national", "ip-national", STAFF, 100)])
    assert revised.version == 2 and gi_mark.in_use and not revised.in_use
    new = open_case(approval, people)
    assert (new.definition_id, new.deadline - new.opened_at) == (revised.pk, timedelta(hours=48))

    new = act(approval, new, people["msa"], "approve")
    assert new.step.code == "file"  # the revision's second step
    running = act(approval, running, people["msa"], "approve")
    assert running.step.code == "approve"  # the version it started on
    for who in ("ip-province", "ip-province", "ip-national"):
        running = act(approval, running, people[who], "approve")
    assert running.status == S.APPROVED and running.definition.version == 1
    assert act(approval, new, people["ip-national"], "approve").status == S.APPROVED


def test_a_definition_is_checked_before_it_is_published(db):
    with pytest.raises(ValidationError) as caught:
        workflow_definition_publish(key="k", title="t", steps=[])
    assert codes(caught.value) == ["no_steps"]
    with pytest.raises(ValidationError) as caught:
        workflow_definition_publish(key="k", title="t", steps=[GI_MARK[0], GI_MARK[0]])
    assert codes(caught.value) == ["duplicate_step"]
    with pytest.raises(ValidationError) as caught:
        workflow_definition_publish(key="k", title="t", steps=[StepSpec("a", "A", "city", "msa", STAFF, 0)])
    assert sorted(codes(caught.value)) == ["invalid_choice", "min_value"]
    assert not WorkflowDefinition.objects.filter(key="k").exists()


def test_an_unknown_definition_or_action_is_a_typed_error(approval, people, gi_mark):
    with pytest.raises(ValidationError) as caught:
        open_case(approval, people, key="no-such-workflow")
    assert codes(caught.value) == ["unknown_workflow"] and fields(caught.value) == ["definition_key"]
    case = open_case(approval, people)
    with pytest.raises(ValidationError) as caught:
        act(approval, case, people["msa"], "stamp")
    assert codes(caught.value) == ["unknown_action"] and fields(caught.value) == ["action"]
    with pytest.raises(ValidationError) as caught:
        act(approval, case.pk + 1000, people["msa"], "approve")
    assert codes(caught.value) == ["not_found"] and fields(caught.value) == ["caseId"]


def test_the_staff_queue_holds_what_waits_at_their_steps_the_most_urgent_first(approval, people, gi_mark):
    first = open_case(approval, people)
    second = open_case(approval, people)
    WorkflowCase.objects.filter(pk=second.pk).update(deadline=first.deadline - timedelta(hours=1))
    assert list(workflow_cases_waiting_on(workflow=approval, user=people["msa"])) == [second, first]
    assert list(workflow_cases_waiting_on(workflow="tests.approval", user=people["ip-province"])) == []
    act(approval, first, people["msa"], "approve")
    assert list(workflow_cases_waiting_on(workflow=approval, user=people["ip-province"])) == [first]
    assert list(workflow_cases_waiting_on(workflow=approval, user=people["producer"])) == []
    assert list(workflow_cases_overdue(workflow=approval, now=timezone.now() + timedelta(hours=73))) == [second]
    held = frozenset(workflow_steps_held_by(workflow=approval, user=people["msa"]).values_list("pk", flat=True))
    assert approval.relations_of(people["msa"], second, held=held) == approval.relations(people["msa"], second)


def test_a_stale_version_is_refused(approval, people, gi_mark):
    case = open_case(approval, people)
    with pytest.raises(ValidationError) as caught:
        workflow_apply(workflow=approval, obj=case, action="approve", actor=people["msa"], expected_version=2)
    assert codes(caught.value) == ["stale"]
    assert WorkflowCase.objects.get(pk=case.pk).version == 1


@pytest.mark.django_db(transaction=True)
def test_two_holders_approving_at_once_move_the_case_one_step(approval, people, gi_mark):
    import threading

    from django.db import connection

    case = open_case(approval, people)
    start = threading.Barrier(2)
    outcomes = []

    def approve(user):
        start.wait()
        try:
            workflow_apply(workflow=approval, obj=case.pk, action="approve", actor=user, expected_version=1)
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(codes(exc)[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(people[name],)) for name in ("msa", "msa2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["ok", "stale"]
    case.refresh_from_db()
    assert (case.step.code, case.version) == ("approve", 2)
    assert [h.action for h in case.history.all()] == ["submit", "approve"]
