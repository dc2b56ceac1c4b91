"""Reads of the task pipeline for ``/healthz``: which workers are alive, what waits in the outbox and the queues."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from core.models import OutboxTask, WorkerBeat
from core.worker import SENT_AT_HEADER


def workers_alive() -> list[WorkerBeat]:
    """Workers heard of within ``HEALTH_WORKER_SILENCE_SECONDS``."""
    since = timezone.now() - timedelta(seconds=settings.HEALTH_WORKER_SILENCE_SECONDS)
    return list(WorkerBeat.objects.filter(seen_at__gte=since).order_by("hostname"))


def outbox_backlog() -> tuple[int, float | None]:
    """How many decided tasks the broker has not taken yet, and the age in seconds of the oldest."""
    found = OutboxTask.objects.filter(sent_at__isnull=True).aggregate(count=Count("pk"), oldest=Min("created_at"))
    oldest = found["oldest"]
    return found["count"], (timezone.now() - oldest).total_seconds() if oldest else None


def queue_oldest_age(queue: str) -> float | None:
    """Seconds the oldest message of ``queue`` has waited on the broker (None: the queue is empty).

    Peeks without taking: the tail of the Redis list (kombu pushes on the left, takes from the right), or the
    oldest file of the filesystem transport's folder.  Raises the broker's errors.
    """
    with current_app.connection_for_read() as conn:
        transport = conn.transport.driver_type
        if transport == "redis":
            raw = conn.default_channel.client.lindex(queue, -1)
        elif transport == "filesystem":
            folder = Path(conn.transport_options["data_folder_in"])
            names = sorted(path.name for path in folder.glob(f"*.{queue}.msg"))
            raw = (folder / names[0]).read_bytes() if names else None
        else:
            return None
    if raw is None:
        return None
    try:
        sent_at = float(json.loads(raw)["headers"][SENT_AT_HEADER])
    except (ValueError, KeyError, TypeError):
        return None  # a message from an older release, without the stamp
    return max(0.0, time.time() - sent_at)
