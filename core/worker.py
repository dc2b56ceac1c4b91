"""What runs inside each Celery worker besides its tasks (registered by ``config/celery.py``).

Imported while Celery is configured, before Django's apps are ready: models are imported where used.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import bootsteps
from django.conf import settings

log = logging.getLogger(__name__)

#: The message header with the wall-clock time a task was handed to the broker (``/healthz`` reads it).
SENT_AT_HEADER = "onegrid_sent_at"


def stamp_sent_at(headers=None, **_kwargs) -> None:
    """``before_task_publish`` receiver: every message says when it was sent."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


class OutboxRelay(bootsteps.StartStopStep):
    """A thread in each worker's main process: every ``OUTBOX_RELAY_SECONDS`` it says the worker is alive and
    sends what the writers could not.  It lives through database and broker outages alike."""

    label = "outbox relay"

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent) -> None:
        queues = ",".join(sorted(parent.app.amqp.queues.consume_from or parent.app.amqp.queues))
        self._thread = threading.Thread(target=self._run, args=(parent.hostname, queues), daemon=True,
                                        name="outbox-relay")
        self._thread.start()

    def stop(self, parent) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, hostname: str, queues: str) -> None:
        from django.db import close_old_connections
        from django.utils import timezone

        from core.outbox import outbox_prune, outbox_send, worker_beat, worker_beats_prune

        started_at = timezone.now()
        pruned_at = 0.0
        failing = False
        while True:
            try:
                close_old_connections()
                worker_beat(hostname=hostname, queues=queues, started_at=started_at)
                sent = outbox_send(older_than=settings.OUTBOX_RELAY_SECONDS)
                if sent:
                    log.info("outbox relay: sent %d task(s) the writers could not", sent)
                if time.monotonic() - pruned_at > 3600:
                    outbox_prune()
                    worker_beats_prune()
                    pruned_at = time.monotonic()
                if failing:
                    log.info("outbox relay: the database answers again")
                failing = False
            except Exception:  # the database is down: say so once, keep trying
                if not failing:
                    log.warning("outbox relay: cannot reach the database; retrying", exc_info=True)
                failing = True
            finally:
                close_old_connections()
            if self._stop.wait(settings.OUTBOX_RELAY_SECONDS):
                return
