"""The API as third-party clients use it, against a running server and Celery worker, in both modes: the Python
`gql` client over real HTTP (multipart photo upload) and a graphql-transport-ws websocket, and the reference
`graphql-ws` JavaScript client (browsers, React Native) under node."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from gql import Client, FileVar, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from strawberry.relay import to_base64

from accounts.services import token_issue
from tests.factories import jpeg_bytes
from tests.stack import stack_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LOGIN = gql("mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
            "{ errors { code } accessToken } }")
REPORT = gql("""mutation($input: EventReportInput!) { reportEvent(input: $input) {
  errors { code field } event { id caseNumber status photos { stage } } duplicateOf { id } } }""")
CHANGED = gql("subscription { eventChanged { kind status version event { caseNumber } } }")
PAGE = gql("{ events { edges { node { caseNumber } } pageInfo { hasNextPage } } }")


@pytest.fixture
def stack(tmp_path, transactional_db):
    yield from stack_running(tmp_path)


async def test_a_worker_reports_with_a_photo_over_http_and_the_department_hears_it_on_the_websocket(
        stack, users, district, event_categories):
    from tests.conftest import PASSWORD

    def passwords():  # hashed as the server checks them (the test process hashes with MD5 for speed)
        from django.contrib.auth.hashers import PBKDF2PasswordHasher

        for name in ("worker", "urban"):
            hasher = PBKDF2PasswordHasher()
            users[name].password = hasher.encode(PASSWORD, hasher.salt())
            users[name].save(update_fields=["password"])

    await database_sync_to_async(passwords)()
    stack.start_asgi()
    stack.worker.start()

    async def token(username: str) -> str:
        async with Client(transport=HTTPXAsyncTransport(url=f"{stack.base}/graphql/")) as session:
            answer = await session.execute(GraphQLRequest(LOGIN, variable_values={"u": username, "p": PASSWORD}))
        assert answer["login"]["errors"] == []
        return answer["login"]["accessToken"]

    worker_token, urban_token = await token("worker"), await token("urban")
    listener = WebsocketsTransport(url=stack.ws_url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                   init_payload={"Authorization": f"Bearer {urban_token}"})
    received: list[dict] = []

    async def listen():
        async with Client(transport=listener) as session:
            async for message in session.subscribe(CHANGED):
                received.append(message["eventChanged"])
                return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(1.5)  # connected and subscribed before the report

    upload = HTTPXAsyncTransport(url=f"{stack.base}/graphql/", headers={"Authorization": f"Bearer {worker_token}"})
    async with Client(transport=upload) as session:
        photo = FileVar(_jpeg_file(), filename="scene.jpg", content_type="image/jpeg")
        answer = await session.execute(GraphQLRequest(REPORT, variable_values={"input": {
            "categoryCode": "02-05", "lng": 120.31, "lat": 36.01, "description": "占道经营", "photos": [photo]}}),
            upload_files=True)
        assert answer["reportEvent"]["errors"] == []
        event = answer["reportEvent"]["event"]
        assert event["status"] == "REPORTED" and event["photos"] == [{"stage": "REPORT"}]
        page = await session.execute(PAGE)  # no `first`: one default page, not the whole table
        assert page["events"]["pageInfo"]["hasNextPage"] is False

    await asyncio.wait_for(listening, 30)
    assert received == [{"kind": "event.reported", "status": "REPORTED", "version": 1,
                         "event": {"caseNumber": event["caseNumber"]}}]


def _jpeg_file():
    import io

    return io.BytesIO(jpeg_bytes())


JS_CLIENT = Path(__file__).parent / "js"


def _node() -> str:
    """The node binary with the client's packages installed (`make install-dev` runs `npm ci` in tests/js)."""
    node = shutil.which("node")
    if node is None or not (JS_CLIENT / "node_modules" / "graphql-ws").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs node and tests/js/node_modules (npm ci in tests/js)")
        pytest.skip("node or tests/js/node_modules missing: run `make install-dev`")
    return node


async def test_the_reference_graphql_ws_javascript_client_stays_subscribed_while_idle_and_receives_changes(
        stack, users, district):
    node = _node()
    stack.start_asgi()
    stack.worker.start()
    worker_token = await database_sync_to_async(lambda: token_issue(user=users["worker"])[0])()
    operator_token = await database_sync_to_async(lambda: token_issue(user=users["operator"])[0])()
    client = await asyncio.create_subprocess_exec(node, str(JS_CLIENT / "subscribe.mjs"), stack.ws_url, worker_token,
                                                  "2", stdout=asyncio.subprocess.PIPE, cwd=JS_CLIENT)
    try:
        async def line() -> dict:
            return json.loads(await asyncio.wait_for(client.stdout.readline(), 30))

        assert await line() == {"ready": True}
        await asyncio.sleep(12)  # idle past every timeout that once closed sockets (5 s in production mode)
        posted = await asyncio.to_thread(
            stack.graphql, 'mutation($g: ID!) { postGridNotice(input: {gridId: $g, title: "停水通知"}) '
                           "{ errors { code } } }", {"g": to_base64("Grid", district.grid.pk)}, operator_token)
        assert posted["data"]["postGridNotice"]["errors"] == []
        changes = [(await line())["change"] for _ in range(2)]
        assert [change["kind"] for change in changes] == ["grid_notice.posted", "notification.created"]
        assert int(changes[1]["cursor"]) > int(changes[0]["cursor"])
        assert await asyncio.wait_for(client.wait(), 10) == 0
    finally:
        if client.returncode is None:
            client.kill()


SUBMIT = gql("""mutation($input: SubmitMeterReadingsInput!) { submitMeterReadings(input: $input) {
  errors { code } accepted duplicates refusedCounts { code count } } }""")


async def test_a_meters_gateway_sends_its_batches_with_the_python_gql_client_over_http_and_retries_safely(
        stack, users, district, event_categories):
    from datetime import timedelta

    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from accounts.models import Role
    from gridapp.sensors.models import MeterReading
    from gridapp.sensors.services import consent_record, household_register
    from tests.factories import UserFactory

    now = timezone.now()

    def setup() -> str:
        household = household_register(
            code="hh-gw", address="江西路 8 号", lng=120.301, lat=36.001, resident_name="周玉珍", contact_name="周军",
            contact_phone="13800000030", emergency_name="居委会", emergency_phone="0532-80000001",
            meter_serial="WM-GW", meter_installed_at=now - timedelta(days=2))
        consent_record(actor=None, household_id=household.pk, given_by="周玉珍", at=now - timedelta(days=2))
        gateway = UserFactory(username="gateway", role=Role.CITIZEN)
        gateway.user_permissions.add(Permission.objects.get(codename="submit_readings"))
        return token_issue(user=gateway)[0]

    token = await database_sync_to_async(setup)()
    stack.start_asgi()
    readings = [{"meter": "WM-GW", "at": (now - timedelta(minutes=15 * (96 - i))).isoformat(), "litres": 100.0 + i}
                for i in range(96)]
    transport = HTTPXAsyncTransport(url=f"{stack.base}/graphql/", headers={"Authorization": f"Bearer {token}"})
    async with Client(transport=transport) as session:
        first = await session.execute(GraphQLRequest(SUBMIT, variable_values={"input": {"readings": readings[:60]}}))
        # the gateway did not hear the answer: it sends the day again, with what it had not sent, and a bad one
        again = await session.execute(GraphQLRequest(SUBMIT, variable_values={"input": {
            "readings": [*readings, {"meter": "WM-GW", "at": readings[10]["at"], "litres": -1}]}}))
    assert first["submitMeterReadings"] == {"errors": [], "accepted": 60, "duplicates": 0, "refusedCounts": []}
    assert again["submitMeterReadings"] == {"errors": [], "accepted": 36, "duplicates": 60, "refusedCounts": [
        {"code": "negative_volume", "count": 1}]}
    assert await database_sync_to_async(MeterReading.objects.count)() == 96
