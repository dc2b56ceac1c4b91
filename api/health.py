"""``/healthz``: the database, the Celery broker, the channel layer and the detectors, each timed."""

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


@require_GET
def healthz(request):
    checks = {"database": _timed(_database), "broker": _timed(_broker), "channel_layer": _timed(_channel_layer),
              "detectors": _timed(_detectors)}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "mode": settings.ONEGRID_ENV, "checks": checks},
        status=200 if healthy else 503,
    )
