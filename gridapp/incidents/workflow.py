"""The incident lifecycle as data: which action moves an event from which status to which,
who may fire it, what it requires and what it stamps.

The table is read by the platform's workflow engine (``core.workflow``) through
``gridapp.incidents.services.transitions.INCIDENT_WORKFLOW``, which registers the
relations, needs and effects named here; the API lists the actions a viewer may
fire from the same table, so the buttons on the phone and the rules in the
service can never disagree.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from core.workflow import KEEP, RESTART, STAY, Transition, TransitionTable, transition
from gridapp.incidents.models import EventStatus as S


class Relation(StrEnum):
    """How a person stands to one event."""

    REPORTER = "reporter"
    GRID_WORKER = "grid_worker"  # works in the event's grid
    DEPARTMENT = "department"  # staff of the department the event is routed to
    ASSIGNEE = "assignee"
    SUPERVISOR = "supervisor"  # supervises the event's community or street
    COMMAND_CENTRE = "command_centre"  # operators and administrators
    SYSTEM = "system"  # Celery tasks, the cameras' AI: no person


class Need(StrEnum):
    NOTE = "note"
    PHOTO_IF_CATEGORY_SAYS = "photo_if_category_says"
    ASSIGNEE = "assignee"
    HOURS = "hours"
    NOT_THE_RESOLVER = "not_the_resolver"  # four eyes: whoever verifies did not resolve
    SITE_CONFIRMED = "site_confirmed"  # no registered site check (a camera watching the place) objects
    PENDING_EXTENSION = "pending_extension"
    NO_PENDING_EXTENSION = "no_pending_extension"


class Effect(StrEnum):
    """The bookkeeping a transition does besides moving the status and the stage clock."""

    ASSIGN = "assign"  # the assignee the action names
    ACCEPTED_AT = "accepted_at"
    DISPATCHED_AT = "dispatched_at"
    RESOLVED = "resolved"  # resolved at, by whom
    UNRESOLVED = "unresolved"  # a resolution that did not hold up
    REOPENED = "reopened"  # closed, resolved and dispatched forgotten
    CLOSED_AT = "closed_at"
    UNASSIGN_BEFORE_DISPATCH = "unassign_before_dispatch"  # back before dispatch: no one handles it
    HOLD = "hold"  # the clock stops, the time left is kept
    RESUME = "resume"  # the time left is given back
    EXTENSION_REQUEST = "extension_request"
    EXTENSION_DECISION = "extension_decision"


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    VOID = "void"
    DISPATCH = "dispatch"
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    VERIFY = "verify"
    CLOSE = "close"
    RETURN = "return"
    HOLD = "hold"
    RESUME = "resume"
    REOPEN = "reopen"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"


#: How an action is named to people (messages, notifications).
ACTION_LABELS = {
    Action.ACCEPT: _("accept"), Action.REJECT: _("reject"), Action.VOID: _("void"), Action.DISPATCH: _("dispatch"),
    Action.ASSIGN: _("assign"), Action.START: _("start"), Action.RESOLVE: _("resolve"), Action.VERIFY: _("verify"),
    Action.CLOSE: _("close"), Action.RETURN: _("return"), Action.HOLD: _("put on hold"), Action.RESUME: _("resume"),
    Action.REOPEN: _("reopen"), Action.REQUEST_EXTENSION: _("request an extension"),
    Action.APPROVE_EXTENSION: _("approve the extension"), Action.DENY_EXTENSION: _("deny the extension"),
}

#: Targets that are not a fixed status (``STAY``, the status does not change, is the engine's own).
BACK = "back"  # one stage back (see PREVIOUS)
HELD = "held"  # the status the event was in when it was put on hold

#: The stage each stage returns to.
PREVIOUS = {
    S.ACCEPTED: S.REPORTED,
    S.DISPATCHED: S.ACCEPTED,
    S.IN_PROGRESS: S.DISPATCHED,
    S.RESOLVED: S.IN_PROGRESS,
}

R, E = Relation, Effect
OFFICE = frozenset({R.DEPARTMENT, R.COMMAND_CENTRE})
TIMED_WORK = frozenset({S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS})
CHECKERS = frozenset({R.REPORTER, R.GRID_WORKER, R.SUPERVISOR, R.COMMAND_CENTRE, R.SYSTEM})


def _t(action, sources, target, who, needs=(), effects=(), clock=RESTART) -> Transition:
    return transition(Action(action), sources, target, who, needs, effects, clock)


# Every rule starts the new stage's clock (the category's hours for it) unless it says KEEP.
TRANSITIONS: tuple[Transition, ...] = (
    # The system accepts and dispatches too: a sensor's welfare alarm goes straight to the worker of the grid.
    _t("accept", {S.REPORTED}, S.ACCEPTED, {*OFFICE, R.SYSTEM}, effects=[E.ACCEPTED_AT]),
    _t("reject", {S.REPORTED}, S.REJECTED, OFFICE, {Need.NOTE}, [E.CLOSED_AT]),
    _t("void", {S.REPORTED, S.ACCEPTED}, S.VOID, {R.REPORTER, R.COMMAND_CENTRE}, {Need.NOTE}, [E.CLOSED_AT]),
    _t("dispatch", {S.ACCEPTED}, S.DISPATCHED, {*OFFICE, R.SYSTEM}, {Need.ASSIGNEE}, [E.ASSIGN, E.DISPATCHED_AT]),
    _t("assign", {S.DISPATCHED, S.IN_PROGRESS}, STAY, OFFICE, {Need.ASSIGNEE}, [E.ASSIGN], clock=KEEP),
    # Entering in-progress keeps the deadline the dispatch set.
    _t("start", {S.DISPATCHED}, S.IN_PROGRESS, {R.ASSIGNEE}, clock=KEEP),
    _t("resolve", {S.DISPATCHED, S.IN_PROGRESS}, S.RESOLVED, {R.ASSIGNEE, R.DEPARTMENT},
       {Need.NOTE, Need.PHOTO_IF_CATEGORY_SAYS}, [E.RESOLVED]),
    _t("verify", {S.RESOLVED}, S.VERIFIED, CHECKERS, {Need.NOT_THE_RESOLVER, Need.SITE_CONFIRMED}),
    _t("close", {S.VERIFIED}, S.CLOSED, {*OFFICE, R.SYSTEM}, effects=[E.CLOSED_AT]),
    # Sent back one stage: the assignee hands a task back, the office undoes a step.
    _t("return", {S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS}, BACK, {*OFFICE, R.ASSIGNEE}, {Need.NOTE},
       [E.UNASSIGN_BEFORE_DISPATCH]),
    # A resolution that does not hold up on site goes back to the handler; four eyes as for verify.
    _t("return", {S.RESOLVED}, BACK, CHECKERS, {Need.NOTE, Need.NOT_THE_RESOLVER}, [E.UNRESOLVED]),
    _t("hold", TIMED_WORK, S.ON_HOLD, OFFICE, {Need.NOTE}, [E.HOLD], clock=KEEP),
    _t("resume", {S.ON_HOLD}, HELD, OFFICE, effects=[E.RESUME], clock=KEEP),
    _t("reopen", {S.VERIFIED, S.CLOSED}, S.ACCEPTED, {R.REPORTER, R.SUPERVISOR, R.COMMAND_CENTRE, R.SYSTEM},
       {Need.NOTE}, [E.ACCEPTED_AT, E.REOPENED, E.UNASSIGN_BEFORE_DISPATCH]),
    _t("request_extension", TIMED_WORK, STAY, {R.ASSIGNEE, R.DEPARTMENT},
       {Need.NOTE, Need.HOURS, Need.NO_PENDING_EXTENSION}, [E.EXTENSION_REQUEST], clock=KEEP),
    _t("approve_extension", TIMED_WORK, STAY, {R.SUPERVISOR, R.COMMAND_CENTRE}, {Need.PENDING_EXTENSION},
       [E.EXTENSION_DECISION], clock=KEEP),
    _t("deny_extension", TIMED_WORK, STAY, {R.SUPERVISOR, R.COMMAND_CENTRE},
       {Need.NOTE, Need.PENDING_EXTENSION}, [E.EXTENSION_DECISION], clock=KEEP),
)
TABLE = TransitionTable(TRANSITIONS, actions=tuple(Action))
#: How the targets that are not a fixed status resolve.
TARGETS = {
    BACK: lambda attempt: PREVIOUS[attempt.from_status],
    HELD: lambda attempt: attempt.obj.held_from or S.ACCEPTED,
}


def transition_for(action: Action, status: str) -> Transition | None:
    """The rule for firing ``action`` on an event in ``status``, or None when the status does not allow it."""
    return TABLE.rule(Action(action), status)


def actions_open_to(relations: frozenset[Relation] | set[Relation], status: str) -> list[Action]:
    """Actions someone with ``relations`` may fire on an event in ``status`` (ignoring the needs)."""
    return TABLE.actions_open_to(relations, status)
