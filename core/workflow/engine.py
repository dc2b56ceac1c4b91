"""The workflow engine: a lifecycle as a table, fired through one function.

A workflow is a transition table (which action moves an object from which
status to which, who may fire it, what it needs, what it stamps) and the hooks
its app registers: how a person stands to an object (relations), the named
checks (needs), the named bookkeeping (effects), computed targets, the stage
clock (deadline), the history row, the change's audience, and whom to tell.
``workflow_apply`` is the one place that fires an action; the app's API reads
the same table for the buttons it shows (``Workflow.actions_open_to``), so the
buttons and the rules cannot disagree.

The engine knows no domain model: it reads and writes the fields the workflow
names (status, deadline, version, updated-at) and leaves every other column to
the workflow's effects and history hook.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.feed import change_record
from core.outbox import task_enqueue
from core.services import notification_send

#: A target that keeps the status (assignments, extensions, meter readings).
STAY = "stay"
#: Clocks: a rule either starts the new stage's clock (the workflow's ``deadline`` hook) or leaves the deadline
#: as it is (its effects may still set it: a hold stops it, a resume gives back the time left).
RESTART = "restart"
KEEP = "keep"

#: What the engine says when it refuses, by code; a workflow may word any of them its own way (``messages``).
MESSAGES = MappingProxyType({
    "unknown_action": _("Unknown action %(action)s."),
    "not_found": _("Not found."),
    "stale": _("It changed meanwhile (version %(now)d, not %(expected)d). Reload it."),
    "transition_not_allowed": _("In the status %(status)s the action '%(action)s' is not possible."),
    "permission_denied": _("You may not %(action)s this."),
})


class WorkflowError(ValidationError):
    """A refused action: a ``ValidationError`` with a code (and, when the fault is one input, that input's name),
    so the API's typed errors carry it as they carry every service's."""

    def __init__(self, message, *, code: str, field: str | None = None):
        if field is None:
            super().__init__(message, code=code)
        else:
            super().__init__({field: ValidationError(message, code=code)})
        self.code = code
        self.field = field


class WorkflowDenied(PermissionDenied):
    """The actor may see the object but holds no relation the rule names."""

    code = "permission_denied"


@dataclass(frozen=True)
class Transition:
    """One rule: ``action`` moves an object from any of ``sources`` to ``target``, fired by anyone holding one of
    the relations in ``who``, once every check in ``needs`` passes; ``effects`` run (in order) after the status
    changed, and ``clock`` says whether the new stage starts its own deadline."""

    action: str
    sources: frozenset[str]
    target: str
    who: frozenset[str]
    needs: frozenset[str] = frozenset()
    effects: tuple[str, ...] = ()
    clock: str = RESTART


def transition(action: str, sources: Iterable[str], target: str, who: Iterable[str], needs: Iterable[str] = (),
               effects: Iterable[str] = (), clock: str = RESTART) -> Transition:
    """A rule, written the way tables read (any iterables; order kept for effects)."""
    if clock not in {RESTART, KEEP}:
        raise ImproperlyConfigured(f"clock must be {RESTART!r} or {KEEP!r}, not {clock!r}")
    return Transition(action, frozenset(sources), target, frozenset(who), frozenset(needs), tuple(effects), clock)


class TransitionTable:
    """The rules of one lifecycle, looked up by action and status: at most one rule per pair."""

    def __init__(self, transitions: Iterable[Transition], *, actions: Iterable[str] | None = None):
        self.transitions = tuple(transitions)
        #: Every action, in the order buttons are listed (by default, the order of first appearance).
        self.actions = tuple(dict.fromkeys(actions if actions is not None else (t.action for t in self.transitions)))
        by_action_and_source: dict[tuple[str, str], Transition] = {}
        for rule in self.transitions:
            if rule.action not in self.actions:
                raise ImproperlyConfigured(f"rule for {rule.action!r}, which is not one of the actions")
            for source in rule.sources:
                if (rule.action, source) in by_action_and_source:
                    raise ImproperlyConfigured(f"two rules for {rule.action!r} from {source!r}")
                by_action_and_source[rule.action, source] = rule
        self._rules = by_action_and_source

    def rule(self, action: str, status: str) -> Transition | None:
        """The rule for firing ``action`` in ``status``, or None when the status does not allow it."""
        return self._rules.get((action, status))

    def actions_open_to(self, relations: Collection[str], status: str) -> list[str]:
        """Actions someone with ``relations`` may fire in ``status`` (before the needs are checked)."""
        held = set(relations)
        return [action for action in self.actions
                if (rule := self.rule(action, status)) is not None and rule.who & held]

    @property
    def sources(self) -> frozenset[str]:
        """Every status some action leaves."""
        return frozenset(source for rule in self.transitions for source in rule.sources)


@dataclass
class Attempt:
    """One firing of one rule, as the hooks see it: the locked object, who, what, with which inputs, when."""

    workflow: Workflow
    obj: Any
    actor: Any
    action: str
    rule: Transition | None  # None when a case opens (``core.workflow.cases``)
    relations: frozenset[str]
    params: dict
    now: datetime
    from_status: str
    #: What the history row records besides the statuses and the note (effects add to it).
    data: dict = field(default_factory=dict)
    #: The history row, once the workflow's history hook wrote it (the notices and tasks may refer to it).
    history: Any = None
    #: Scratch shared by the targets, effects and hooks of this one attempt.
    memo: dict = field(default_factory=dict)

    def param(self, name: str, default=None):
        return self.params.get(name, default)

    @property
    def status(self) -> str:
        return getattr(self.obj, self.workflow.status_field)


@dataclass(frozen=True)
class Notice:
    """A message for one person's inbox, written with the transition (a rollback writes none).  ``source`` makes
    it idempotent (see ``core.services.notification_send``)."""

    recipient: Any
    title: str
    body: str = ""
    source: str = ""


@dataclass(frozen=True)
class QueuedTask:
    """A task the transition decides, queued through the outbox: it runs only if the transition commits."""

    task: Any  # a Celery task or its name
    args: tuple = ()
    kwargs: Mapping = field(default_factory=dict)


Check = Callable[[Attempt], None]


@dataclass(frozen=True, kw_only=True)
class Workflow:
    """A lifecycle: the table and the hooks of the app that owns it.

    Hooks (all receive the ``Attempt`` unless said otherwise):

    - ``relations(actor, obj)``: the names of the relations ``actor`` (None: the system) holds to ``obj``.
    - ``needs``: name -> check that raises ``WorkflowError``; they run in this mapping's order, so which
      refusal a person hears first does not depend on how a rule lists them.
    - ``effects``: name -> bookkeeping after the status changed (timestamps, assignee, counters), in the
      rule's order; they may add to ``attempt.data``, which the history row records.
    - ``targets``: name -> the status a computed target resolves to (one stage back, the next step...).
    - ``deadline``: the new stage's deadline (None: no clock) for rules whose clock restarts.
    - ``rows(actor, pk)``: the rows the actor may act on, narrowed to ``pk`` (others answer ``not_found``);
      the engine locks the result.  Default: every row of ``model``.
    - ``history``: writes the history row (and what hangs on it, such as photos); returns it.
    - ``change(obj)``: the arguments of ``core.feed.change_record`` besides ``kind`` (the audience, the
      facts); the change's kind is ``"<change_prefix>.<action>"``.  Default: the object, with its status
      and version as the facts.
    - ``notices`` / ``tasks``: whom to tell (inbox rows, written with the transition; never the actor
      themself) and what to run after commit (through the outbox).
    """

    name: str
    model: type[models.Model]
    table: TransitionTable
    relations: Callable[[Any, Any], Collection[str]]
    needs: Mapping[str, Check] = field(default_factory=dict)
    effects: Mapping[str, Check] = field(default_factory=dict)
    targets: Mapping[str, Callable[[Attempt], str]] = field(default_factory=dict)
    deadline: Callable[[Attempt], datetime | None] | None = None
    rows: Callable[[Any, Any], models.QuerySet] | None = None
    history: Callable[[Attempt], Any] | None = None
    change: Callable[[Any], dict] | None = None
    change_prefix: str = ""
    notices: Callable[[Attempt], Iterable[Notice]] | None = None
    tasks: Callable[[Attempt], Iterable[QueuedTask]] | None = None
    #: How actions are named to people (messages, notifications); the action itself when absent.
    labels: Mapping[str, Any] = field(default_factory=dict)
    #: How statuses are named to people, when the status field has no choices of its own.
    status_labels: Mapping[str, Any] = field(default_factory=dict)
    #: The engine's refusals worded for this workflow, by code (see ``MESSAGES``).
    messages: Mapping[str, Any] = field(default_factory=dict)
    #: The input that names the object, for ``not_found`` (the API's argument, e.g. ``eventId``).
    id_field: str | None = None
    #: The status a new object starts in (for openers such as ``core.workflow.cases.workflow_case_open``).
    initial: str | None = None
    status_field: str = "status"
    deadline_field: str | None = "deadline"
    version_field: str | None = "version"
    updated_field: str | None = "updated_at"

    def __post_init__(self):
        if not self.change_prefix:
            object.__setattr__(self, "change_prefix", self.name)
        for attribute in ("status_field", "deadline_field", "version_field", "updated_field"):
            column = getattr(self, attribute)
            try:
                if column is not None:
                    self.model._meta.get_field(column)
            except FieldDoesNotExist:
                raise ImproperlyConfigured(
                    f"workflow {self.name}: {self.model.__name__} has no field {column!r}") from None
        for rule in self.table.transitions:
            unknown = (rule.needs - set(self.needs)) | (set(rule.effects) - set(self.effects))
            if unknown:
                raise ImproperlyConfigured(f"workflow {self.name}: {rule.action} names unregistered {sorted(unknown)}")

    # --- what the API asks -----------------------------------------------------------------------------------

    def parse_action(self, action: str) -> str:
        """``action`` as one of the table's actions; ``WorkflowError(code="unknown_action")`` otherwise."""
        for known in self.table.actions:
            if known == action:
                return known
        raise WorkflowError(self.message("unknown_action", action=action), code="unknown_action", field="action")

    def actions_open_to(self, relations: Collection[str], status: str) -> list[str]:
        return self.table.actions_open_to(relations, status)

    def label(self, action: str) -> str:
        return str(self.labels.get(action, action))

    def message(self, code: str, **params) -> str:
        return str(self.messages.get(code, MESSAGES[code])) % params

    def status_label(self, obj) -> str:
        status = getattr(obj, self.status_field)
        if status in self.status_labels:
            return str(self.status_labels[status])
        display = getattr(obj, f"get_{self.status_field}_display", None)
        return str(display()) if display else status

    # --- what the engine does --------------------------------------------------------------------------------

    def target(self, attempt: Attempt) -> str:
        target = attempt.rule.target
        if target == STAY:
            return attempt.from_status
        resolve = self.targets.get(target)
        return resolve(attempt) if resolve is not None else target

    def change_fields(self, obj) -> dict:
        if self.change is not None:
            return self.change(obj)
        version = getattr(obj, self.version_field) if self.version_field else None
        return {"facts": {"status": getattr(obj, self.status_field), "version": version}}

    def lock(self, actor, pk):
        rows = self.rows(actor, pk) if self.rows is not None else self.model._default_manager.filter(pk=pk)
        # Only this row: a join the workflow's queryset makes (the category of an event) is read, not locked.
        return rows.select_for_update(of=("self",)).filter(pk=pk).first()


def workflow_apply(*, workflow: Workflow | str, obj, action: str, actor, expected_version: int | None = None,
                   now: datetime | None = None, **params):
    """Fire ``action`` on ``obj`` (an instance or its primary key) as ``actor`` (None: the system); returns the
    object as it is after the transition.

    In one transaction: lock the row, refuse a stale ``expected_version``, find the rule for the action in the
    object's status, check that the actor holds one of its relations, run its needs, set the new status, run
    its effects, stamp the deadline, bump the version, save, write the history row (the workflow's hook) and
    the change row (``core.feed.change_record``), write the notices and queue the tasks (``core.outbox``).
    Of two people firing at once, one wins; the other finds the new status (``transition_not_allowed``) or,
    with ``expected_version``, ``stale``.  ``params`` reach the hooks as ``attempt.params``.

    Who may call: the workflow's own services (which check what the engine cannot: uploads, text limits).
    Raises ``WorkflowError`` with code ``unknown_action``, ``not_found`` (also for a row ``rows`` does not give
    the actor), ``stale``, ``transition_not_allowed`` or a need's code; ``WorkflowDenied`` when the actor
    holds none of the rule's relations.
    """
    if isinstance(workflow, str):
        workflow = workflow_get(workflow)
    action = workflow.parse_action(action)
    pk = obj.pk if isinstance(obj, models.Model) else obj
    now = now or timezone.now()
    with transaction.atomic():
        obj = workflow.lock(actor, pk)
        if obj is None:
            raise WorkflowError(workflow.message("not_found"), code="not_found", field=workflow.id_field)
        if expected_version is not None and workflow.version_field:
            version = getattr(obj, workflow.version_field)
            if version != expected_version:
                raise WorkflowError(workflow.message("stale", now=version, expected=expected_version), code="stale")
        status = getattr(obj, workflow.status_field)
        rule = workflow.table.rule(action, status)
        if rule is None:
            raise WorkflowError(workflow.message("transition_not_allowed", status=workflow.status_label(obj),
                                                 action=workflow.label(action)), code="transition_not_allowed")
        relations = frozenset(workflow.relations(actor, obj))
        if not rule.who & relations:
            raise WorkflowDenied(workflow.message("permission_denied", action=workflow.label(action)))
        attempt = Attempt(workflow=workflow, obj=obj, actor=actor, action=action, rule=rule, relations=relations,
                          params=params, now=now, from_status=status)
        for name, check in workflow.needs.items():
            if name in rule.needs:
                check(attempt)
        setattr(obj, workflow.status_field, workflow.target(attempt))
        for name in rule.effects:
            workflow.effects[name](attempt)
        if rule.clock == RESTART and workflow.deadline_field:
            setattr(obj, workflow.deadline_field, workflow.deadline(attempt) if workflow.deadline else None)
        if workflow.updated_field:
            setattr(obj, workflow.updated_field, now)
        if workflow.version_field:
            setattr(obj, workflow.version_field, getattr(obj, workflow.version_field) + 1)
        obj.save()
        if workflow.history is not None:
            attempt.history = workflow.history(attempt)
        change_record(kind=f"{workflow.change_prefix}.{action}", **{"obj": obj, **workflow.change_fields(obj)})
        for notice in workflow.notices(attempt) if workflow.notices else ():
            if actor is None or notice.recipient.pk != actor.pk:
                notification_send(recipient=notice.recipient, title=notice.title, body=notice.body,
                                  source=notice.source)
        for queued in workflow.tasks(attempt) if workflow.tasks else ():
            task_enqueue(queued.task, *queued.args, **dict(queued.kwargs))
    return obj


_workflows: dict[str, Workflow] = {}


def workflow_register(workflow: Workflow) -> Workflow:
    """Make ``workflow`` findable by its name (a stored case names the workflow it runs under; a task gets the
    name).  Call from an ``AppConfig.ready``; registering the same object again is harmless, another workflow
    under a taken name is a configuration error."""
    known = _workflows.setdefault(workflow.name, workflow)
    if known is not workflow:
        raise ImproperlyConfigured(f"a workflow named {workflow.name!r} is registered already")
    return workflow


def workflow_unregister(name: str) -> None:
    """Forget a workflow (tests that register their own)."""
    _workflows.pop(name, None)


def workflow_get(name: str) -> Workflow:
    """The registered workflow ``name``; ``LookupError`` when no app registered it."""
    try:
        return _workflows[name]
    except KeyError:
        raise LookupError(f"no workflow named {name!r} is registered") from None
