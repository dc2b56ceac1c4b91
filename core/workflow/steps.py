"""Multi-step approval workflows stored as data.

One transition table serves every stored definition: a case waits at a step (``in_review``) for the step's
holders, who approve (on to the next step, or approved after the last), reject with a reason, return it to
the applicant for correction, or ask for more materials; the applicant resubmits or supplies them and the
same step looks again, the history kept.  What differs between kinds of application is data: the steps of
a ``WorkflowDefinition`` version, each held by a role in an organisation at a level, each with a deadline.

The app that uses it says who holds a step (``holder_filter``: the steps a user holds, as a filter on
``WorkflowStep``; ``holders``: the users who hold a step) and, optionally, who acts as the applicant (an
agent within an authorisation) and whom a change reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.services import notification_send
from core.workflow.cases import CaseWorkflow
from core.workflow.engine import (
    Attempt,
    Notice,
    QueuedTask,
    TransitionTable,
    WorkflowError,
    transition,
    workflow_get,
)
from core.workflow.models import WorkflowCase, WorkflowDefinition, WorkflowStep

NOTE_LIMIT = 2000
HOLDERS_NOTIFY_TASK = "core.tasks.workflow_case_holders_notify_task"


class StepStatus(models.TextChoices):
    IN_REVIEW = "in_review", gettext_lazy("In review")
    RETURNED = "returned", gettext_lazy("Returned for correction")
    MATERIALS_REQUESTED = "materials_requested", gettext_lazy("More materials requested")
    APPROVED = "approved", gettext_lazy("Approved")
    REJECTED = "rejected", gettext_lazy("Rejected")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")


class StepAction(models.TextChoices):
    APPROVE = "approve", gettext_lazy("approve")
    REJECT = "reject", gettext_lazy("reject")
    RETURN = "return", gettext_lazy("return for correction")
    REQUEST_MATERIALS = "request_materials", gettext_lazy("ask for more materials")
    RESUBMIT = "resubmit", gettext_lazy("resubmit")
    SUPPLY_MATERIALS = "supply_materials", gettext_lazy("supply the materials")
    WITHDRAW = "withdraw", gettext_lazy("withdraw")


class StepRelation(StrEnum):
    APPLICANT = "applicant"  # who opened the case, or acts for them
    STEP_HOLDER = "step_holder"  # holds the step the case waits at
    SYSTEM = "system"


S, A, R = StepStatus, StepAction, StepRelation
FINAL = frozenset({S.APPROVED, S.REJECTED, S.WITHDRAWN})
NEXT = "next"  # the next step, or approved after the last

STEP_TRANSITIONS = (
    transition(A.APPROVE, {S.IN_REVIEW}, NEXT, {R.STEP_HOLDER}, {"not_own", "note"}, effects=("advance", "close")),
    transition(A.REJECT, {S.IN_REVIEW}, S.REJECTED, {R.STEP_HOLDER}, {"not_own", "note", "reason"}, ("close",)),
    transition(A.RETURN, {S.IN_REVIEW}, S.RETURNED, {R.STEP_HOLDER}, {"not_own", "note", "reason"}),
    transition(A.REQUEST_MATERIALS, {S.IN_REVIEW}, S.MATERIALS_REQUESTED, {R.STEP_HOLDER},
               {"not_own", "note", "reason", "materials"}, ("ask",)),
    transition(A.RESUBMIT, {S.RETURNED}, S.IN_REVIEW, {R.APPLICANT}, {"note"}),
    transition(A.SUPPLY_MATERIALS, {S.MATERIALS_REQUESTED}, S.IN_REVIEW, {R.APPLICANT}, {"note"}, ("supplied",)),
    transition(A.WITHDRAW, {S.IN_REVIEW, S.RETURNED, S.MATERIALS_REQUESTED}, S.WITHDRAWN, {R.APPLICANT}, {"note"},
               ("close",)),
)
STEP_TABLE = TransitionTable(STEP_TRANSITIONS, actions=A.values)


# --- needs, targets, effects -----------------------------------------------------------------------------------

def _not_own(attempt: Attempt) -> None:
    if R.APPLICANT in attempt.relations:
        raise WorkflowError(_("Someone other than the applicant must decide on this step."), code="own_case")


def _note(attempt: Attempt) -> None:
    note = (attempt.param("note") or "").strip()
    if len(note) > NOTE_LIMIT:
        raise WorkflowError(_("At most %(limit)d characters.") % {"limit": NOTE_LIMIT}, code="too_long", field="note")
    attempt.params["note"] = note


def _reason(attempt: Attempt) -> None:
    if not attempt.param("note"):
        raise WorkflowError(_("Give the reason in the note."), code="required", field="note")


def _materials(attempt: Attempt) -> None:
    materials = attempt.param("materials") or []
    if not isinstance(materials, list | tuple) or not all(isinstance(m, str) and 0 < len(m) <= 60 for m in materials):
        raise WorkflowError(_("Name each material asked for in at most 60 characters."), code="invalid_materials",
                            field="materials")


def _next_step(attempt: Attempt) -> str:
    case = attempt.obj
    following = (WorkflowStep.objects.filter(definition_id=case.definition_id, position__gt=case.step.position)
                 .order_by("position").first())
    attempt.memo["next_step"] = following
    return S.IN_REVIEW if following is not None else S.APPROVED


def _advance(attempt: Attempt) -> None:
    following = attempt.memo.get("next_step")
    if following is not None:
        attempt.memo["from_step_id"] = attempt.obj.step_id
        attempt.obj.step = following
        attempt.data["to_step"] = following.code


def _close(attempt: Attempt) -> None:
    if attempt.obj.status in FINAL:
        attempt.obj.closed_at = attempt.now


def _ask(attempt: Attempt) -> None:
    materials = list(attempt.param("materials") or [])
    attempt.obj.data = {**attempt.obj.data, "requested_materials": materials}
    attempt.data["materials"] = materials


def _supplied(attempt: Attempt) -> None:
    data = dict(attempt.obj.data)
    attempt.data["materials"] = data.pop("requested_materials", [])
    attempt.obj.data = data


def _deadline(attempt: Attempt) -> datetime | None:
    """The step's clock runs while the case waits at it; with the applicant, the holders' clock stops."""
    case = attempt.obj
    return attempt.now + timedelta(hours=case.step.deadline_hours) if case.status == S.IN_REVIEW else None


def _own_case(actor, case: WorkflowCase) -> bool:
    return case.opened_by_id == actor.pk


@dataclass(frozen=True, kw_only=True)
class StepWorkflow(CaseWorkflow):
    """A stored multi-step workflow.  ``holder_filter(user)`` is a ``Q`` on ``WorkflowStep`` for the steps the
    user holds (their organisation, level and role); ``holders(step)`` the active users who hold ``step``;
    ``applicant(user, case)`` whether the user acts for the applicant (default: opened the case)."""

    holder_filter: Callable[[object], Q]
    holders: Callable[[WorkflowStep], models.QuerySet]
    applicant: Callable[[object, WorkflowCase], bool] = _own_case
    open_action: str = "submit"

    def start(self, case: WorkflowCase, *, definition_key: str | None, now: datetime) -> None:
        definition = workflow_definition_current(key=definition_key or "")
        first = definition.steps.order_by("position").first() if definition else None
        if first is None:
            raise WorkflowError(_("No workflow is defined under %(key)s.") % {"key": definition_key},
                                code="unknown_workflow", field="definition_key")
        case.definition, case.step, case.status = definition, first, S.IN_REVIEW
        case.deadline = now + timedelta(hours=first.deadline_hours)

    def opened_tasks(self, case: WorkflowCase) -> list[QueuedTask]:
        return [QueuedTask(HOLDERS_NOTIFY_TASK, (case.pk, case.version))]

    def relations_of(self, actor, case: WorkflowCase, *, held: frozenset[int] | None = None) -> frozenset[str]:
        """How ``actor`` stands to ``case``; a list passes the ids of the steps the actor holds (one query for
        all its cases, ``workflow_steps_held_by``)."""
        if actor is None:
            return frozenset({R.SYSTEM})
        if not (actor.is_authenticated and actor.is_active):
            return frozenset()
        relations = set()
        if self.applicant(actor, case):
            relations.add(R.APPLICANT)
        if case.step_id is not None and (
                case.step_id in held if held is not None
                else WorkflowStep.objects.filter(self.holder_filter(actor), pk=case.step_id).exists()):
            relations.add(R.STEP_HOLDER)
        return frozenset(relations)


def step_workflow(*, name: str, holder_filter: Callable[[object], Q],
                  holders: Callable[[WorkflowStep], models.QuerySet], applicant=_own_case,
                  change: Callable[[WorkflowCase], dict] | None = None, change_prefix: str = "") -> StepWorkflow:
    """A stored multi-step workflow named ``name`` (register it with ``workflow_register`` in ``ready``)."""
    workflow: StepWorkflow

    def relations(actor, case):
        return workflow.relations_of(actor, case)

    workflow = StepWorkflow(
        name=name, table=STEP_TABLE, relations=relations, holder_filter=holder_filter, holders=holders,
        applicant=applicant, change=change, change_prefix=change_prefix,
        needs={"not_own": _not_own, "note": _note, "reason": _reason, "materials": _materials},
        effects={"advance": _advance, "close": _close, "ask": _ask, "supplied": _supplied},
        targets={NEXT: _next_step}, deadline=_deadline, notices=_notices, tasks=_tasks, labels=dict(A.choices),
        status_labels=dict(S.choices), messages=MESSAGES, id_field="caseId",
    )
    return workflow


def _notices(attempt: Attempt) -> list[Notice]:
    """The applicant hears of every decision that is theirs to read or to answer."""
    case = attempt.obj
    if case.opened_by_id is None or attempt.action not in {A.APPROVE, A.REJECT, A.RETURN, A.REQUEST_MATERIALS}:
        return []
    if attempt.action == A.APPROVE and case.status != S.APPROVED:
        return []  # on to the next step: nothing for the applicant to do yet
    title = _("%(case)s: %(status)s") % {"case": case.title or case.pk, "status": S(case.status).label}
    return [Notice(recipient=case.opened_by, title=title[:120], body=attempt.param("note") or "",
                   source=f"wfcase:{case.pk}:{case.version}:{case.opened_by_id}")]


def _tasks(attempt: Attempt) -> list[QueuedTask]:
    """A case that (again) waits at a step: its holders are told by a worker (a step may have many)."""
    case = attempt.obj
    return [QueuedTask(HOLDERS_NOTIFY_TASK, (case.pk, case.version))] if case.status == S.IN_REVIEW else []


MESSAGES = {
    "not_found": gettext_lazy("Case not found."),
    "stale": gettext_lazy("The case changed meanwhile (version %(now)d, not %(expected)d). Reload it."),
    "transition_not_allowed": gettext_lazy("A case that is %(status)s cannot be given the action '%(action)s'."),
    "permission_denied": gettext_lazy("You may not %(action)s this case at its current step."),
}


# --- definitions ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepSpec:
    code: str
    name: str
    level: str
    organisation: str
    role: str
    deadline_hours: int


def workflow_definition_current(*, key: str) -> WorkflowDefinition | None:
    """The newest version of ``key`` (the one new cases start on), or None."""
    return WorkflowDefinition.objects.filter(key=key).order_by("-version").first()


def workflow_definition_publish(*, key: str, title: str, steps: Sequence[StepSpec],
                                now: datetime | None = None) -> WorkflowDefinition:
    """Publish a new version of workflow ``key`` with ``steps`` in order; running cases keep theirs.

    Who may call: administrators (the admin, a seed command).  Raises ``ValidationError`` for a step the
    model refuses (``invalid_choice`` for a level, ``min_value`` for a deadline...), ``WorkflowError`` with
    code ``no_steps``, ``duplicate_step`` or ``published_meanwhile`` (another version of ``key`` was
    published at the same moment).
    """
    if not steps:
        raise WorkflowError(_("A workflow needs at least one step."), code="no_steps", field="steps")
    if len({spec.code for spec in steps}) != len(steps):
        raise WorkflowError(_("Two steps have the same code."), code="duplicate_step", field="steps")
    try:
        with transaction.atomic():
            latest = WorkflowDefinition.objects.select_for_update().filter(key=key).order_by("-version").first()
            definition = WorkflowDefinition(key=key, title=title, version=latest.version + 1 if latest else 1,
                                            created_at=now or timezone.now())
            definition.full_clean()
            definition.save()
            rows = [WorkflowStep(definition=definition, position=position, **vars(spec))
                    for position, spec in enumerate(steps, 1)]
            for row in rows:
                row.full_clean(validate_constraints=False)
            WorkflowStep.objects.bulk_create(rows)
    except IntegrityError:
        raise WorkflowError(_("Another version of this workflow was published meanwhile. Try again."),
                            code="published_meanwhile") from None
    return definition


# --- reads -----------------------------------------------------------------------------------------------------

def workflow_steps_held_by(*, workflow: StepWorkflow | str, user) -> models.QuerySet:
    """The steps (of every version) that ``user`` holds."""
    workflow = workflow_get(workflow) if isinstance(workflow, str) else workflow
    if not (user.is_authenticated and user.is_active):
        return WorkflowStep.objects.none()
    return WorkflowStep.objects.filter(workflow.holder_filter(user))


def workflow_cases_waiting_on(*, workflow: StepWorkflow | str, user) -> models.QuerySet:
    """The cases of ``workflow`` that wait at a step ``user`` holds, the most urgent first (a staff queue)."""
    workflow = workflow_get(workflow) if isinstance(workflow, str) else workflow
    steps = workflow_steps_held_by(workflow=workflow, user=user)
    return (WorkflowCase.objects.filter(workflow=workflow.name, status=S.IN_REVIEW, step__in=steps.values("pk"))
            .select_related("step", "definition").order_by("deadline", "id"))


def workflow_cases_overdue(*, workflow: StepWorkflow | str, now: datetime | None = None) -> models.QuerySet:
    workflow = workflow_get(workflow) if isinstance(workflow, str) else workflow
    return WorkflowCase.objects.filter(workflow=workflow.name, status=S.IN_REVIEW,
                                       deadline__lt=now or timezone.now())


# --- the holders' notification (a task) ------------------------------------------------------------------------

def workflow_case_holders_notify(*, case_id: int, version: int) -> int:
    """Tell every holder of the step a case waits at; returns how many were told.

    Who may call: ``core.tasks.workflow_case_holders_notify_task``.  Idempotent: a case that moved on since
    (another version) tells no one, and each holder is told once per version.
    """
    case = WorkflowCase.objects.select_related("step").filter(pk=case_id).first()
    if case is None or case.version != version or case.status != S.IN_REVIEW or case.step is None:
        return 0
    workflow = workflow_get(case.workflow)
    title = _("Waiting for you: %(case)s") % {"case": case.title or case.pk}
    body = _("%(step)s, due %(deadline)s") % {
        "step": case.step.name, "deadline": timezone.localtime(case.deadline).strftime("%Y-%m-%d %H:%M")}
    told = 0
    for user in workflow.holders(case.step):
        if notification_send(recipient=user, title=title[:120], body=body,
                             source=f"wfcase:{case.pk}:{version}:{user.pk}"):
            told += 1
    return told
