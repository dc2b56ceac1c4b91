"""The GraphQL websocket through the real consumer and schema (channels' in-process communicator)."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.services import token_issue, user_logout
from config.asgi import application
from core.audiences import scope
from core.feed import change_record
from core.services import notification_send
from gridapp.geography.models import GridNotice
from gridapp.geography.services import grid_assign_worker

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBE_CHANGES = "subscription($after: String) { changes(after: $after) { cursor kind objectType } }"


class Client:
    """A graphql-transport-ws client over a communicator."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.ws = communicator

    async def init(self, payload) -> dict:
        await self.ws.send_json_to({"type": "connection_init", "payload": payload})
        return await self.ws.receive_json_from(timeout=5)

    async def subscribe(self, op_id: str, query: str, variables: dict | None = None) -> None:
        await self.ws.send_json_to({"id": op_id, "type": "subscribe",
                                    "payload": {"query": query, "variables": variables or {}}})

    async def next(self, timeout: float = 5) -> dict:
        return await self.ws.receive_json_from(timeout=timeout)

    async def nothing(self, timeout: float = 0.8) -> bool:
        return await self.ws.receive_nothing(timeout=timeout)


async def open_socket(token: str | None = None, *, origin: bytes | None = None, protocol="graphql-transport-ws",
                      language: bytes | None = None):
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin))
    if language:
        headers.append((b"accept-language", language))
    communicator = WebsocketCommunicator(application, "/graphql/", headers=headers, subprotocols=[protocol])
    connected, subprotocol = await communicator.connect(timeout=5)
    client = Client(communicator)
    if connected and token is not None:
        ack = await client.init({"Authorization": f"Bearer {token}"})
        assert ack["type"] == "connection_ack", ack
    return connected, client


async def close_code(client: Client) -> tuple[int, str]:
    message = await client.ws.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message.get("code"), message.get("reason", "")


def issue(user, ttl=None) -> str:
    return token_issue(user=user, ttl_seconds=ttl)[0]


async def test_foreign_origin_is_refused_at_the_handshake(users):
    connected, _client = await open_socket(origin=b"https://evil.example")
    assert not connected


async def test_allowed_origin_and_native_client_without_origin_connect(users):
    token = await database_sync_to_async(issue)(users["worker"])
    for origin in (b"http://127.0.0.1:8000", None):
        connected, client = await open_socket(token, origin=origin)
        assert connected
        await client.ws.disconnect()


async def test_legacy_graphql_ws_protocol_is_not_spoken(users):
    connected, client = await open_socket(protocol="graphql-ws")
    assert connected  # accepted without a subprotocol, then closed
    code, _reason = await close_code(client)
    assert code == 4406


async def test_subscribe_before_connection_ack_closes_4401(users):
    _connected, client = await open_socket()
    await client.subscribe("1", SUBSCRIBE_CHANGES)
    assert (await close_code(client))[0] == 4401


@pytest.mark.parametrize("case", ["missing", "forged", "expired", "revoked"])
async def test_bad_tokens_in_connection_init_close_4403_with_the_reason(users, case):
    token = await database_sync_to_async(issue)(users["worker"])
    if case == "expired":
        from datetime import timedelta

        from django.utils import timezone

        from accounts.models import AuthToken

        await database_sync_to_async(AuthToken.objects.update)(expires_at=timezone.now() - timedelta(seconds=5))
    if case == "revoked":
        from accounts.services import token_authenticate

        _user, row = await database_sync_to_async(token_authenticate)(token)
        await database_sync_to_async(user_logout)(token=row)
    payload = {"missing": {}, "forged": {"Authorization": "Bearer oga_" + "x" * 43}}.get(
        case, {"Authorization": f"Bearer {token}"})
    _connected, client = await open_socket()
    await client.ws.send_json_to({"type": "connection_init", "payload": payload})
    code, reason = await close_code(client)
    expected = {"missing": "unauthenticated", "forged": "token_invalid", "expired": "token_expired",
                "revoked": "token_revoked"}[case]
    assert (code, reason) == (4403, expected)


async def test_subscriptions_per_connection_are_capped(users, settings):
    token = await database_sync_to_async(issue)(users["worker"])
    _connected, client = await open_socket(token)
    cap = settings.GRAPHQL["MAX_SUBSCRIPTIONS_PER_CONNECTION"]
    for n in range(cap):
        await client.subscribe(str(n), SUBSCRIBE_CHANGES)
    await client.subscribe("extra", SUBSCRIBE_CHANGES)
    message = await client.next()
    assert message["type"] == "error" and message["id"] == "extra"
    assert "limit" in message["payload"][0]["message"].lower()
    await client.ws.disconnect()


def _notice_for(grid, author):
    from django.db import transaction

    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title="积水")
        return change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", grid.pk)])


async def test_each_user_receives_exactly_the_changes_they_may_see(users, district):
    tokens = {name: await database_sync_to_async(issue)(users[name]) for name in ("worker", "worker2", "operator", "citizen")}
    clients = {}
    for name, token in tokens.items():
        _connected, clients[name] = await open_socket(token)
        await clients[name].subscribe("feed", SUBSCRIBE_CHANGES)
    await asyncio.sleep(0.3)  # let every subscription register at "now"
    change = await database_sync_to_async(_notice_for)(district.grid, users["operator"])

    for name in ("worker", "operator"):
        message = await clients[name].next()
        assert message["payload"]["data"]["changes"] == {
            "cursor": str(change.id), "kind": "grid_notice.posted", "objectType": "gridapp.gridnotice"}
    assert await clients["worker2"].nothing()
    assert await clients["citizen"].nothing()
    for client in clients.values():
        await client.ws.disconnect()


async def test_resubscribing_with_a_cursor_replays_the_missed_changes_without_duplicates(users, district):
    worker = users["worker"]
    first = await database_sync_to_async(notification_send)(recipient=worker, title="一")
    token = await database_sync_to_async(issue)(worker)
    missed = [await database_sync_to_async(notification_send)(recipient=worker, title=t) for t in ("二", "三")]
    from core.models import Change

    first_cursor = await database_sync_to_async(
        lambda: Change.objects.get(kind="notification.created", object_id=first.pk).id)()
    _connected, client = await open_socket(token)
    await client.subscribe("feed", SUBSCRIBE_CHANGES, {"after": str(first_cursor)})
    got = [(await client.next())["payload"]["data"]["changes"] for _ in missed]
    assert [item["kind"] for item in got] == ["notification.created"] * 2
    assert [int(item["cursor"]) for item in got] == sorted(int(item["cursor"]) for item in got)
    assert all(int(item["cursor"]) > first_cursor for item in got)
    live = await database_sync_to_async(notification_send)(recipient=worker, title="四")
    message = (await client.next())["payload"]["data"]["changes"]
    assert int(message["cursor"]) > int(got[-1]["cursor"])
    assert await client.nothing()
    await client.ws.disconnect()
    assert live.pk


async def test_permission_is_checked_again_for_every_message(users, district):
    """A worker moved off a grid stops receiving its changes on the open subscription."""
    worker = users["worker"]
    token = await database_sync_to_async(issue)(worker)
    _connected, client = await open_socket(token)
    await client.subscribe("feed", SUBSCRIBE_CHANGES)
    await asyncio.sleep(0.3)
    await database_sync_to_async(_notice_for)(district.grid, users["operator"])
    assert (await client.next())["payload"]["data"]["changes"]["kind"] == "grid_notice.posted"

    from gridapp.geography.services import grid_unassign_worker

    await database_sync_to_async(grid_unassign_worker)(actor=None, grid=district.grid, worker=worker)
    assert (await client.next())["payload"]["data"]["changes"]["kind"] == "grid.unassigned"
    await database_sync_to_async(_notice_for)(district.grid, users["operator"])
    assert await client.nothing(1.0)
    # and gains the grid it is now assigned to
    await database_sync_to_async(grid_assign_worker)(actor=None, grid=district.grid2, worker=worker)
    assert (await client.next())["payload"]["data"]["changes"]["kind"] == "grid.assigned"
    await database_sync_to_async(_notice_for)(district.grid2, users["operator"])
    assert (await client.next())["payload"]["data"]["changes"]["kind"] == "grid_notice.posted"
    await client.ws.disconnect()


async def test_a_revoked_token_ends_the_subscription_at_the_next_message(users, district):
    worker = users["worker"]
    token = await database_sync_to_async(issue)(worker)
    _connected, client = await open_socket(token, language=b"en")
    await client.subscribe("feed", SUBSCRIBE_CHANGES)
    await asyncio.sleep(0.3)
    from accounts.services import token_authenticate

    _user, row = await database_sync_to_async(token_authenticate)(token)
    await database_sync_to_async(user_logout)(token=row)
    await database_sync_to_async(notification_send)(recipient=worker, title="after logout")
    message = await client.next()
    assert message["type"] == "error" or message["payload"].get("errors")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "token_expired"
    await client.ws.disconnect()


async def test_a_token_that_runs_out_on_a_quiet_feed_ends_the_subscription_when_it_does(users):
    """No change arrives: the subscription still ends with `token_expired` at the token's expiry, not at some
    later message (a phone keeps a socket open for hours)."""
    token = await database_sync_to_async(issue)(users["worker"], 2)
    _connected, client = await open_socket(token, language=b"en")
    await client.subscribe("feed", SUBSCRIBE_CHANGES)
    started = time.monotonic()
    message = await client.next(timeout=6)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "token_expired"
    assert 1.0 < time.monotonic() - started < 4.0
    await client.ws.disconnect()
