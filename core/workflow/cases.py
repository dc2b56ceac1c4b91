"""Workflows whose cases live in ``core.WorkflowCase``: the hooks they share (history row, rows, change) and
the one service that opens a case.

An app that needs a lifecycle but no table of its own (an approval on stored steps, a moderation, a small
device session) builds a ``CaseWorkflow`` with its table and relations, registers it in ``AppConfig.ready``,
opens cases with ``workflow_case_open`` and fires actions with ``core.workflow.workflow_apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from core.audiences import scope
from core.feed import change_record
from core.outbox import task_enqueue
from core.workflow.engine import Attempt, QueuedTask, Workflow, workflow_get
from core.workflow.models import WorkflowCase, WorkflowCaseHistory


def actor_label(actor) -> str:
    """How a history row names who acted (kept even if the account goes)."""
    if actor is None:
        return "system"
    return f"{getattr(actor, 'display_name', '') or actor.username} ({actor.username})"[:150]


def case_history_write(attempt: Attempt) -> WorkflowCaseHistory:
    """The history hook of every case workflow: one row per action, at the step it was taken at."""
    case = attempt.obj
    return WorkflowCaseHistory.objects.create(
        case=case, at=attempt.now, actor=attempt.actor, actor_label=actor_label(attempt.actor),
        action=attempt.action, from_status=attempt.from_status, to_status=case.status,
        step_id=attempt.memo.get("from_step_id", case.step_id), note=attempt.param("note", "") or "",
        data=attempt.data,
    )


@dataclass(frozen=True, kw_only=True)
class CaseWorkflow(Workflow):
    """A workflow on ``WorkflowCase``: the model, the history row and the rows (this workflow's cases) are given;
    the app brings the table, ``relations``, ``initial`` and any other hook."""

    model: type = WorkflowCase
    #: The history action of opening a case.
    open_action: str = "open"

    def __post_init__(self):
        if self.history is None:
            object.__setattr__(self, "history", case_history_write)
        if self.rows is None:
            object.__setattr__(self, "rows", self._rows)
        if self.change is None:
            object.__setattr__(self, "change", self._change)
        super().__post_init__()

    def _rows(self, actor, pk):
        return WorkflowCase.objects.filter(workflow=self.name, pk=pk).select_related("step", "definition")

    def _change(self, case: WorkflowCase) -> dict:
        """By default the case's change reaches whoever opened it."""
        return {"to": [scope("user", case.opened_by_id)] if case.opened_by_id is not None else [],
                "facts": {"status": case.status, "version": case.version}}

    def start(self, case: WorkflowCase, *, definition_key: str | None, now: datetime) -> None:
        """Put a new case in its first status and start that stage's clock (a step workflow also pins its
        definition and first step)."""
        if self.initial is None:
            raise ImproperlyConfigured(f"workflow {self.name} has no initial status")
        case.status = self.initial
        if self.deadline is not None:
            opening = Attempt(workflow=self, obj=case, actor=case.opened_by, action=self.open_action, rule=None,
                              relations=frozenset(), params={}, now=now, from_status="")
            case.deadline = self.deadline(opening)

    def opened_tasks(self, case: WorkflowCase) -> list[QueuedTask]:
        """Tasks to queue when a case opens (a step workflow tells the first step's holders)."""
        return []


def workflow_case_open(*, workflow: CaseWorkflow | str, title: str, opened_by=None, definition_key: str | None = None,
                       data: dict | None = None, now: datetime | None = None) -> WorkflowCase:
    """Open a case of ``workflow`` (its history row ``open_action``, its change ``<prefix>.<open_action>``).

    Who may call: the owning app's services, after their own checks (who may apply, what is submitted).  A
    step workflow needs ``definition_key`` and pins the newest version of it.  Raises ``WorkflowError`` with
    code ``unknown_workflow`` (no definition under that key).
    """
    if isinstance(workflow, str):
        workflow = workflow_get(workflow)
    now = now or timezone.now()
    with transaction.atomic():
        case = WorkflowCase(workflow=workflow.name, title=title[:200], opened_by=opened_by, opened_at=now,
                            updated_at=now, data=data or {})
        workflow.start(case, definition_key=definition_key, now=now)
        case.save()
        WorkflowCaseHistory.objects.create(
            case=case, at=now, actor=opened_by, actor_label=actor_label(opened_by), action=workflow.open_action,
            from_status="", to_status=case.status, step=case.step, data={"definition_version": case.definition.version}
            if case.definition_id else {})
        change_record(kind=f"{workflow.change_prefix}.{workflow.open_action}",
                      **{"obj": case, **workflow.change_fields(case)})
        for queued in workflow.opened_tasks(case):
            task_enqueue(queued.task, *queued.args, **dict(queued.kwargs))
    return case
