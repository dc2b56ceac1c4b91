"""The service as it runs: a real ASGI server and a real Celery worker, separate processes, on loopback.

Run in both modes by `make test`: embedded (SQLite file, filesystem broker,
change log polled across processes) and services (PostgreSQL, Redis broker and
channel layer).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings

from accounts.services import token_issue
from core.models import Notification
from core.services import notification_send
from gridapp.models import GridNotice

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SUBSCRIBE = "subscription($after: String) { changes(after: $after) { cursor kind objectType objectId } }"


@pytest.fixture
def stack(tmp_path, transactional_db):
    from tests.stack import Stack

    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.stop()
        for process in running.processes:
            print(f"--- {process.name} log ---\n{process.log()}")


class WsClient:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.conn = None

    async def __aenter__(self):
        self.conn = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=10)
        await self.conn.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
        ack = json.loads(await asyncio.wait_for(self.conn.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return self

    async def __aexit__(self, *exc):
        await self.conn.close()

    async def subscribe(self, after: str | None = None) -> None:
        await self.conn.send(json.dumps({"id": "feed", "type": "subscribe",
                                         "payload": {"query": SUBSCRIBE, "variables": {"after": after}}}))

    async def change(self, timeout: float = 30) -> dict:
        message = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
        assert message["type"] == "next", message
        return message["payload"]["data"]["changes"]

    async def silent(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.conn.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")


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


async def test_healthz_reports_database_broker_and_channel_layer(stack, users):
    import httpx

    stack.start_asgi()
    body = (await asyncio.to_thread(httpx.get, f"{stack.base}/healthz", timeout=10)).json()
    assert body["status"] == "ok", body
    assert body["checks"]["database"]["vendor"] == ("postgresql" if "postgres" in settings.DATABASES["default"]["ENGINE"]
                                                    else "sqlite")
    assert body["checks"]["channel_layer"]["backend"] == ("RedisChannelLayer" if settings.REDIS_URL
                                                          else "InMemoryChannelLayer")


def _grid_gid(pk: int) -> str:
    from strawberry.relay import to_base64

    return to_base64("Grid", pk)
