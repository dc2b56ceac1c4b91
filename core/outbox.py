"""The task outbox: a task a write decides is written with the write, and reaches the broker even if it was down.

``task_enqueue`` stores the task in the caller's transaction and, after commit,
hands it to the broker at once.  When the broker cannot take it (down,
restarting, unreachable), the caller still gets its success, the row stays,
and every Celery worker's relay thread (``OutboxRelay``, registered in
``config/celery.py``) sends it when the broker is back.  A row is locked
while it is being sent and marked sent in the same transaction (one per
task), so two senders never both send it; only a process killed between the
broker's acceptance and that commit can send a task twice, which is why tasks
stay idempotent (STYLE: guard on state).

The relay thread (``core/worker.py``) also records that its worker is alive
(``WorkerBeat``), which ``/healthz`` reads.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.models import OutboxTask, WorkerBeat

log = logging.getLogger(__name__)

#: After a failed send, how long the writing processes leave sending to the relay (no stall on every write).
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def task_enqueue(task, *args, **kwargs) -> OutboxTask:
    """Decide that ``task`` (a Celery task or its name) runs with these JSON arguments once the write commits.

    Who may call: services, inside the ``transaction.atomic`` of the write that decides the task.  Raises
    ``TransactionManagementError`` outside a transaction.  Never raises for the broker: a task it cannot take
    now is sent by the relay later.
    """
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("task_enqueue() must run inside transaction.atomic")
    row = OutboxTask.objects.create(task=getattr(task, "name", task), args=list(args), kwargs=kwargs)
    # robust: whatever goes wrong after the commit (the database too), the write stands and the caller is told so
    transaction.on_commit(lambda: outbox_send(ids=[row.pk]), robust=True)
    return row


def outbox_send(*, ids=None, older_than: float = 0.0, limit: int = 200) -> int:
    """Hand unsent tasks to the broker (these ``ids``, or all pending for ``older_than`` seconds); returns how many.

    Who may call: ``task_enqueue``'s commit hook and the relay.  Each task is sent in a transaction of its own
    that locks its row and marks it sent, so two senders never both send it and a failure later in a batch
    sends nothing again.  A broker that does not answer costs one send ``REDIS_BROKER_SOCKET_TIMEOUT`` at most, after
    which the writers of this process leave sending to the relay for ``BROKER_BACKOFF_SECONDS``.  Stops at the
    first broker failure (the rest would fail alike) and never raises for it.
    """
    global _broker_down_until
    if ids is not None and time.monotonic() < _broker_down_until:
        return 0  # the broker failed a moment ago: the relay will send these, the writer does not wait
    pending = OutboxTask.objects.filter(sent_at__isnull=True)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    else:
        pending = pending.filter(created_at__lte=timezone.now() - timedelta(seconds=older_than))
    sent = 0
    for pk in list(pending.order_by("created_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            row = OutboxTask.objects.select_for_update(skip_locked=True).filter(pk=pk, sent_at__isnull=True).first()
            if row is None:
                continue  # another sender has it, or sent it meanwhile
            try:
                current_app.send_task(row.task, args=row.args, kwargs=row.kwargs, task_id=str(row.pk), retry=False)
            except Exception as exc:  # kombu raises several types for an unreachable broker
                _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
                OutboxTask.objects.filter(pk=row.pk).update(attempts=row.attempts + 1,
                                                            last_error=f"{type(exc).__name__}: {exc}"[:300])
                log.warning("broker did not take task %s (%s); the relay will send it", row.task, exc)
                break
            OutboxTask.objects.filter(pk=row.pk).update(sent_at=timezone.now(), attempts=row.attempts + 1)
            sent += 1
    return sent


def outbox_prune(*, keep_hours: float | None = None) -> int:
    """Forget tasks the broker took more than ``OUTBOX_KEEP_HOURS`` ago; returns how many."""
    hours = settings.OUTBOX_KEEP_HOURS if keep_hours is None else keep_hours
    deleted, _ = OutboxTask.objects.filter(sent_at__lt=timezone.now() - timedelta(hours=hours)).delete()
    return deleted


def worker_beat(*, hostname: str, queues: str, started_at) -> None:
    """Say that this worker process is alive.  Keyed by node name and process id: two workers started on one
    machine under the default node name (``celery@host``) are two workers."""
    pid = os.getpid()
    WorkerBeat.objects.update_or_create(
        hostname=f"{hostname}#{pid}"[:200],
        defaults={"queues": queues[:200], "pid": pid, "started_at": started_at, "seen_at": timezone.now()})


def worker_beats_prune(*, older_than_hours: float = 24) -> int:
    """Forget workers not heard of for a day (processes that ended)."""
    deleted, _ = WorkerBeat.objects.filter(seen_at__lt=timezone.now() - timedelta(hours=older_than_hours)).delete()
    return deleted
