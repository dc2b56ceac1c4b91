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
