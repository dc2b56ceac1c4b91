"""api/multiplex.py: a slow reader's backlog against the end of its operation and strawberry's own messages."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from api.multiplex import Sink
from tests.api.test_fanout import _notice, _workers
from tests.api.test_websocket import issue, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def _capture_consumer(monkeypatch) -> dict:
    captured = {}
    original = Sink.current.__func__

    def current(cls, context, payload_of):
        captured.setdefault("consumer", context.get("ws"))
        return original(cls, context, payload_of)

    monkeypatch.setattr(Sink, "current", classmethod(current))
    return captured


def _slow_reader(consumer) -> asyncio.Event:
    """The socket's reader stalls: every send is written (in call order, like uvicorn's websockets) and then
    waits for its buffer to drain, which happens when the returned gate is set."""
    gate = asyncio.Event()
    real = consumer.base_send

    async def base_send(message):
        await real(message)
        if message.get("type") == "websocket.send" and not gate.is_set():
            await gate.wait()

    consumer.base_send = base_send
    return gate


async def _drain_messages(client, quiet: float = 0.5) -> list[dict]:
    """Every message until the socket has been quiet for ``quiet`` seconds (``receive_nothing`` does not end
    the application, unlike a receive that times out)."""
    out = []
    while not await client.nothing(quiet):
        out.append(await client.next())
    return out


async def test_backlogged_frames_are_not_sent_after_the_client_completed_and_reused_the_id(users, district, monkeypatch):
    captured = _capture_consumer(monkeypatch)
    token, = await database_sync_to_async(_workers)(district.grid, 1)
    _connected, client = await open_socket(token)
    await client.subscribe("feed", "subscription { changes { cursor } }")
    await asyncio.sleep(0.3)
    gate = _slow_reader(captured["consumer"])

    first = await database_sync_to_async(_notice)(district.grid, users["operator"])
    assert (await client.next())["payload"]["data"]["changes"]["cursor"] == str(first.id)
    await database_sync_to_async(_notice)(district.grid, users["operator"])  # pushed to the sink's backlog
    await asyncio.sleep(0.5)

    await client.ws.send_json_to({"id": "feed", "type": "complete"})
    await asyncio.sleep(0.1)
    # graphql-transport-ws: a completed id may be used again, here for another subscription
    await client.subscribe("feed", "subscription { eventChanged { cursor } }")
    await asyncio.sleep(0.3)
    gate.set()
    late = await _drain_messages(client)
    assert late == [], f"frames of the completed subscription reached the new one: {late}"
    await client.ws.disconnect()


async def test_a_token_that_expires_with_frames_in_the_backlog_ends_after_them(users, district, monkeypatch):
    from django.contrib.auth import get_user_model

    captured = _capture_consumer(monkeypatch)
    await database_sync_to_async(_workers)(district.grid, 1)
    worker = await database_sync_to_async(get_user_model().objects.get)(username="fan-0")
    issued = time.monotonic()
    token = await database_sync_to_async(issue)(worker, 2)
    _connected, client = await open_socket(token)
    await client.subscribe("feed", "subscription { changes { cursor } }")
    await asyncio.sleep(0.3)
    gate = _slow_reader(captured["consumer"])

    first = await database_sync_to_async(_notice)(district.grid, users["operator"])
    second = await database_sync_to_async(_notice)(district.grid, users["operator"])
    await asyncio.sleep(max(0.0, issued + 2.6 - time.monotonic()))  # the token ran out meanwhile
    gate.set()
    messages = await _drain_messages(client)
    seen = []
    for message in messages:
        if message["type"] == "next" and "errors" not in message["payload"]:
            seen.append(message["payload"]["data"]["changes"]["cursor"])
        elif message["type"] == "next":
            extensions = message["payload"]["errors"][0]["extensions"]
            seen.append(f"error:{extensions['code']}@{extensions.get('cursor')}")
        else:
            seen.append(message["type"])
    assert seen == [str(first.id), str(second.id), f"error:token_expired@{second.id}", "complete"], seen
    await client.ws.disconnect()



class _SlowConsumer:
    """A socket whose reader is slow: its first send waits until released; what it wrote, in order."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.release = asyncio.Event()

    async def base_send(self, message: dict) -> None:
        if not self.written and not self.release.is_set():
            await self.release.wait()
        self.written.append(message["text"])


def _sink(consumer) -> Sink:
    """A sink of operation ``op`` on ``consumer``, whose message for ``n`` is ``{"n": n}``."""
    from types import SimpleNamespace

    class Executor:
        def shared_result(self, payload):
            return SimpleNamespace(data={"n": payload}, errors=None)

    handler = SimpleNamespace(operations={})
    handler.operations["op"] = SimpleNamespace(id="op", completed=False, handler=handler)
    return Sink(consumer, handler.operations["op"], Executor(), payload_of=lambda row: row)


def _frame(n: int) -> str:
    return f'{{"id":"op","type":"next","payload":{{"data":{{"n":{n}}}}}}}'


async def test_a_slow_reader_gets_its_frames_in_order_without_holding_up_the_pass():
    consumer = _SlowConsumer()
    sink = _sink(consumer)
    assert all(sink.push(n) for n in range(3))  # returns at once although the first write waits
    assert consumer.written == []
    consumer.release.set()
    await asyncio.wait_for(sink.drained(), 2)
    assert consumer.written == [_frame(n) for n in range(3)]
    assert sink.push(3) and consumer.written[-1] == _frame(3)  # written at once again


async def test_a_stalled_reader_holds_at_most_the_backlog_and_then_the_subscriber_waits_for_it():
    from api.multiplex import BACKLOG

    consumer = _SlowConsumer()
    sink = _sink(consumer)
    assert all(sink.push(n) for n in range(BACKLOG + 1))  # one write waiting, BACKLOG behind it
    assert not sink.push(BACKLOG + 1)  # the subscriber's own path takes it, after waiting for the reader
    consumer.release.set()
    await asyncio.wait_for(sink.drained(), 2)
    assert consumer.written == [_frame(n) for n in range(BACKLOG + 1)]
