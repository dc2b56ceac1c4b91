"""Transitions of incidents: one action of the transition table (``gridapp.incidents.workflow``) at a time, or
the same action on many events, fired through the platform's workflow engine (``core.workflow``).

``INCIDENT_WORKFLOW`` is the table with the incidents' hooks: how a person stands to an event, the needs, the
effects, the stage clock, the history row with its photos, the change's audience and whom to tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from core.workflow import Attempt, Notice, Workflow, WorkflowError, workflow_apply
from gridapp.geography import selectors as geography
from gridapp.incidents import selectors
from gridapp.incidents.closing import event_closed
from gridapp.incidents.models import Event, EventStatus, PhotoStage
from gridapp.incidents.services.common import (
    event_change_fields,
    event_history_write,
    files_discard,
    photos_prepare,
    photos_store,
    stage_deadline,
    text_clean,
)
from gridapp.incidents.services.relations import event_relations
from gridapp.incidents.verification import site_check_refusal
from gridapp.incidents.workflow import ACTION_LABELS, TABLE, TARGETS, Action, Effect, Need

S = EventStatus
MAX_BULK = 100


def event_transition(
    *,
    actor,
    event_id: int,
    action: str,
    note: str = "",
    photos: Sequence = (),
    assignee=None,
    hours: int | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Event:
    """Fire one action of ``gridapp.incidents.workflow`` on an event: check who and what, move it, write history and feed.

    Who may call: whoever the transition table names for the action and the
    event's status (``actor=None`` is the system).  The event row is locked,
    so of two people firing the same transition at once one succeeds and the
    other gets ``transition_not_allowed`` (or ``stale`` with ``expected_version``).

    Raises ``ValidationError`` with code ``not_found`` (also for an event the
    actor may not see), ``unknown_action``, ``transition_not_allowed``,
    ``stale``, ``required`` (note, assignee), ``photo_required``,
    ``same_person`` (verifying one's own resolution), ``not_confirmed_on_site`` (a camera watching the
    place does not confirm the result yet: ``gridapp.incidents.verification``), ``invalid_assignee``,
    ``invalid_hours``, ``extension_pending``, ``no_extension``, ``too_long``
    or a photo's code; ``PermissionDenied`` when the actor may see the event
    but not fire this action.
    """
    action = INCIDENT_WORKFLOW.parse_action(action)
    note = text_clean(note, field="note", limit=2000)
    # Only an event the actor may see: the photos' position check must not reveal where others' events are.
    visible = Event.objects if actor is None else selectors.events_visible_to(actor)
    located = visible.filter(pk=event_id).values_list("lng", "lat").first()
    if located is None:
        raise WorkflowError(INCIDENT_WORKFLOW.message("not_found"), code="not_found", field="eventId")
    ingested = photos_prepare(photos, lng=located[0], lat=located[1])
    written: list[str] = []
    try:
        return workflow_apply(workflow=INCIDENT_WORKFLOW, obj=event_id, action=action, actor=actor,
                              expected_version=expected_version, now=now or timezone.now(), note=note,
                              ingested=ingested, assignee=assignee, hours=hours, written=written)
    except BaseException:
        files_discard(written)
        raise


def _rows(actor, event_id: int):
    events = Event.objects.select_related("category")
    if actor is not None:
        events = events.filter(pk__in=selectors.events_visible_to(actor).filter(pk=event_id).values("pk"))
    return events


# --- needs: the order here is the order they are checked in ----------------------------------------------------

def _need_note(attempt: Attempt) -> None:
    if not attempt.param("note"):
        raise WorkflowError(_("Give a reason in the note."), code="required", field="note")


def _need_photo(attempt: Attempt) -> None:
    category = attempt.obj.category
    if category.photo_required and not attempt.param("ingested"):
        raise WorkflowError(_("A photo of the result is required for %(category)s.")
                            % {"category": category.display_name()}, code="photo_required", field="photos")


def _need_assignee(attempt: Attempt) -> None:
    """The assignee works for the event's department or in its grid, so the event's changes reach them."""
    event, assignee = attempt.obj, attempt.param("assignee")
    if assignee is None:
        raise WorkflowError(_("Choose who handles the event."), code="required", field="assignee")
    in_department = assignee.is_department_staff and assignee.department_id == event.department_id
    in_grid = assignee.role == Role.GRID_WORKER and geography.grid_ids_of_worker(assignee).filter(
        content_object_id=event.grid_id).exists()
    if not (assignee.is_active and (in_department or in_grid)):
        raise WorkflowError(_("%(name)s neither works for the responsible department nor in the event's grid.")
                            % {"name": assignee.display_name or assignee.username}, code="invalid_assignee",
                            field="assignee")


def _need_not_the_resolver(attempt: Attempt) -> None:
    if attempt.actor is not None and attempt.obj.resolved_by_id == attempt.actor.pk:
        raise WorkflowError(_("Someone other than the person who resolved it must check the result."),
                            code="same_person")


def _need_site_confirmed(attempt: Attempt) -> None:
    if (reason := site_check_refusal(attempt.obj, attempt.now)) is not None:
        raise WorkflowError(reason, code="not_confirmed_on_site")


def _need_hours(attempt: Attempt) -> None:
    hours = attempt.param("hours")
    if not (isinstance(hours, int) and 1 <= hours <= settings.EVENT_MAX_EXTENSION_HOURS):
        raise WorkflowError(_("An extension is 1 to %(max)d hours.") % {"max": settings.EVENT_MAX_EXTENSION_HOURS},
                            code="invalid_hours", field="hours")


def _need_no_pending_extension(attempt: Attempt) -> None:
    if attempt.obj.extension_hours:
        raise WorkflowError(_("An extension request is already waiting for a supervisor."),
                            code="extension_pending")


def _need_pending_extension(attempt: Attempt) -> None:
    if not attempt.obj.extension_hours:
        raise WorkflowError(_("No extension request is waiting."), code="no_extension")


NEEDS = {
    Need.NOTE: _need_note,
    Need.PHOTO_IF_CATEGORY_SAYS: _need_photo,
    Need.ASSIGNEE: _need_assignee,
    Need.NOT_THE_RESOLVER: _need_not_the_resolver,
    Need.SITE_CONFIRMED: _need_site_confirmed,
    Need.HOURS: _need_hours,
    Need.NO_PENDING_EXTENSION: _need_no_pending_extension,
    Need.PENDING_EXTENSION: _need_pending_extension,
}


# --- effects: timestamps, assignee, hold and extension bookkeeping ---------------------------------------------

def _assign(attempt: Attempt) -> None:
    event, assignee = attempt.obj, attempt.param("assignee")
    attempt.data["assignee"] = assignee.username
    attempt.data["previous_assignee"] = event.assignee.username if event.assignee_id else None
    event.assignee = assignee


def _accepted_at(attempt: Attempt) -> None:
    attempt.obj.accepted_at = attempt.now


def _dispatched_at(attempt: Attempt) -> None:
    attempt.obj.dispatched_at = attempt.now


def _resolved(attempt: Attempt) -> None:
    attempt.obj.resolved_at, attempt.obj.resolved_by = attempt.now, attempt.actor


def _unresolved(attempt: Attempt) -> None:
    attempt.obj.resolved_at, attempt.obj.resolved_by = None, None


def _reopened(attempt: Attempt) -> None:
    # The escalation level stays: each level hears of a case at most once, reopened or not.  Back to
    # "accepted", it waits for a new dispatch: the old dispatch time no longer describes it.
    event = attempt.obj
    event.closed_at = event.resolved_at = event.resolved_by = event.dispatched_at = None


def _closed_at(attempt: Attempt) -> None:
    attempt.obj.closed_at = attempt.now
    if attempt.action == Action.CLOSE:
        event_closed(attempt.obj, attempt.actor)  # what hangs on the incident follows it (gridapp.apps)


def _unassign_before_dispatch(attempt: Attempt) -> None:
    if attempt.obj.status in {S.REPORTED, S.ACCEPTED}:
        attempt.obj.assignee = None


def _hold(attempt: Attempt) -> None:
    event = attempt.obj
    event.held_from = attempt.from_status
    remaining = (event.deadline - attempt.now).total_seconds() if event.deadline else 0
    event.held_remaining_seconds = max(0, int(remaining))
    event.deadline = None


def _resume(attempt: Attempt) -> None:
    event = attempt.obj
    event.deadline = attempt.now + timedelta(seconds=event.held_remaining_seconds or 0)
    event.held_from, event.held_remaining_seconds = "", None


def _extension_request(attempt: Attempt) -> None:
    event, hours = attempt.obj, attempt.param("hours")
    event.extension_hours, event.extension_reason = hours, attempt.param("note")[:500]
    event.extension_requested_by = attempt.actor
    attempt.data["hours"] = hours


def _extension_decision(attempt: Attempt) -> None:
    event, now = attempt.obj, attempt.now
    attempt.data["hours"] = event.extension_hours
    attempt.data["requested_by"] = (event.extension_requested_by.username if event.extension_requested_by_id
                                    else None)
    if attempt.action == Action.APPROVE_EXTENSION:
        event.deadline = max(event.deadline or now, now) + timedelta(hours=event.extension_hours)
        attempt.data["deadline"] = event.deadline.isoformat()
    event.extension_hours, event.extension_reason, event.extension_requested_by = None, "", None


EFFECTS = {
    Effect.ASSIGN: _assign, Effect.ACCEPTED_AT: _accepted_at, Effect.DISPATCHED_AT: _dispatched_at,
    Effect.RESOLVED: _resolved, Effect.UNRESOLVED: _unresolved, Effect.REOPENED: _reopened,
    Effect.CLOSED_AT: _closed_at, Effect.UNASSIGN_BEFORE_DISPATCH: _unassign_before_dispatch, Effect.HOLD: _hold,
    Effect.RESUME: _resume, Effect.EXTENSION_REQUEST: _extension_request,
    Effect.EXTENSION_DECISION: _extension_decision,
}


# --- the stage clock, the history row with its photos, whom to tell -------------------------------------------

def _deadline(attempt: Attempt) -> datetime | None:
    return stage_deadline(attempt.obj.category, attempt.obj.status, attempt.now)


def _photo_stage(action: Action, status: str) -> str:
    if action == Action.RESOLVE:
        return PhotoStage.RESOLUTION
    if action == Action.VERIFY or (action == Action.RETURN and status == S.RESOLVED):
        return PhotoStage.VERIFICATION
    return PhotoStage.HANDLING


def _history(attempt: Attempt):
    event = attempt.obj
    history = event_history_write(event, actor=attempt.actor, action=attempt.action, from_status=attempt.from_status,
                                  note=attempt.param("note"), data=attempt.data, at=attempt.now)
    photos_store(attempt.param("ingested"), event=event, stage=_photo_stage(attempt.action, attempt.from_status),
                 user=attempt.actor, history=history, written=attempt.param("written"))
    return history


def _notices(attempt: Attempt) -> list[Notice]:
    """Tell the person who must act next (inside the transaction: a rollback sends nothing)."""
    event, action = attempt.obj, attempt.action
    recipients = []
    if action in {Action.DISPATCH, Action.ASSIGN} and event.assignee_id:
        recipients.append(event.assignee)
    if action in {Action.RESOLVE, Action.REJECT} and event.reporter_id:
        recipients.append(event.reporter)
    if action == Action.RETURN and event.status == S.IN_PROGRESS and event.assignee_id:
        recipients.append(event.assignee)
    if not recipients:
        return []
    title = _("Case %(case)s: %(action)s") % {"case": event.case_number, "action": ACTION_LABELS[action]}
    return [Notice(recipient=recipient, title=title, body=event.category.display_name(),
                   source=f"event:{event.pk}:{event.version}:{recipient.pk}") for recipient in recipients]


INCIDENT_WORKFLOW = Workflow(
    name="gridapp.event", model=Event, table=TABLE, relations=event_relations, needs=NEEDS, effects=EFFECTS,
    targets=TARGETS, deadline=_deadline, rows=_rows, history=_history, change=event_change_fields,
    change_prefix="event", notices=_notices, labels=ACTION_LABELS, id_field="eventId",
    messages={
        "unknown_action": gettext_lazy("Unknown action %(action)s."),
        "not_found": gettext_lazy("Event not found."),
        "stale": gettext_lazy("The event changed meanwhile (version %(now)d, not %(expected)d). Reload it."),
        "transition_not_allowed": gettext_lazy(
            "An event that is %(status)s cannot be given the action '%(action)s'."),
        "permission_denied": gettext_lazy("You may not %(action)s this event."),
    },
)


def events_transition_bulk(*, actor, event_ids: Sequence[int], action: str, note: str = "", assignee=None
                           ) -> list[tuple[int, list[ValidationError | PermissionDenied]]]:
    """Fire one action on many events, each in its own transaction; returns ``(id, errors)`` per event.

    Who may call: as ``event_transition`` for each event (bulk accept,
    dispatch, assign from a work queue).  One event's failure does not undo
    another's success.  Raises ``ValidationError(code="too_many")`` above
    ``MAX_BULK`` ids.
    """
    if len(event_ids) > MAX_BULK:
        raise ValidationError(_("At most %(max)d events at once.") % {"max": MAX_BULK}, code="too_many")
    outcomes = []
    for event_id in dict.fromkeys(event_ids):
        try:
            event_transition(actor=actor, event_id=event_id, action=action, note=note, assignee=assignee)
        except (ValidationError, PermissionDenied) as exc:
            outcomes.append((event_id, [exc]))
        else:
            outcomes.append((event_id, []))
    return outcomes
