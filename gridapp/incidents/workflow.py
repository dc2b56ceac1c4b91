"""The incident lifecycle as data: which action moves an event from which status to which,
who may fire it and what it requires.

``gridapp.incidents.services.event_transition`` is the one place that reads this
table; the API lists the actions a viewer may fire from it, so the buttons on
the phone and the rules in the service can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

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

#: Targets that are not a fixed status.
STAY = "stay"  # the status does not change (assignment, extensions)
BACK = "back"  # one stage back (see PREVIOUS)
HELD = "held"  # the status the event was in when it was put on hold

#: The stage each stage returns to.
PREVIOUS = {
    S.ACCEPTED: S.REPORTED,
    S.DISPATCHED: S.ACCEPTED,
    S.IN_PROGRESS: S.DISPATCHED,
    S.RESOLVED: S.IN_PROGRESS,
}

R = Relation
OFFICE = frozenset({R.DEPARTMENT, R.COMMAND_CENTRE})
TIMED_WORK = frozenset({S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS})


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[str]
    target: str
    who: frozenset[Relation]
    needs: frozenset[Need] = frozenset()


def _t(action, sources, target, who, needs=()) -> Transition:
    return Transition(Action(action), frozenset(sources), target, frozenset(who), frozenset(needs))


TRANSITIONS: tuple[Transition, ...] = (
    _t("accept", {S.REPORTED}, S.ACCEPTED, OFFICE),
    _t("reject", {S.REPORTED}, S.REJECTED, OFFICE, {Need.NOTE}),
    _t("void", {S.REPORTED, S.ACCEPTED}, S.VOID, {R.REPORTER, R.COMMAND_CENTRE}, {Need.NOTE}),
    _t("dispatch", {S.ACCEPTED}, S.DISPATCHED, OFFICE, {Need.ASSIGNEE}),
    _t("assign", {S.DISPATCHED, S.IN_PROGRESS}, STAY, OFFICE, {Need.ASSIGNEE}),
    _t("start", {S.DISPATCHED}, S.IN_PROGRESS, {R.ASSIGNEE}),
    _t("resolve", {S.DISPATCHED, S.IN_PROGRESS}, S.RESOLVED, {R.ASSIGNEE, R.DEPARTMENT},
       {Need.NOTE, Need.PHOTO_IF_CATEGORY_SAYS}),
    _t("verify", {S.RESOLVED}, S.VERIFIED, {R.REPORTER, R.GRID_WORKER, R.SUPERVISOR, R.COMMAND_CENTRE, R.SYSTEM},
       {Need.NOT_THE_RESOLVER, Need.SITE_CONFIRMED}),
    _t("close", {S.VERIFIED}, S.CLOSED, {*OFFICE, R.SYSTEM}),
    # Sent back one stage: the assignee hands a task back, the office undoes a step.
    _t("return", {S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS}, BACK, {*OFFICE, R.ASSIGNEE}, {Need.NOTE}),
    # A resolution that does not hold up on site goes back to the handler; four eyes as for verify.
    _t("return", {S.RESOLVED}, BACK, {R.REPORTER, R.GRID_WORKER, R.SUPERVISOR, R.COMMAND_CENTRE, R.SYSTEM},
       {Need.NOTE, Need.NOT_THE_RESOLVER}),
    _t("hold", TIMED_WORK, S.ON_HOLD, OFFICE, {Need.NOTE}),
    _t("resume", {S.ON_HOLD}, HELD, OFFICE),
    _t("reopen", {S.VERIFIED, S.CLOSED}, S.ACCEPTED, {R.REPORTER, R.SUPERVISOR, R.COMMAND_CENTRE, R.SYSTEM},
       {Need.NOTE}),
    _t("request_extension", TIMED_WORK, STAY, {R.ASSIGNEE, R.DEPARTMENT},
       {Need.NOTE, Need.HOURS, Need.NO_PENDING_EXTENSION}),
    _t("approve_extension", TIMED_WORK, STAY, {R.SUPERVISOR, R.COMMAND_CENTRE}, {Need.PENDING_EXTENSION}),
    _t("deny_extension", TIMED_WORK, STAY, {R.SUPERVISOR, R.COMMAND_CENTRE}, {Need.NOTE, Need.PENDING_EXTENSION}),
)

_BY_ACTION_AND_SOURCE = {(t.action, source): t for t in TRANSITIONS for source in t.sources}
assert len(_BY_ACTION_AND_SOURCE) == sum(len(t.sources) for t in TRANSITIONS), "one rule per action and status"


def transition_for(action: Action, status: str) -> Transition | None:
    """The rule for firing ``action`` on an event in ``status``, or None when the status does not allow it."""
    return _BY_ACTION_AND_SOURCE.get((Action(action), status))


def target_status(rule: Transition, *, status: str, held_from: str) -> str:
    if rule.target == STAY:
        return status
    if rule.target == BACK:
        return PREVIOUS[status]
    if rule.target == HELD:
        return held_from or S.ACCEPTED
    return rule.target


def actions_open_to(relations: frozenset[Relation] | set[Relation], status: str) -> list[Action]:
    """Actions someone with ``relations`` may fire on an event in ``status`` (ignoring the needs)."""
    return [action for action in Action
            if (rule := transition_for(action, status)) is not None and rule.who & set(relations)]
