"""Production mode as it runs: ASGI server and Celery worker with ONEGRID_ENV=production over PostgreSQL and a
Redis of the test's own, which the tests stop and restart under them.

Services half only: production needs Redis (and runs on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time

import httpx
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from strawberry.relay import to_base64

from accounts.services import token_issue
from core.models import Change, Notification, OutboxTask
from core.selectors import change_visible_to
from gridapp.geography.models import GridNotice
from tests.stack import RedisServer, Stack, WsClient, production_env, stack_running

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="production mode runs on Redis: services half only"),
]

POST_NOTICE = ('mutation($g: ID!, $t: String!) { postGridNotice(input: {gridId: $g, title: $t}) '
               "{ errors { code } notice { id } } }")


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def production(tmp_path, transactional_db, redis_server):
    yield from stack_running(tmp_path, env=production_env(redis_server.url))


def _token(user) -> str:
    return token_issue(user=user)[0]


def _visible_cursors(user, after: int) -> list[int]:
    return list(change_visible_to(user).filter(id__gt=after).order_by("id").values_list("id", flat=True))


def _latest() -> int:
    return Change.objects.order_by("-id").values_list("id", flat=True).first() or 0


async def _post_notice(stack: Stack, token: str, grid_pk: int, title: str) -> dict:
    body = await asyncio.to_thread(stack.graphql, POST_NOTICE, {"g": to_base64("Grid", grid_pk), "t": title}, token)
    return body


async def _collect(client: WsClient, wanted: int, timeout: float) -> list[int]:
    """The cursors this subscriber receives until it has ``wanted`` of them (or the time is up)."""
    cursors: list[int] = []
    deadline = time.monotonic() + timeout
    while len(cursors) < wanted and time.monotonic() < deadline:
        try:
            change = await client.change(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        cursors.append(int(change["cursor"]))
    return cursors


async def test_twenty_subscriptions_stay_open_idle_and_across_a_redis_restart_and_see_every_change_once(
        production, redis_server, users, district):
    """Idle longer than any timeout (redis-py's 5 s socket timeout met channels-redis's 5 s blocking receive and
    closed every socket within 11 s), then Redis goes away and comes back: each subscriber receives every change
    made before, during and after, each exactly once, in cursor order, on the socket it opened."""
    production.start_asgi()
    production.worker.start()
    worker, operator = users["worker"], users["operator"]
    worker_token = await database_sync_to_async(_token)(worker)
    operator_token = await database_sync_to_async(_token)(operator)
    start = await database_sync_to_async(_latest)()
    clients = [WsClient(production.ws_url, worker_token) for _ in range(20)]
    for client in clients:
        await client.__aenter__()
        await client.subscribe(after=str(start))
    try:
        posted = await _post_notice(production, operator_token, district.grid.pk, "before")
        assert posted["data"]["postGridNotice"]["errors"] == [], posted
        await asyncio.sleep(32)  # idle: no traffic on the sockets but the protocol's own pings
        assert all(client.conn.close_code is None for client in clients)

        redis_server.stop()
        during = await _post_notice(production, operator_token, district.grid.pk, "during")
        assert during["data"]["postGridNotice"]["errors"] == [], during  # committed: a success, not a 500
        await asyncio.sleep(3)
        redis_server.start()
        await asyncio.sleep(3)
        after = await _post_notice(production, operator_token, district.grid.pk, "after")
        assert after["data"]["postGridNotice"]["errors"] == [], after

        # Three notices: each a grid_notice.posted (the grid's) and a notification.created (the worker's inbox,
        # written by the Celery worker once the broker is back).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            expected = await database_sync_to_async(_visible_cursors)(worker, start)
            if len(expected) >= 6:
                break
            await asyncio.sleep(0.5)
        assert len(expected) == 6, production.worker.log()
        received = await asyncio.gather(*(_collect(client, len(expected), timeout=30) for client in clients))
        for client, cursors in zip(clients, received, strict=True):
            assert cursors == expected
            assert await client.silent(1)  # and nothing twice
            assert client.conn.close_code is None
    finally:
        for client in clients:
            await client.__aexit__()
    assert await database_sync_to_async(Notification.objects.filter(recipient=worker).count)() == 3
    assert await database_sync_to_async(GridNotice.objects.filter(delivered_at__isnull=False).count)() == 3


async def test_a_production_server_answers_health_and_graphql(production, users):
    production.start_asgi()
    body = (await asyncio.to_thread(httpx.get, f"{production.base}/healthz", timeout=10)).json()
    assert body["mode"] == "production"
    assert body["checks"]["database"]["ok"] and body["checks"]["channel_layer"]["ok"], body
    token = await database_sync_to_async(_token)(users["worker"])
    me = await asyncio.to_thread(production.graphql, "{ me { username } }", None, token)
    assert me == {"data": {"me": {"username": "worker"}}}


def _worker_ready(stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in stack.worker.log():
        assert time.monotonic() < deadline, stack.worker.log()
        time.sleep(0.2)


def _delivered() -> int:
    return GridNotice.objects.filter(delivered_at__isnull=False).count()


async def test_tasks_decided_while_the_broker_is_down_run_once_when_it_is_back_on_the_same_worker(
        production, redis_server, users, district):
    """The broker goes away for a while: every write that decides a task answers a success, the worker rides the
    outage out (the same process), and each decided task runs exactly once when the broker is back."""
    from core.management.commands.run_stack import WORKER_ARGS

    production.worker.argv = [sys.executable, "-m", "celery", "-A", "config", *WORKER_ARGS]  # as `make run` does
    production.start_asgi()
    production.worker.start()
    await asyncio.to_thread(_worker_ready, production)
    worker_pid = production.worker.pid
    operator_token = await database_sync_to_async(_token)(users["operator"])

    redis_server.stop()
    for n in range(6):
        posted = await _post_notice(production, operator_token, district.grid.pk, f"notice {n}")
        assert posted["data"]["postGridNotice"]["errors"] == [], posted
    await asyncio.sleep(20)  # the worker's connection fails and keeps failing
    assert production.worker.pid == worker_pid, production.worker.log()
    redis_server.start()

    deadline = time.monotonic() + 90
    while await database_sync_to_async(_delivered)() < 6 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert await database_sync_to_async(_delivered)() == 6, production.worker.log()
    await asyncio.sleep(3)  # room for a duplicate to show up
    log = production.worker.log(tail=None)
    assert production.worker.pid == worker_pid, log[-4000:]
    ran = re.findall(r"grid_notice_deliver_task\[([0-9a-f-]+)\] succeeded", log)
    assert len(ran) == 6 and len(set(ran)) == 6, log[-4000:]  # six tasks, each run once
    outbox = await database_sync_to_async(lambda: sorted(str(pk) for pk in OutboxTask.objects.filter(
        sent_at__isnull=False).values_list("pk", flat=True)))()
    assert outbox == sorted(ran)  # exactly the tasks the writes decided, by their ids
    assert await database_sync_to_async(Notification.objects.filter(recipient=users["worker"]).count)() == 6
