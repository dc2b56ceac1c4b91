"""Transitions of incidents: one action of the transition table (``gridapp.incidents.workflow``) at a time, or
the same action on many events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from core.files import IngestedFile
from core.services import notification_send
from gridapp.geography import selectors as geography
from gridapp.incidents import selectors
from gridapp.incidents.models import Event, EventStatus, PhotoStage
from gridapp.incidents.services.common import (
    event_change_record,
    event_history_write,
    files_discard,
    photos_prepare,
    photos_store,
    stage_deadline,
    text_clean,
)
from gridapp.incidents.services.relations import event_relations
from gridapp.incidents.verification import site_check_refusal
from gridapp.incidents.workflow import ACTION_LABELS, Action, Need, target_status, transition_for

S = EventStatus
MAX_BULK = 100


def _photo_stage(action: Action, status: str) -> str:
    if action == Action.RESOLVE:
        return PhotoStage.RESOLUTION
    if action == Action.VERIFY or (action == Action.RETURN and status == S.RESOLVED):
        return PhotoStage.VERIFICATION
    return PhotoStage.HANDLING


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
    try:
        action = Action(action)
    except ValueError:
        raise ValidationError({"action": ValidationError(_("Unknown action %(action)s.") % {"action": action},
                                                         code="unknown_action")}) from None
    note = text_clean(note, field="note", limit=2000)
    # Only an event the actor may see: the photos' position check must not reveal where others' events are.
    visible = Event.objects if actor is None else selectors.events_visible_to(actor)
    located = visible.filter(pk=event_id).values_list("lng", "lat").first()
    if located is None:
        raise _not_found()
    ingested = photos_prepare(photos, lng=located[0], lat=located[1])
    written: list[str] = []
    try:
        with transaction.atomic():
            event = _locked_event(actor, event_id)
            event = _apply(actor, event, action, note=note, ingested=ingested, assignee=assignee, hours=hours,
                           expected_version=expected_version, now=now or timezone.now(), written=written)
    except BaseException:
        files_discard(written)
        raise
    return event


def _not_found() -> ValidationError:
    return ValidationError({"eventId": ValidationError(_("Event not found."), code="not_found")})


def _locked_event(actor, event_id: int) -> Event:
    events = Event.objects.select_for_update().select_related("category")
    if actor is not None:
        events = events.filter(pk__in=selectors.events_visible_to(actor).filter(pk=event_id).values("pk"))
    event = events.filter(pk=event_id).first()
    if event is None:
        raise _not_found()
    return event


def _apply(actor, event: Event, action: Action, *, note: str, ingested: list[IngestedFile], assignee,
           hours: int | None, expected_version: int | None, now: datetime, written: list[str]) -> Event:
    if expected_version is not None and expected_version != event.version:
        raise ValidationError(_("The event changed meanwhile (version %(now)d, not %(expected)d). Reload it.")
                              % {"now": event.version, "expected": expected_version}, code="stale")
    rule = transition_for(action, event.status)
    if rule is None:
        raise ValidationError(_("An event that is %(status)s cannot be given the action '%(action)s'.")
                              % {"status": event.get_status_display(), "action": ACTION_LABELS[action]},
                              code="transition_not_allowed")
    if not rule.who & event_relations(actor, event):
        raise PermissionDenied(_("You may not %(action)s this event.") % {"action": ACTION_LABELS[action]})
    _check_needs(rule.needs, event, actor=actor, note=note, ingested=ingested, assignee=assignee, hours=hours, now=now)
    from_status = event.status
    data: dict = {}
    event.status = target_status(rule, status=event.status, held_from=event.held_from)
    if action in {Action.DISPATCH, Action.ASSIGN}:
        data["assignee"] = assignee.username
        data["previous_assignee"] = event.assignee.username if event.assignee_id else None
        event.assignee = assignee
    _stamp(event, action, from_status=from_status, actor=actor, hours=hours, note=note, now=now, data=data)
    event.updated_at = now
    event.version += 1
    event.save()
    history = event_history_write(event, actor=actor, action=action, from_status=from_status, note=note, data=data, at=now)
    photos_store(ingested, event=event, stage=_photo_stage(action, from_status), user=actor, history=history,
                  written=written)
    event_change_record(event, f"event.{action}")
    _notify(event, action, actor=actor)
    return event


def _check_needs(needs, event: Event, *, actor, note: str, ingested, assignee, hours, now: datetime) -> None:
    if Need.NOTE in needs and not note:
        raise ValidationError({"note": ValidationError(_("Give a reason in the note."), code="required")})
    if Need.PHOTO_IF_CATEGORY_SAYS in needs and event.category.photo_required and not ingested:
        raise ValidationError({"photos": ValidationError(
            _("A photo of the result is required for %(category)s.") % {"category": event.category.display_name()},
            code="photo_required")})
    if Need.ASSIGNEE in needs:
        _check_assignee(event, assignee)
    if Need.NOT_THE_RESOLVER in needs and actor is not None and event.resolved_by_id == actor.pk:
        raise ValidationError(_("Someone other than the person who resolved it must check the result."),
                              code="same_person")
    if Need.SITE_CONFIRMED in needs and (reason := site_check_refusal(event, now)) is not None:
        raise ValidationError(reason, code="not_confirmed_on_site")
    if Need.HOURS in needs and not (isinstance(hours, int) and 1 <= hours <= settings.EVENT_MAX_EXTENSION_HOURS):
        raise ValidationError({"hours": ValidationError(
            _("An extension is 1 to %(max)d hours.") % {"max": settings.EVENT_MAX_EXTENSION_HOURS},
            code="invalid_hours")})
    if Need.NO_PENDING_EXTENSION in needs and event.extension_hours:
        raise ValidationError(_("An extension request is already waiting for a supervisor."), code="extension_pending")
    if Need.PENDING_EXTENSION in needs and not event.extension_hours:
        raise ValidationError(_("No extension request is waiting."), code="no_extension")


def _check_assignee(event: Event, assignee) -> None:
    """The assignee works for the event's department or in its grid, so the event's changes reach them."""
    if assignee is None:
        raise ValidationError({"assignee": ValidationError(_("Choose who handles the event."), code="required")})
    in_department = assignee.is_department_staff and assignee.department_id == event.department_id
    in_grid = assignee.role == Role.GRID_WORKER and geography.grid_ids_of_worker(assignee).filter(
        content_object_id=event.grid_id).exists()
    if not (assignee.is_active and (in_department or in_grid)):
        raise ValidationError({"assignee": ValidationError(
            _("%(name)s neither works for the responsible department nor in the event's grid.")
            % {"name": assignee.display_name or assignee.username}, code="invalid_assignee")})


def _stamp(event: Event, action: Action, *, from_status: str, actor, hours, note: str, now: datetime,
           data: dict) -> None:
    """Timestamps, deadlines, hold and extension bookkeeping of one transition."""
    category = event.category
    if action == Action.HOLD:
        event.held_from = from_status
        remaining = (event.deadline - now).total_seconds() if event.deadline else 0
        event.held_remaining_seconds = max(0, int(remaining))
        event.deadline = None
        return
    if action == Action.RESUME:
        event.deadline = now + timedelta(seconds=event.held_remaining_seconds or 0)
        event.held_from, event.held_remaining_seconds = "", None
        return
    if action == Action.REQUEST_EXTENSION:
        event.extension_hours, event.extension_reason, event.extension_requested_by = hours, note[:500], actor
        data["hours"] = hours
        return
    if action in {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION}:
        data["hours"] = event.extension_hours
        data["requested_by"] = (event.extension_requested_by.username if event.extension_requested_by_id
                                else None)
        if action == Action.APPROVE_EXTENSION:
            event.deadline = max(event.deadline or now, now) + timedelta(hours=event.extension_hours)
            data["deadline"] = event.deadline.isoformat()
        event.extension_hours, event.extension_reason, event.extension_requested_by = None, "", None
        return
    if action == Action.ASSIGN:
        return
    if event.status == S.ACCEPTED and action in {Action.ACCEPT, Action.REOPEN}:
        event.accepted_at = now
    if action == Action.DISPATCH:
        event.dispatched_at = now
    if action == Action.RESOLVE:
        event.resolved_at, event.resolved_by = now, actor
    if action == Action.RETURN and from_status == S.RESOLVED:
        event.resolved_at, event.resolved_by = None, None
    if action == Action.REOPEN:
        # The escalation level stays: each level hears of a case at most once, reopened or not.  Back to
        # "accepted", it waits for a new dispatch: the old dispatch time no longer describes it.
        event.closed_at = event.resolved_at = event.resolved_by = event.dispatched_at = None
    if event.status in {S.CLOSED, S.REJECTED, S.VOID}:
        event.closed_at = now
    # Entering in-progress keeps the deadline the dispatch set; every other stage starts its own clock.
    if not (action == Action.START):
        event.deadline = stage_deadline(category, event.status, now)
    if action in {Action.RETURN, Action.REOPEN} and event.status in {S.REPORTED, S.ACCEPTED}:
        event.assignee = None


def _notify(event: Event, action: Action, *, actor) -> None:
    """Tell the person who must act next (inside the transaction: a rollback sends nothing)."""
    title = _("Case %(case)s: %(action)s") % {"case": event.case_number, "action": ACTION_LABELS[action]}
    recipients = []
    if action in {Action.DISPATCH, Action.ASSIGN} and event.assignee_id:
        recipients.append(event.assignee)
    if action in {Action.RESOLVE, Action.REJECT} and event.reporter_id:
        recipients.append(event.reporter)
    if action == Action.RETURN and event.status == S.IN_PROGRESS and event.assignee_id:
        recipients.append(event.assignee)
    for recipient in recipients:
        if actor is None or recipient.pk != actor.pk:
            notification_send(recipient=recipient, title=title, body=event.category.display_name(),
                              source=f"event:{event.pk}:{event.version}:{recipient.pk}")


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
