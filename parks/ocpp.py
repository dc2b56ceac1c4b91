"""OneGrid as the OCPP 1.6J central system: chargers connect to ``ws(s)://<host>/ocpp/<identity>``.

The protocol is the ``ocpp`` package's (message framing, JSON schemas, the actions); what each action does is
``parks.charging``'s.  The handshake asks for the ``ocpp1.6`` subprotocol and HTTP Basic credentials (the
charger's identity and password, OCPP 1.6 security profile 1): a charger with a forged identity or a wrong
password is refused before the websocket opens, and logged.  A CALL repeated with the same message id (a charger
that never heard the answer) gets the first answer again, never a second effect.  The operator's remote start
and stop reach the charger's connection through the channel layer, whichever process holds it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import json
import logging
from datetime import datetime

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

from parks import charging
from parks.charging import group_of
from parks.models import Charger

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
#: Answers kept per connection for repeated message ids.
ANSWERS_KEPT = 64


def _when(text: str | None) -> datetime:
    """A charger's timestamp, or now if it sent none or one that cannot be read."""
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except (ValueError, AttributeError):
        found = None
    if found is None or found.tzinfo is None:
        return timezone.now()
    return found


def _energy_readings(meter_value: list) -> list[tuple[datetime, int]]:
    """The Energy.Active.Import.Register readings (the default measurand) of a MeterValues, in Wh."""
    readings = []
    for entry in meter_value or []:
        at = _when(entry.get("timestamp"))
        for sample in entry.get("sampled_value", []):
            if sample.get("measurand", "Energy.Active.Import.Register") != "Energy.Active.Import.Register":
                continue
            try:
                value = float(sample["value"])
            except (KeyError, TypeError, ValueError):
                continue
            readings.append((at, int(round(value * 1000 if sample.get("unit") == "kWh" else value))))
    return readings


class CentralSystem(ChargePoint):
    """One connected charger, as the central system sees it: each handler calls ``parks.charging``."""

    def __init__(self, charger: Charger, connection):
        super().__init__(charger.identity, connection)
        self.charger = charger
        self._answers: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._current: str | None = None

    async def route_message(self, raw_msg):
        try:
            message = json.loads(raw_msg)
            unique_id = message[1] if isinstance(message, list) and message and message[0] == 2 else None
        except (ValueError, IndexError, TypeError):
            unique_id = None
        if unique_id is not None and unique_id in self._answers:  # a repeated CALL: the same answer, no new effect
            await database_sync_to_async(charging.refusal_log)(
                charger=self.charger, identity=self.id, action=str(message[2])[:40] if len(message) > 2 else "",
                unique_id=str(unique_id), reason="duplicate_message")
            await self._connection.send(self._answers[unique_id])
            return
        self._current = unique_id if isinstance(unique_id, str) else None
        await super().route_message(raw_msg)

    async def _send(self, message):
        try:
            parsed = json.loads(message)
            if parsed[0] in (3, 4) and parsed[1] == self._current:
                self._answers[parsed[1]] = message
                while len(self._answers) > ANSWERS_KEPT:
                    self._answers.popitem(last=False)
        except (ValueError, IndexError, TypeError):
            pass
        await super()._send(message)

    @on(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **extra):
        interval = await database_sync_to_async(charging.charger_boot)(
            charger=self.charger, vendor=charge_point_vendor, model=charge_point_model,
            firmware=extra.get("firmware_version", ""))
        return call_result.BootNotification(current_time=timezone.now().isoformat(), interval=interval,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self):
        now = await database_sync_to_async(charging.charger_heartbeat)(charger=self.charger)
        return call_result.Heartbeat(current_time=now.isoformat())

    @on(Action.status_notification)
    async def on_status(self, connector_id: int, error_code: str, status: str, **extra):
        await database_sync_to_async(charging.connector_status)(
            charger=self.charger, number=connector_id, status=status, error_code=error_code,
            info=extra.get("info", ""), at=_when(extra.get("timestamp")))
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str):
        verdict = await database_sync_to_async(charging.id_tag_authorize)(charger=self.charger, id_tag=id_tag)
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus(verdict.status)})

    @on(Action.start_transaction)
    async def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **extra):
        started = await database_sync_to_async(charging.transaction_start)(
            charger=self.charger, connector=connector_id, id_tag=id_tag, meter_start=meter_start,
            at=_when(timestamp))
        return call_result.StartTransaction(transaction_id=started.transaction_id,
                                            id_tag_info={"status": AuthorizationStatus(started.status)})

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list, **extra):
        await database_sync_to_async(charging.meter_values)(
            charger=self.charger, transaction_id=extra.get("transaction_id"),
            readings=_energy_readings(meter_value), unique_id=self._current or "")
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **extra):
        await database_sync_to_async(charging.transaction_stop)(
            charger=self.charger, transaction_id=transaction_id, meter_stop=meter_stop, at=_when(timestamp),
            reason=extra.get("reason") or "", unique_id=self._current or "")
        return call_result.StopTransaction()


class _Connection:
    """What the ``ocpp`` package reads from and writes to: the consumer's incoming texts, its send."""

    def __init__(self, consumer: OcppConsumer):
        self.consumer = consumer
        self.incoming: asyncio.Queue[str] = asyncio.Queue()

    async def recv(self) -> str:
        return await self.incoming.get()

    async def send(self, message: str) -> None:
        await self.consumer.send(text_data=message)


class OcppConsumer(AsyncWebsocketConsumer):
    """The websocket of one charger."""

    async def connect(self):
        identity = self.scope["url_route"]["kwargs"]["identity"]
        if SUBPROTOCOL not in self.scope.get("subprotocols", []):
            await database_sync_to_async(charging.refusal_log)(charger=None, identity=identity, action="connect",
                                                               reason="no_ocpp16_subprotocol")
            await self.close()
            return
        charger = await database_sync_to_async(charging.charger_authenticate)(
            identity=identity, password=self._password(identity))
        if charger is None:
            await self.close()
            return
        self.charger = charger
        self.connection = _Connection(self)
        self.central = CentralSystem(charger, self.connection)
        await self.accept(subprotocol=SUBPROTOCOL)
        await database_sync_to_async(charging.charger_connected)(charger=charger, connected=True)
        if self.channel_layer is not None:
            await self.channel_layer.group_add(group_of(identity), self.channel_name)
        self.task = asyncio.create_task(self.central.start())

    def _password(self, identity: str) -> str | None:
        """The password of the handshake's ``Authorization: Basic`` header, if it names this charger."""
        header = dict(self.scope.get("headers", [])).get(b"authorization", b"")
        if not header.lower().startswith(b"basic "):
            return None
        try:
            user, _sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password if user == identity else None

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            await database_sync_to_async(charging.refusal_log)(charger=self.charger, identity=self.charger.identity,
                                                               action="binary", reason="not_text")
            return
        self.connection.incoming.put_nowait(text_data)

    async def disconnect(self, code):
        if not hasattr(self, "central"):
            return
        self.task.cancel()
        if self.channel_layer is not None:
            await self.channel_layer.group_discard(group_of(self.charger.identity), self.channel_name)
        await database_sync_to_async(charging.charger_connected)(charger=self.charger, connected=False)

    async def ocpp_remote(self, event):
        """The operator's or the app's remote start or stop (``parks.charging.charging_remote`` sends it to the
        charger's group).  Called in its own task: the consumer handles one message at a time, and the charger's
        answer arrives as the next one."""
        task = asyncio.create_task(self._remote(event))
        self._remotes = getattr(self, "_remotes", set())
        self._remotes.add(task)
        task.add_done_callback(self._remotes.discard)

    async def _remote(self, event):
        try:
            if event["command"] == "start":
                await self.central.call(call.RemoteStartTransaction(id_tag=event["id_tag"],
                                                                    connector_id=event.get("connector")))
            elif event["command"] == "stop":
                await self.central.call(call.RemoteStopTransaction(transaction_id=event["transaction_id"]))
        except Exception:  # a charger that does not answer, or answers nonsense: logged, the socket stays
            log.exception("remote %s to charger %s failed", event.get("command"), self.charger.identity)
