"""The barrier as deployed: a running ASGI server and a Celery worker on the ``vision`` queue, separate processes.
The barrier controller uploads real snapshots over HTTP (the Python `gql` client, multipart) and waits for each
decision on its websocket subscription; the plate is read by the worker; the operator sees the car park fill and
empty, and the snapshot the reader could not be sure of in the queue.  Both modes (embedded and services)."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from gql import Client, FileVar, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from strawberry.relay import to_base64

from accounts.services import token_issue
from parks.parking import vehicle_register
from parks.visitors import invitation_create
from tests.parks.conftest import picture
from tests.stack import stack_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

REPORT = gql("""mutation($input: ReportBarrierEventInput!) { reportBarrierEvent(input: $input) {
  errors { code } event { id state } } }""")
DECISIONS = gql("""subscription($gate: ID!) { barrierEvent(gateId: $gate) { id state plate result reason
  queueReason } }""")
OCCUPANCY = gql("query($park: ID!) { parkingOccupancy(parkId: $park) { capacity occupied free } }")
QUEUE = gql("query($park: ID!) { barrierQueue(parkId: $park) { edges { node { id queueReason readings } } } }")


@pytest.fixture
def stack(tmp_path, transactional_db):
    yield from stack_running(tmp_path)


async def test_real_snapshots_go_through_the_vision_queue_and_the_barrier_decides(
        stack, software_park, garage, plate_reader):
    sp, (_area, gate) = software_park, garage

    def prepare():
        vehicle_register(actor=sp.employee.user, park=sp.park, plate="苏B76933")
        now = timezone.now()
        invitation_create(actor=sp.colleague.user, park=sp.park, visitor_name="李雷", visitor_phone="13800138000",
                          purpose="面试", valid_from=now, valid_until=now + timedelta(hours=3),
                          visitor_plate="鲁D36694")
        return token_issue(user=sp.gate_account)[0], token_issue(user=sp.operator)[0]

    gate_token, operator_token = await database_sync_to_async(prepare)()
    stack.start_asgi()
    stack.worker.start()
    gate_id, park_id = to_base64("Gate", gate.pk), to_base64("Park", sp.park.pk)

    decided: dict[str, dict] = {}
    listener = WebsocketsTransport(url=stack.ws_url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                   init_payload={"Authorization": f"Bearer {gate_token}"})

    async def listen(wanted: int):
        async with Client(transport=listener) as session:
            async for message in session.subscribe(DECISIONS, variable_values={"gate": gate_id}):
                event = message["barrierEvent"]
                if event["state"] != "READING":
                    decided[event["id"]] = event
                    if len(decided) == wanted:
                        return

    arrivals = [("苏B76933", "IN"), ("鲁D36694", "IN"), ("苏B76933", "OUT"), ("浙FS8975", "IN")]
    listening = asyncio.create_task(listen(len(arrivals)))
    await asyncio.sleep(1.5)  # subscribed before the first car

    reported = []
    upload = HTTPXAsyncTransport(url=f"{stack.base}/graphql/", headers={"Authorization": f"Bearer {gate_token}"},
                                 timeout=30)
    async with Client(transport=upload) as session:
        for number, (plate, direction) in enumerate(arrivals):
            snapshot = FileVar(io.BytesIO(picture(plate)), filename=f"{number}.jpg", content_type="image/jpeg")
            answer = await session.execute(GraphQLRequest(REPORT, variable_values={"input": {
                "gateId": gate_id, "direction": direction, "snapshot": snapshot, "deviceEvent": f"cam-{number}"}}),
                upload_files=True)
            assert answer["reportBarrierEvent"]["errors"] == [], answer
            assert answer["reportBarrierEvent"]["event"]["state"] == "READING"  # decided by the worker, not here
            reported.append(answer["reportBarrierEvent"]["event"]["id"])
    await asyncio.wait_for(listening, 90)  # the worker loads the reader once, then ~0.1 s a picture

    outcome = [(decided[pk]["state"], decided[pk]["plate"], decided[pk]["result"], decided[pk]["reason"] or
                decided[pk]["queueReason"]) for pk in reported]
    assert outcome == [("DECIDED", "苏B76933", "PASSED", "registered"),
                       ("DECIDED", "鲁D36694", "PASSED", "visitor"),
                       ("DECIDED", "苏B76933", "PASSED", "exit"),
                       ("UNREADABLE", "", None, "unsure")]
    assert "barrier_plate_read_task" in stack.worker.log()

    operator = HTTPXAsyncTransport(url=f"{stack.base}/graphql/", headers={"Authorization": f"Bearer {operator_token}"})
    async with Client(transport=operator) as session:
        occupancy = await session.execute(GraphQLRequest(OCCUPANCY, variable_values={"park": park_id}))
        queue = await session.execute(GraphQLRequest(QUEUE, variable_values={"park": park_id}))
    assert occupancy["parkingOccupancy"] == [{"capacity": 3, "occupied": 1, "free": 2}]  # the visitor's car
    waiting = [edge["node"] for edge in queue["barrierQueue"]["edges"]]
    assert [row["id"] for row in waiting] == [reported[3]]
    assert waiting[0]["queueReason"] == "unsure" and waiting[0]["readings"]
