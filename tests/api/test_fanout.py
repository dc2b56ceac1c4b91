"""One change to many subscribers: executed once per operation, each socket still gets its own message."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from api.execution import OneGridExecutor
from core.audiences import scope
from core.feed import change_record
from gridapp.geography.models import GridNotice
from gridapp.geography.services import grid_assign_worker
from tests.api.test_websocket import issue, open_socket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _notice(grid, author):
    from django.db import transaction

    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title="t", body="b")
        return change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", grid.pk)])


def _workers(grid, count: int) -> list[str]:
    from accounts.models import Role

    tokens = []
    for n in range(count):
        worker = UserFactory(username=f"fan-{n}", role=Role.GRID_WORKER)
        grid_assign_worker(actor=None, grid=grid, worker=worker)
        tokens.append(issue(worker))
    return tokens


async def test_one_change_is_executed_once_for_the_subscribers_of_one_operation(users, district, monkeypatch):
    executed = []
    original = OneGridExecutor.execute_operation

    def counting(self, *args, **kwargs):
        executed.append(type(self.root_value).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(OneGridExecutor, "execute_operation", counting)
    tokens = await database_sync_to_async(_workers)(district.grid, 4)
    query = "subscription($after: String) { changes(after: $after) { cursor kind objectType } }"
    clients = []
    for n, token in enumerate(tokens):
        _connected, client = await open_socket(token)
        # the same operation; `after` differs, but only the root field reads it
        await client.subscribe(f"op{n}", query, {"after": None} if n % 2 else {})
        clients.append(client)
    _connected, other = await open_socket(tokens[0])
    await other.subscribe("mine", "subscription { changes { cursor nodeId } }")  # another selection
    await asyncio.sleep(0.3)
    executed.clear()
    change = await database_sync_to_async(_notice)(district.grid, users["operator"])

    for n, client in enumerate(clients):
        message = await client.next()
        assert message["id"] == f"op{n}"
        assert message["payload"]["data"]["changes"] == {
            "cursor": str(change.id), "kind": "grid_notice.posted", "objectType": "gridapp.gridnotice"}
    message = await other.next()
    assert message["id"] == "mine"
    assert message["payload"]["data"]["changes"]["cursor"] == str(change.id)
    assert set(message["payload"]["data"]["changes"]) == {"cursor", "nodeId"}
    assert executed.count("ChangeType") == 2  # once per distinct operation, not once per socket
    for client in (*clients, other):
        await client.ws.disconnect()


async def test_a_subscriber_outside_the_scope_is_not_woken_and_gets_nothing(users, district):
    token_in, = await database_sync_to_async(_workers)(district.grid, 1)
    token_out = await database_sync_to_async(issue)(users["worker2"])
    _connected, inside = await open_socket(token_in)
    _connected, outside = await open_socket(token_out)
    for client in (inside, outside):
        await client.subscribe("feed", "subscription { changes { cursor } }")
    await asyncio.sleep(0.3)
    change = await database_sync_to_async(_notice)(district.grid, users["operator"])
    assert (await inside.next())["payload"]["data"]["changes"]["cursor"] == str(change.id)
    assert await outside.nothing()
    for client in (inside, outside):
        await client.ws.disconnect()


async def test_live_changes_reach_every_socket_without_waking_its_subscriber(users, district, monkeypatch):
    """The watcher hands a change to the waiting subscribers' sinks (api/multiplex.py): every socket gets its
    message, and no subscriber's loop runs for it."""
    from api.watcher import watcher

    tokens = await database_sync_to_async(_workers)(district.grid, 3)
    clients = []
    for n, token in enumerate(tokens):
        _connected, client = await open_socket(token)
        await client.subscribe(f"op{n}", "subscription { changes { cursor kind } }")
        clients.append(client)
    await asyncio.sleep(0.3)
    looked = []
    original = watcher.rows_after
    monkeypatch.setattr(watcher, "rows_after", lambda cursor: looked.append(cursor) or original(cursor))

    changes = [await database_sync_to_async(_notice)(district.grid, users["operator"]) for _ in range(3)]
    for n, client in enumerate(clients):
        for change in changes:
            message = await client.next()
            assert message == {"id": f"op{n}", "type": "next", "payload": {"data": {"changes": {
                "cursor": str(change.id), "kind": "grid_notice.posted"}}}}
        assert await client.nothing(0.3)
    assert looked == []  # every message was written by the watcher's pass, none by a woken subscriber
    for client in clients:
        await client.ws.disconnect()


def _personal_then_grid(grid, author, worker):
    """A change to the worker personally and a change to their grid, committed before the watcher looks."""
    from django.db import transaction

    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title="t", body="b")
        personal = change_record(kind="note.personal", obj=notice, to=[scope("user", worker.pk)])
    return personal, _notice(grid, author)


async def test_a_change_the_sink_leaves_to_the_subscriber_keeps_the_order_of_the_socket(users, district):
    """A change addressed to the user personally wakes the subscriber (it reads the user again); the grid
    change behind it, in the same pass of the watcher, must not overtake it on the socket."""
    token, = await database_sync_to_async(_workers)(district.grid, 1)
    from django.contrib.auth import get_user_model
    worker = await database_sync_to_async(get_user_model().objects.get)(username="fan-0")
    _connected, client = await open_socket(token)
    await client.subscribe("feed", "subscription { changes { cursor kind } }")
    await asyncio.sleep(0.3)
    first = await database_sync_to_async(_notice)(district.grid, users["operator"])
    personal, grid_change = await database_sync_to_async(_personal_then_grid)(
        district.grid, users["operator"], worker)
    last = await database_sync_to_async(_notice)(district.grid, users["operator"])
    cursors = [(await client.next())["payload"]["data"]["changes"]["cursor"] for _ in range(4)]
    assert cursors == [str(first.id), str(personal.id), str(grid_change.id), str(last.id)]
    assert await client.nothing(0.3)
    await client.ws.disconnect()


async def test_a_completed_subscription_gets_no_more_frames(users, district):
    token, = await database_sync_to_async(_workers)(district.grid, 1)
    _connected, client = await open_socket(token)
    await client.subscribe("feed", "subscription { changes { cursor } }")
    await client.subscribe("other", "subscription { changes { kind } }")
    await asyncio.sleep(0.3)
    await client.ws.send_json_to({"id": "feed", "type": "complete"})
    await asyncio.sleep(0.1)
    await database_sync_to_async(_notice)(district.grid, users["operator"])
    assert (await client.next())["id"] == "other"
    assert await client.nothing(0.5)
    await client.ws.disconnect()


async def _watcher_reads(monkeypatch):
    """A fresh watcher, and the cursors it asked the log for."""
    import api.watcher
    from api.watcher import ChangeWatcher

    reads = []
    original = api.watcher._rows_after

    async def reading(cursor):
        reads.append(cursor)
        return await original(cursor)

    monkeypatch.setattr(api.watcher, "_rows_after", reading)
    return ChangeWatcher(), reads


def _announced(change) -> dict:
    return {"id": change.id, "at": change.at, "kind": change.kind, "object_type": change.object_type,
            "object_id": change.object_id, "scopes": frozenset(change.scopes), "facts": change.facts}


async def test_the_watcher_takes_the_announced_next_change_without_reading_the_log(users, district, monkeypatch):
    watcher, reads = await _watcher_reads(monkeypatch)
    first = await database_sync_to_async(_notice)(district.grid, users["operator"])
    watcher.latest = first.id - 1
    await watcher._catch_up(_announced(first))
    assert reads == [] and watcher.latest == first.id
    assert watcher.recent[-1].scopes == frozenset(first.scopes)

    await watcher._catch_up(_announced(first))  # announced again, or after a poll: nothing to do
    assert reads == []


async def test_an_announcement_past_a_gap_makes_the_watcher_read_the_log(users, district, monkeypatch):
    """Cursors commit in order, so only the next cursor can be taken as announced: one beyond it means the
    watcher has not heard of the one between (another process's announcement still on its way)."""
    watcher, reads = await _watcher_reads(monkeypatch)
    first = await database_sync_to_async(_notice)(district.grid, users["operator"])
    second = await database_sync_to_async(_notice)(district.grid, users["operator"])
    watcher.latest = first.id - 1
    await watcher._catch_up(_announced(second))
    assert reads == [first.id - 1]
    assert [row.id for row in watcher.recent] == [first.id, second.id]
