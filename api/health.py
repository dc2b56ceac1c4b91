"""``/healthz``: the database, the Celery broker, the channel layer, the detectors, the workers and the queues,
each timed.  503 only when this server cannot answer (``SERVING``); otherwise 200, with ``status`` "degraded"
and each failing check's ``error`` saying what is wrong."""

from __future__ import annotations

import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # a health endpoint reports failures, it does not raise them
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300],
                "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **(detail or {})}


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _broker() -> dict:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type}


def _channel_layer() -> dict:
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel("healthz.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "healthz", "token": token})
        message = await layer.receive(channel)
        if message.get("token") != token:
            raise RuntimeError("channel layer returned another message")

    async_to_sync(round_trip)()
    return {"backend": type(layer).__name__}


def _detectors() -> dict:
    """Not ok when the AI is off here (no detector, or a registered detector's file missing), naming what."""
    from vision.registry import DETECTORS_HINT, detectors_state

    state = detectors_state()
    found = {"ok": not state.off, "models": list(state.models), "missing_files": list(state.files),
             "unserved_classes": list(state.unserved)}
    return {**found, "error": f"{state}. {DETECTORS_HINT}"} if state.off else found


def _queue_names() -> list[str]:
    from celery import current_app

    return sorted(current_app.amqp.queues)


def _workers() -> dict:
    """Not ok when a queue has no live worker (none heard of within ``HEALTH_WORKER_SILENCE_SECONDS``)."""
    from core.queues import workers_alive

    now = time.time()
    alive = workers_alive()
    served = {queue for worker in alive for queue in worker.queues.split(",")}
    idle = [queue for queue in _queue_names() if queue not in served]
    found = {"ok": not idle, "alive": [{"hostname": worker.hostname, "queues": worker.queues, "pid": worker.pid,
                                        "seen_seconds_ago": round(now - worker.seen_at.timestamp(), 1)}
                                       for worker in alive]}
    return {**found, "error": f"no live worker takes: {', '.join(idle)}"} if idle else found


def _queues() -> dict:
    """How long the oldest task has waited, on the broker and in the outbox; not ok past
    ``HEALTH_QUEUE_MAX_AGE_SECONDS`` (the workers lag, or the broker has been down that long)."""
    from core.queues import outbox_backlog, queue_oldest_age

    ages = {queue: queue_oldest_age(queue) for queue in _queue_names()}
    pending, outbox_age = outbox_backlog()
    oldest = max([age for age in (*ages.values(), outbox_age) if age is not None], default=None)
    found = {"ok": oldest is None or oldest <= settings.HEALTH_QUEUE_MAX_AGE_SECONDS,
             "oldest_seconds": {queue: None if age is None else round(age, 1) for queue, age in ages.items()},
             "outbox_pending": pending, "outbox_oldest_seconds": None if outbox_age is None else round(outbox_age, 1)}
    return found if found["ok"] else {**found, "error": f"a task has waited {oldest:.0f} s"}


#: Without these this server cannot answer at all: only their failure makes /healthz answer 503 (a load
#: balancer then stops sending it requests).  Anything else failing is "degraded", named, and answered 200.
SERVING = ("database",)


@require_GET
def healthz(request):
    checks = {"database": _timed(_database), "broker": _timed(_broker), "channel_layer": _timed(_channel_layer),
              "detectors": _timed(_detectors), "workers": _timed(_workers), "queues": _timed(_queues)}
    healthy = all(check["ok"] for check in checks.values())
    serving = all(checks[name]["ok"] for name in SERVING)
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "mode": settings.ONEGRID_ENV, "checks": checks},
        status=200 if serving else 503,
    )
