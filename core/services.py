"""Writes of the inbox."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audiences import scope
from core.feed import change_record
from core.models import Notification


def notification_send(*, recipient, title: str, body: str = "", source: str = "") -> Notification | None:
    """Put a message in ``recipient``'s inbox and announce it on the change feed.

    Who may call: services and tasks.  Idempotent per ``(recipient, source)``:
    a second call with the same non-empty source returns ``None`` and writes
    nothing, so a retried task never notifies twice.
    """
    try:
        with transaction.atomic():
            notification = Notification.objects.create(recipient=recipient, title=title, body=body, source=source)
            change_record(kind="notification.created", obj=notification, to=[scope("user", recipient.pk)])
    except IntegrityError:
        if source and Notification.objects.filter(recipient=recipient, source=source).exists():
            return None
        raise
    return notification


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of ``user``'s notifications read.  Raises ``ValidationError(code="not_found")``."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(recipient=user, pk=notification_id).first()
        if notification is None:
            raise ValidationError(_("Notification not found."), code="not_found")
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
            change_record(kind="notification.read", obj=notification, to=[scope("user", user.pk)])
    return notification
