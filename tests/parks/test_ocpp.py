"""OneGrid as the OCPP 1.6J central system, against a charge point simulated with the same ``ocpp`` package over a
real websocket to a running server (uvicorn on the test database)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import websockets
from channels.db import database_sync_to_async
from django.utils import timezone
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from strawberry.relay import to_base64

from accounts.services import token_issue
from parks.charging import charger_create
from parks.models import ChargerMessage, ChargingSession, Connector
from tests.stack import stack_running

CHARGERS = """query($park: ID!) { parkChargers(parkId: $park) { identity state vendor
  connectors { number status errorCode } } }"""
MAP = """query($park: ID!) { parkMap(parkId: $park) { chargers { identity state sessionsToday energyTodayKwh
  latestEmployee latestSession { transactionId energyKwh status } } } }"""
HISTORY = "{ myChargingSessions { transactionId charger status energyKwh cost stopReason } }"


@pytest.fixture
def stack(tmp_path, settings):
    yield from stack_running(tmp_path, env={"PARK_KEY_DIR": str(settings.PARK_KEY_DIR)})


async def connect(stack, identity: str, password: str, *, subprotocol: str = "ocpp1.6"):
    secret = base64.b64encode(f"{identity}:{password}".encode()).decode()
    url = stack.base.replace("http", "ws") + f"/ocpp/{identity}"
    socket = await websockets.connect(url, subprotocols=[subprotocol], open_timeout=10,
                                      additional_headers={"Authorization": f"Basic {secret}"})
    point = ChargePoint(identity, socket)
    task = asyncio.create_task(point.start())
    return socket, point, task


def meter(wh: int) -> list:
    return [{"timestamp": "2026-12-02T09:00:00Z",
             "sampledValue": [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]


@pytest.mark.django_db(transaction=True)
async def test_a_charge_point_boots_authorises_an_employee_charges_and_stops(software_park, stack):
    sp = software_park
    sp.employee.card_id = "CARD-0042"
    await database_sync_to_async(sp.employee.save)(update_fields=["card_id"])
    await database_sync_to_async(charger_create)(park=sp.park, identity="CP-A1", name="A 座 1 号充电桩",
                                                 password="s3cret-charger", tariff_per_kwh=Decimal("1.20"))
    stack.start_asgi()
    socket, point, task = await connect(stack, "CP-A1", "s3cret-charger")
    try:
        boot = await point.call(call.BootNotification(charge_point_vendor="OneGridTest", charge_point_model="AC7"))
        assert boot.status == RegistrationStatus.accepted and boot.interval == 300
        await point.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        assert (await point.call(call.Authorize(id_tag="CARD-0042"))).id_tag_info["status"] == "Accepted"
        assert (await point.call(call.Authorize(id_tag="NOBODY"))).id_tag_info["status"] == "Invalid"
        now = datetime.now(UTC).replace(microsecond=0)
        # an hour ago, or the district's midnight if that was later: the map counts today's charges
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        started = await point.call(call.StartTransaction(connector_id=1, id_tag="CARD-0042", meter_start=1000,
                                                         timestamp=max(now - timedelta(hours=1), midnight).isoformat()))
        assert started.id_tag_info["status"] == AuthorizationStatus.accepted
        transaction = started.transaction_id
        await point.call(call.MeterValues(connector_id=1, transaction_id=transaction, meter_value=meter(4000)))
        await point.call(call.MeterValues(connector_id=1, transaction_id=transaction, meter_value=meter(3500)))
        await point.call(call.MeterValues(connector_id=1, transaction_id=999999, meter_value=meter(9000)))
        await point.call(call.StopTransaction(meter_stop=8500, timestamp=now.isoformat(),
                                              transaction_id=transaction, reason="EVDisconnected"))
        await point.call(call.StopTransaction(meter_stop=9000, timestamp=(now + timedelta(minutes=1)).isoformat(),
                                              transaction_id=transaction))
        await point.call(call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted"))
    finally:
        task.cancel()
        await socket.close()

    session = await database_sync_to_async(ChargingSession.objects.get)(pk=transaction)
    assert (session.status, session.energy_wh, session.cost, session.stop_reason) == (
        "completed", 7500, Decimal("9.00"), "EVDisconnected")
    refusals = await database_sync_to_async(lambda: sorted(ChargerMessage.objects.values_list("action", "reason")))()
    assert refusals == [("MeterValues", "meter_backwards"), ("MeterValues", "unknown_transaction"),
                        ("StopTransaction", "already_stopped")]
    fault = await database_sync_to_async(Connector.objects.get)(charger__identity="CP-A1", number=1)
    assert (fault.status, fault.error_code) == ("Faulted", "GroundFailure")
    operator = await database_sync_to_async(lambda: token_issue(user=sp.operator)[0])()
    chargers = (await asyncio.to_thread(stack.graphql, CHARGERS, {"park": to_base64("Park", sp.park.pk)},
                                        operator))["data"]["parkChargers"]
    assert chargers == [{"identity": "CP-A1", "state": "offline", "vendor": "OneGridTest",  # the socket is closed
                         "connectors": [{"number": 1, "status": "Faulted", "errorCode": "GroundFailure"}]}]
    token = await database_sync_to_async(lambda: token_issue(user=sp.employee.user)[0])()
    refused = await asyncio.to_thread(stack.graphql, CHARGERS, {"park": to_base64("Park", sp.park.pk)}, token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "not_found"
    history = await asyncio.to_thread(stack.graphql, HISTORY, None, token)
    assert history["data"]["myChargingSessions"] == [{"transactionId": transaction, "charger": "A 座 1 号充电桩",
                                                      "status": "completed", "energyKwh": 7.5, "cost": "9.00",
                                                      "stopReason": "EVDisconnected"}]
    # the charge on the operator's one map: the charger's state, today's energy, who charged and how much
    seen = await asyncio.to_thread(stack.graphql, MAP, {"park": to_base64("Park", sp.park.pk)}, operator)
    assert seen["data"]["parkMap"]["chargers"] == [{
        "identity": "CP-A1", "state": "offline", "sessionsToday": 1, "energyTodayKwh": 7.5,
        "latestEmployee": str(sp.employee.user),
        "latestSession": {"transactionId": transaction, "energyKwh": 7.5, "status": "completed"}}]


@pytest.mark.django_db(transaction=True)
async def test_a_forged_charger_is_refused_at_the_door_and_a_repeated_message_has_one_effect(software_park, stack):
    sp = software_park
    await database_sync_to_async(charger_create)(park=sp.park, identity="CP-A2", name="A 座 2 号充电桩",
                                                 password="right-password")
    stack.start_asgi()
    for identity, password in (("CP-A2", "wrong-password"), ("CP-NONE", "anything")):
        with pytest.raises(websockets.exceptions.InvalidStatus):
            await connect(stack, identity, password)
    with pytest.raises(websockets.exceptions.InvalidStatus):  # OCPP 1.6 only
        await connect(stack, "CP-A2", "right-password", subprotocol="ocpp2.0.1")
    refused = await database_sync_to_async(lambda: sorted(ChargerMessage.objects.values_list("identity", "reason")))()
    assert refused == [("CP-A2", "bad_password"), ("CP-A2", "no_ocpp16_subprotocol"), ("CP-NONE", "unknown_charger")]

    sp.employee.card_id = "CARD-7"
    await database_sync_to_async(sp.employee.save)(update_fields=["card_id"])
    socket = await websockets.connect(stack.base.replace("http", "ws") + "/ocpp/CP-A2", subprotocols=["ocpp1.6"],
                                      additional_headers={"Authorization": "Basic " + base64.b64encode(
                                          b"CP-A2:right-password").decode()}, open_timeout=10)
    try:
        start = ('[2,"start-1","StartTransaction",{"connectorId":1,"idTag":"CARD-7","meterStart":0,'
                 '"timestamp":"2026-12-02T08:00:00Z"}]')
        await socket.send(start)
        first = await asyncio.wait_for(socket.recv(), 10)
        await socket.send(start)  # the charger never heard the answer and sends it again
        again = await asyncio.wait_for(socket.recv(), 10)
        assert first == again and '"Accepted"' in first
        await socket.send("this is not OCPP")
        await socket.send('[2,"hb-1","Heartbeat",{}]')  # the connection still answers
        assert '"currentTime"' in await asyncio.wait_for(socket.recv(), 10)
    finally:
        await socket.close()
    assert await database_sync_to_async(ChargingSession.objects.count)() == 1


REMOTE = """mutation($input: RemoteChargeInput!) { remoteCharge(input: $input) { errors { code } sent } }"""


class Car(ChargePoint):
    """A charge point that does what a real one does when asked remotely: accepts, then starts or stops the
    transaction itself."""

    meter = 0

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **extra):
        return call_result.RemoteStartTransaction(status="Accepted")

    @after(Action.remote_start_transaction)
    async def started(self, id_tag: str, **extra):
        answer = await self.call(call.StartTransaction(connector_id=extra.get("connector_id") or 1, id_tag=id_tag,
                                                       meter_start=0, timestamp="2026-12-02T08:00:00Z"))
        self.transaction = answer.transaction_id

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int):
        return call_result.RemoteStopTransaction(status="Accepted")

    @after(Action.remote_stop_transaction)
    async def stopped(self, transaction_id: int):
        await self.call(call.StopTransaction(meter_stop=12000, timestamp="2026-12-02T09:00:00Z",
                                             transaction_id=transaction_id, reason="Remote"))


@pytest.mark.django_db(transaction=True)
async def test_the_app_starts_a_charge_remotely_and_the_operator_stops_it(software_park, stack, users):
    sp = software_park
    await database_sync_to_async(charger_create)(park=sp.park, identity="CP-B1", name="B 座充电桩",
                                                 password="pw-b1")
    stack.start_asgi()
    tokens = {name: await database_sync_to_async(lambda user=user: token_issue(user=user)[0])()
              for name, user in (("employee", sp.employee.user), ("operator", sp.operator),
                                 ("colleague", sp.colleague.user), ("citizen", users["citizen"]))}

    def remote(who: str, **input_) -> dict:
        return stack.graphql(REMOTE, {"input": {"charger": "CP-B1", **input_}}, tokens[who])["data"]["remoteCharge"]

    offline = await asyncio.to_thread(remote, "employee", action="START")
    assert offline == {"errors": [{"code": "not_connected"}], "sent": False}
    secret = base64.b64encode(b"CP-B1:pw-b1").decode()
    socket = await websockets.connect(stack.base.replace("http", "ws") + "/ocpp/CP-B1", subprotocols=["ocpp1.6"],
                                      additional_headers={"Authorization": f"Basic {secret}"}, open_timeout=10)
    car = Car("CP-B1", socket)
    task = asyncio.create_task(car.start())
    try:
        await car.call(call.BootNotification(charge_point_vendor="OneGridTest", charge_point_model="DC60"))
        assert (await asyncio.to_thread(remote, "citizen", action="START"))["errors"] == [
            {"code": "permission_denied"}]
        assert (await asyncio.to_thread(remote, "employee", action="START")) == {"errors": [], "sent": True}
        for _ in range(100):
            if getattr(car, "transaction", None):
                break
            await asyncio.sleep(0.1)
        session = await database_sync_to_async(ChargingSession.objects.get)(pk=car.transaction)
        assert (session.employee_id, session.status, session.id_tag) == (sp.employee.pk, "active",
                                                                          f"OG{sp.employee.pk}")
        assert (await asyncio.to_thread(remote, "colleague", action="STOP", transactionId=car.transaction))[
            "errors"] == [{"code": "permission_denied"}]  # not theirs
        assert (await asyncio.to_thread(remote, "operator", action="STOP", transactionId=car.transaction))["sent"]
        for _ in range(100):
            session = await database_sync_to_async(ChargingSession.objects.get)(pk=car.transaction)
            if session.status != "active":
                break
            await asyncio.sleep(0.1)
        assert (session.status, session.energy_wh, session.stop_reason) == ("completed", 12000, "Remote")
    finally:
        task.cancel()
        await socket.close()


@pytest.mark.django_db
def test_a_session_whose_charger_went_silent_is_closed(software_park):
    from datetime import timedelta

    from django.utils import timezone

    from parks.charging import sessions_close_silent, transaction_start

    sp = software_park
    sp.employee.card_id = "CARD-9"
    sp.employee.save(update_fields=["card_id"])
    charger = charger_create(park=sp.park, identity="CP-S", name="S", password="pw")
    started = transaction_start(charger=charger, connector=1, id_tag="CARD-9", meter_start=100,
                                at=timezone.now() - timedelta(hours=13))
    assert sessions_close_silent() == 1 and sessions_close_silent() == 0
    session = ChargingSession.objects.get(pk=started.transaction_id)
    assert (session.status, session.stop_reason, session.stopped_at is not None) == ("aborted", "charger_silent", True)
