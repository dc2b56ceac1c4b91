"""The API as a phone's third-party GraphQL client uses it: the Python `gql` client over real HTTP (multipart photo
upload) and a real graphql-transport-ws websocket, against a running server and Celery worker, in both modes."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from gql import Client, FileVar, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.factories import jpeg_bytes
from tests.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LOGIN = gql("mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
            "{ errors { code } accessToken } }")
REPORT = gql("""mutation($input: EventReportInput!) { reportEvent(input: $input) {
  errors { code field } event { id caseNumber status photos { stage } } duplicateOf { id } } }""")
CHANGED = gql("subscription { eventChanged { kind status version event { caseNumber } } }")
PAGE = gql("{ events { edges { node { caseNumber } } pageInfo { hasNextPage } } }")


@pytest.fixture
def stack(tmp_path, transactional_db):
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.stop()
        for process in running.processes:
            print(f"--- {process.name} log ---\n{process.log()}")


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
