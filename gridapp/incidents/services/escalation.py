"""Escalation of overdue incidents: one level up the chain per step late, each level told once."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.services import notification_send
from gridapp.incidents import selectors
from gridapp.incidents.models import OPEN_STATUSES, EscalationLevel, Event, EventEscalation
from gridapp.incidents.services.common import event_change_record, event_history_write, stage_hours


def escalation_due_level(event: Event, now: datetime) -> int:
    """How far up the chain an event should be by ``now``: 0 while on time, then one level per step overdue."""
    if event.deadline is None or event.status not in OPEN_STATUSES or event.deadline >= now:
        return 0
    hours = stage_hours(event.category, event.status) or 1
    step = max(timedelta(hours=hours) * settings.EVENT_ESCALATION_STEP_FRACTION,
               timedelta(minutes=settings.EVENT_ESCALATION_MIN_STEP_MINUTES))
    return min(EscalationLevel.COMMAND_CENTRE, 1 + int((now - event.deadline) / step))


def events_escalate(*, now: datetime | None = None) -> int:
    """Raise every overdue open event to the level its lateness calls for; returns how many escalations.

    Who may call: the ``events_escalate_task`` beat task (and tests).  Each
    level is reached at most once per event (a unique row guards it, so two
    overlapping runs cannot both notify); each level's people are notified
    idempotently.  An event on hold has no deadline and is never escalated.
    """
    now = now or timezone.now()
    overdue = (Event.objects.filter(selectors.event_overdue(now),
                                    escalation_level__lt=EscalationLevel.COMMAND_CENTRE)
               .select_related("category").order_by("id"))
    escalations = 0
    for event in overdue.iterator(chunk_size=500):
        if escalation_due_level(event, now) > event.escalation_level:
            escalations += _escalate(event.pk, now)
    return escalations


def _escalate(event_id: int, now: datetime) -> int:
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("category").get(pk=event_id)
        due = escalation_due_level(event, now)
        done = 0
        for level in range(event.escalation_level + 1, due + 1):
            _row, created = EventEscalation.objects.get_or_create(
                event=event, level=level, defaults={"stage": event.status, "deadline": event.deadline, "at": now})
            if not created:
                continue
            notified = 0
            for user in selectors.users_at_escalation_level(event, level):
                title = _("Overdue case %(case)s escalated to you") % {"case": event.case_number}
                body = _("%(category)s, %(status)s, due %(deadline)s") % {
                    "category": event.category.display_name(), "status": event.get_status_display(),
                    "deadline": timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M")}
                if notification_send(recipient=user, title=title, body=body, source=f"escalation:{event.pk}:{level}"):
                    notified += 1
            EventEscalation.objects.filter(event=event, level=level).update(notified=notified)
            done += 1
            event.escalation_level = level
            event.was_overdue = True
            event.version += 1
            event.save(update_fields=["escalation_level", "was_overdue", "version"])
            event_history_write(event, actor=None, action="escalate", from_status=event.status,
                     data={"level": level, "notified": notified}, at=now)
            event_change_record(event, "event.escalated")
        return done
