"""Cross-cutting records every app writes: the change feed, the audit log, notifications."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AppendOnlyModel(models.Model):
    """Rows are inserted once and never changed or deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class Change(AppendOnlyModel):
    """One change a user can be notified of; its id is the feed's cursor.

    Ids are handed out in commit order (see ``core.feed.change_record``), so a
    reader that has seen cursor N has seen every change below N.  It is
    addressed to scope keys (``core.audiences``): ``scopes`` keeps them on the
    row for a reader that has the row, ``ChangeScope`` indexes them for a
    reader that looks for a user's changes.  Plain keys, not foreign keys: the
    log outlives what it mentions.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    scopes = models.JSONField(default=list, blank=True)
    #: What the change produced, as it was when it committed (an event's status and version), so a message
    #: delivered later still says what this change did.  Nothing personal: every reader of the change sees it.
    facts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("change")
        verbose_name_plural = _("changes")

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.object_type}:{self.object_id}"


class ChangeScope(AppendOnlyModel):
    """One scope a change is addressed to: the index behind ``changes(after:)`` and ``latestCursor``.

    A user's changes are those under any of the user's scopes; (key, change) is the index that answers it
    in the order of the cursor, whatever the number of scopes a change has.
    """

    id = models.BigAutoField(primary_key=True)
    change = models.ForeignKey(Change, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    key = models.CharField(max_length=80)

    class Meta:
        verbose_name = _("change scope")
        verbose_name_plural = _("change scopes")
        constraints = [models.UniqueConstraint(fields=["key", "change"], name="core_changescope_key_change")]

    def __str__(self) -> str:
        return f"#{self.change_id} -> {self.key}"


class AuditResult(models.TextChoices):
    OK = "ok", _("Succeeded")
    FAILED = "failed", _("Failed")
    DENIED = "denied", _("Denied")


class AuditEntry(AppendOnlyModel):
    """Who did what, when, with which result, from where."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80)
    target = models.CharField(max_length=200, blank=True)
    result = models.CharField(max_length=8, choices=AuditResult.choices)
    error_code = models.CharField(max_length=60, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["action", "actor_label", "at"]),
            models.Index(fields=["action", "client_ip", "at"]),
        ]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.result}"


class Notification(models.Model):
    """A message in one person's inbox on the app."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"), max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["recipient", "-id"])]
        constraints = [
            # One notification per recipient and source: a retried fan-out task
            # cannot deliver the same notice twice.
            models.UniqueConstraint(fields=["recipient", "source"], name="one_notification_per_source",
                                    condition=~models.Q(source="")),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.title


class OutboxTask(models.Model):
    """A task that a committed write decided, kept until the broker has taken it.

    Written in the writer's transaction (``core.outbox.task_enqueue``), so the
    task exists exactly when the write does; sent after commit, and sent again
    by the workers' relay if the broker was down then.  Its id is the Celery
    task id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["created_at"], condition=models.Q(sent_at__isnull=True),
                                name="outbox_pending")]
        verbose_name = _("queued task")
        verbose_name_plural = _("task outbox")

    def __str__(self) -> str:
        return f"{self.task} {self.id}"


class WorkerBeat(models.Model):
    """The last sign of life of one Celery worker process (written by its relay thread every few seconds)."""

    hostname = models.CharField(max_length=200, primary_key=True)
    queues = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("task worker")
        verbose_name_plural = _("task workers")

    def __str__(self) -> str:
        return self.hostname


from core.workflow.models import (  # noqa: E402,F401  (the workflow engine's tables: stored definitions, cases)
    WorkflowCase,
    WorkflowCaseHistory,
    WorkflowDefinition,
    WorkflowLevel,
    WorkflowStep,
)
