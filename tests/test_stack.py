"""The service as it runs: a real ASGI server and a real Celery worker, separate processes, on loopback.

Run in both modes by `make test`: embedded (SQLite file, filesystem broker,
change log polled across processes) and services (PostgreSQL, Redis broker and
channel layer).
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from accounts.services import token_issue
from core.models import Notification
from core.services import notification_send
from gridapp.geography.models import GridNotice
from tests.stack import WsClient, stack_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(tmp_path, transactional_db):
    yield from stack_running(tmp_path)


def _token(user) -> str:
    return token_issue(user=user)[0]


async def test_a_change_made_by_a_celery_task_reaches_the_subscribed_worker_with_its_cursor(stack, users, district):
    """The worker listens on one ASGI process, the operator writes through another, the Celery worker delivers."""
    stack.start_asgi()
    other_server = stack.start_another_asgi()
    stack.worker.start()
    worker_token = await database_sync_to_async(_token)(users["worker"])
    operator_token = await database_sync_to_async(_token)(users["operator"])
    async with WsClient(stack.ws_url, worker_token) as client:
        await client.subscribe()
        await asyncio.sleep(0.5)
        posted = await asyncio.to_thread(
            stack.graphql,
            'mutation($g: ID!) { postGridNotice(input: {gridId: $g, title: "暴雨预警", body: "请巡查低洼路段"}) '
            "{ errors { code } notice { id } } }",
            {"g": _grid_gid(district.grid.pk)}, operator_token, other_server,
        )
        assert posted["data"]["postGridNotice"]["errors"] == [], posted
        first = await client.change()  # written by the ASGI process with the notice
        second = await client.change()  # written by the Celery worker process delivering it
    assert first["kind"] == "grid_notice.posted" and first["objectType"] == "gridapp.gridnotice"
    assert second["kind"] == "notification.created" and second["objectType"] == "core.notification"
    assert int(second["cursor"]) > int(first["cursor"]) > 0
    notification = await database_sync_to_async(Notification.objects.get)(pk=int(second["objectId"]))
    assert notification.recipient_id == users["worker"].pk and notification.title == "暴雨预警"
    notice = await database_sync_to_async(GridNotice.objects.get)()
    assert notice.delivered_at is not None  # set by the task, in the worker process
    assert "grid_notice_deliver_task" in stack.worker.log()


async def test_killing_the_asgi_process_then_resuming_from_the_cursor_loses_nothing_and_repeats_nothing(
        stack, users, district):
    worker = users["worker"]
    token = await database_sync_to_async(_token)(worker)
    send = database_sync_to_async(notification_send)
    stack.start_asgi()
    async with WsClient(stack.ws_url, token) as client:
        await client.subscribe()
        await asyncio.sleep(0.5)
        await send(recipient=worker, title="A")
        seen = await client.change()
        stack.asgi.kill()
    # while the server is down, two more changes commit
    missed = [await send(recipient=worker, title=title) for title in ("B", "C")]
    stack.start_asgi()
    async with WsClient(stack.ws_url, token) as client:
        await client.subscribe(after=seen["cursor"])
        replayed = [await client.change() for _ in missed]
        assert [int(item["objectId"]) for item in replayed] == [n.pk for n in missed]
        live = await send(recipient=worker, title="D")
        after = await client.change()
        assert int(after["objectId"]) == live.pk
        assert await client.silent(1.5)
    cursors = [int(seen["cursor"])] + [int(item["cursor"]) for item in replayed] + [int(after["cursor"])]
    assert cursors == sorted(set(cursors))


async def test_healthz_reports_database_broker_channel_layer_workers_and_queues(stack, users):
    import httpx

    stack.start_asgi()
    body = (await asyncio.to_thread(httpx.get, f"{stack.base}/healthz", timeout=10)).json()
    assert body["checks"]["database"]["vendor"] == ("postgresql" if "postgres" in settings.DATABASES["default"]["ENGINE"]
                                                    else "sqlite")
    assert body["checks"]["channel_layer"]["backend"] == ("RedisChannelLayer" if settings.REDIS_URL
                                                          else "InMemoryChannelLayer")
    # No worker yet: the server still answers (200), but says that nothing takes the queues.
    assert body["status"] == "degraded" and not body["checks"]["workers"]["ok"], body
    assert body["checks"]["database"]["ok"]
    assert "default" in body["checks"]["workers"]["error"]

    stack.worker.start()
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        response = await asyncio.to_thread(httpx.get, f"{stack.base}/healthz", timeout=10)
        body = response.json()
        if body["checks"]["workers"]["ok"] or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert response.status_code == 200, body
    # (no detector is registered in this test's database: that check is the vision tests' business)
    assert all(check["ok"] for name, check in body["checks"].items() if name != "detectors"), body
    assert [worker["queues"] for worker in body["checks"]["workers"]["alive"]] == ["default,vision"]
    queues = body["checks"]["queues"]
    assert queues["ok"] and queues["outbox_pending"] == 0 and set(queues["oldest_seconds"]) == {"default", "vision"}


async def test_healthz_says_how_long_the_oldest_queued_task_has_waited(stack, users):
    """No worker takes the queue: the task's age on the broker shows, and past the limit the queues check fails."""
    import httpx

    from config.celery import app

    stack.start_asgi()
    await asyncio.to_thread(app.send_task, "core.tasks.tokens_prune")
    await asyncio.sleep(1.2)
    body = (await asyncio.to_thread(httpx.get, f"{stack.base}/healthz", timeout=10)).json()
    assert body["checks"]["queues"]["oldest_seconds"]["default"] >= 1.0, body
    assert body["checks"]["queues"]["ok"]


def _grid_gid(pk: int) -> str:
    from strawberry.relay import to_base64

    return to_base64("Grid", pk)
