"""`manage.py meter_bridge [--url mqtt://host:port] [--prefix onegrid/meters] [--client-id ID]`: the smart water
meters' readings from MQTT into the one ingest service, a long-running process started beside the stack.

The meters' gateway publishes to ``PREFIX/<serial>/readings`` a JSON reading ``{"at": "...", "litres": 123.4}``, a
list of them, or ``{"readings": [...]}``; every reading of a message is the topic's meter's.  The bridge buffers
what comes and takes it in one ``readings_ingest`` call per flush (``FLUSH_SECONDS`` after the first reading
buffered, or sooner when ``SENSOR_INGEST_CHUNK`` readings or ``WINDOW`` messages wait), and acknowledges a message
to the broker only once its readings are committed.  Its session is persistent (``clean_session=False`` under a
stable client id): what meters publish while the bridge is down, or what it held unacknowledged when it stopped,
the broker delivers when it is back; the ingest is idempotent, so a reading delivered twice is a duplicate.

A message the bridge cannot read (not JSON, the wrong shape, over ``MAX_PAYLOAD`` bytes, on a topic that is no
meter's) is counted as ``malformed`` and logged; nothing a meter sends stops the bridge.  paho reconnects by itself
when the broker goes away; SIGTERM or SIGINT stop it cleanly: what is buffered is taken and acknowledged first.
Run one bridge per client id: a second one with the same id takes the session over from the first.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from gridapp.sensors.ingest import IngestResult, readings_ingest, refusals_count
from gridapp.sensors.models import ReadingSource

log = logging.getLogger("gridapp.sensors.bridge")

#: The largest message taken: a gateway's batch of some ten thousand readings.
MAX_PAYLOAD = 1024 * 1024
#: A flush comes this long after the first reading buffered: readings reach the rules within a second, and a busy
#: broker's messages go to the database in a few transactions a second, not one each.
FLUSH_SECONDS = 0.5
#: Flush once this many messages wait unacknowledged: a broker sends a client only so many before it acknowledges
#: (Mosquitto's ``max_inflight_messages``, 20 by default), so waiting for more would only wait for the clock.
WINDOW = 20
#: A reading that is no reading (``readings_ingest`` refuses it as ``malformed``).
MALFORMED = ()
#: The database is away (restarting, unreachable, locked): the batch is taken again after a pause (doubling from
#: RETRY_SECONDS up to 30 s), nothing acknowledged meanwhile.
DATABASE_AWAY = (OperationalError, InterfaceError)
RETRY_SECONDS = 1.0


@dataclass
class Message:
    """One message taken from the broker: its readings, and what acknowledges it once they are committed."""

    mid: int
    qos: int
    #: The connection it came on: a message of an earlier one is delivered again, not acknowledged on this one.
    connection: int
    readings: list[tuple] = field(default_factory=list)
    malformed: bool = False
    done: bool = False


class MeterBridge:
    """The bridge's buffering, flushing and acknowledging, apart from the command so that it reads (and tests) on
    its own.

    Who may call: the ``meter_bridge`` command: ``message_take`` from paho's network thread (it never raises and
    never touches the database), ``flusher_run`` in a thread of its own (all the database work), ``connected`` from
    ``on_connect``, ``stop`` from the main thread.  ``ack(mid, qos)`` acknowledges a message to the broker."""

    def __init__(self, *, prefix: str, ack: Callable[[int, int], object], chunk: int | None = None,
                 flush_seconds: float = FLUSH_SECONDS, window: int = WINDOW):
        self.prefix = prefix.strip("/")
        self.ack = ack
        self.chunk = chunk or settings.SENSOR_INGEST_CHUNK
        self.flush_seconds = flush_seconds
        self.window = window
        #: Guards the buffer below; the flusher waits on it.
        self.changed = threading.Condition()
        self.buffer: list[Message] = []
        self.buffered_readings = 0
        self.first_buffered = 0.0
        self.connection = 0
        self.stopping = False

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        # The whole prefix, not only PREFIX/+/readings: a gateway publishing to a wrong topic is counted and
        # logged (an operator sees it in the refusals) instead of lost without a trace.
        return [(f"{self.prefix}/#", 1)]

    def topic_serial(self, topic: str | None) -> str | None:
        """The serial of a meter's topic ``PREFIX/<serial>/readings``; None for any other."""
        if topic is None or not topic.startswith(self.prefix + "/"):
            return None
        parts = topic[len(self.prefix) + 1:].split("/")
        if len(parts) != 2 or parts[1] != "readings" or not parts[0].strip():
            return None
        return parts[0]

    @staticmethod
    def payload_readings(*, serial: str, payload: bytes) -> list[tuple] | None:
        """The ``(serial, at, litres)`` readings of a message on ``serial``'s topic; None for a message that is not
        readings at all.  A reading object that is not one, or names another meter, becomes ``MALFORMED``; its
        values are the ingest's to judge (``invalid_time``, ``invalid_volume``...)."""
        if len(payload) > MAX_PAYLOAD:
            return None
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
            return None
        if isinstance(data, dict) and "readings" in data:
            data = data["readings"]
        elif isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            return None
        return [MeterBridge._reading(serial, item) for item in data]

    @staticmethod
    def _reading(serial: str, item) -> tuple:
        if not isinstance(item, dict) or "at" not in item or "litres" not in item:
            return MALFORMED
        named = item.get("meter", serial)
        if not isinstance(named, str) or named.strip() != serial.strip():
            return MALFORMED  # another meter's reading on this one's topic: whose is it?
        return (serial, item["at"], item["litres"])

    def connected(self) -> None:
        """A (new) connection is up: messages of the earlier one are the broker's to deliver again."""
        with self.changed:
            self.connection += 1

    def message_take(self, *, topic: str | None, payload: bytes, mid: int, qos: int) -> None:
        """Buffer one message (``topic`` None: a topic that is not UTF-8).  During a stop a message is left
        unacknowledged, for the broker to deliver to the next bridge."""
        serial = self.topic_serial(topic)
        readings = None if serial is None else self.payload_readings(serial=serial, payload=payload)
        if serial is None:
            log.warning("message on %r refused: not a meter's topic (%s/<serial>/readings)", topic, self.prefix)
        elif readings is None:
            log.warning("message from meter %s refused: not readings (%d bytes: %r)", serial, len(payload),
                        payload[:60])
        with self.changed:
            if self.stopping:
                return
            if not self.buffer:
                self.first_buffered = time.monotonic()
            self.buffer.append(Message(mid=mid, qos=qos, connection=self.connection, readings=readings or [],
                                       malformed=readings is None))
            self.buffered_readings += len(readings or ())
            self.changed.notify()  # the first message starts the flusher's clock; a full buffer flushes at once

    def _due(self) -> bool:
        return bool(self.buffer) and (self.buffered_readings >= self.chunk or len(self.buffer) >= self.window
                                      or time.monotonic() - self.first_buffered >= self.flush_seconds)

    def _take(self) -> list[Message]:
        batch, self.buffer, self.buffered_readings = self.buffer, [], 0
        return batch

    def stop(self) -> None:
        """Stop taking messages; the flusher takes what is buffered and ends."""
        with self.changed:
            self.stopping = True
            self.changed.notify()

    def flusher_run(self) -> None:
        """Flush until stopped, then once more: the flusher thread's body."""
        try:
            while True:
                with self.changed:
                    while not self.stopping and not self._due():
                        left = self.first_buffered + self.flush_seconds - time.monotonic() if self.buffer else None
                        self.changed.wait(left)
                    batch, last = self._take(), self.stopping
                if batch:
                    self.batch_flush(batch)
                if last:
                    return
        finally:
            connection.close()

    def batch_flush(self, batch: list[Message]) -> None:
        """Take ``batch`` into the database and acknowledge it, trying again while the database is away (the
        broker sends nothing new meanwhile: its window is full).  Stopped while the database is away, it leaves
        the batch unacknowledged: the broker delivers it again to the next bridge."""
        pause = RETRY_SECONDS
        while True:
            try:
                self._flush([message for message in batch if not message.done])
                return
            except DATABASE_AWAY as error:
                log.warning("database away (%s): %d messages wait, tried again in %.0f s", error, len(batch), pause)
            with self.changed:
                if self.stopping or self.changed.wait_for(lambda: self.stopping, timeout=pause):
                    log.warning("stopped with the database away: %d messages left for the broker to deliver again",
                                sum(not message.done for message in batch))
                    return
            pause = min(pause * 2, 30.0)

    def _flush(self, messages: list[Message]) -> None:
        """Ingest ``messages`` in one call and acknowledge them; raises ``DATABASE_AWAY`` with nothing acknowledged.
        Any other failure (a reading the ingest could not take: a bug) is narrowed down to its message, which is
        logged and acknowledged, so that one message never holds up the others."""
        if not messages:
            return
        readings = [reading for message in messages for reading in message.readings]
        malformed = sum(message.malformed for message in messages)
        # This thread keeps its database connection across flushes, as a request thread would across requests: a
        # connection the database dropped, or one past CONN_MAX_AGE, is replaced here.
        close_old_connections()
        try:
            result = readings_ingest(readings=readings, source=ReadingSource.MQTT) if readings else IngestResult()
            if malformed:
                refusals_count(code="malformed", source=ReadingSource.MQTT, count=malformed)
        except DATABASE_AWAY:
            raise
        except Exception:
            if len(messages) == 1:
                log.exception("message %d dropped: its %d readings could not be taken", messages[0].mid,
                              len(readings))
                self._acknowledge(messages)
                return
            log.exception("a flush of %d messages failed: taking them one by one", len(messages))
            for message in messages:
                self._flush([message])
            return
        finally:
            close_old_connections()
        self._acknowledge(messages)
        refused = ", ".join(f"{code} {count}" for code, count in result.counts().items()) or "none"
        log.info("flushed %d messages, %d readings: accepted %d, duplicates %d, refused %s; %d messages malformed",
                 len(messages), len(readings), result.accepted, result.duplicates, refused, malformed)

    def _acknowledge(self, messages: list[Message]) -> None:
        with self.changed:
            current = self.connection
        for message in messages:
            message.done = True
            if message.qos and message.connection == current:
                self.ack(message.mid, message.qos)


class Command(BaseCommand):
    help = "Take the water meters' readings from MQTT into the database (Ctrl-C to stop)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="the broker, mqtt://host:port (default: SENSOR_MQTT_URL)")
        parser.add_argument("--prefix", default=None,
                            help="the meters' topics' prefix (default: SENSOR_MQTT_PREFIX)")
        parser.add_argument("--client-id", default="onegrid-meter-bridge",
                            help="the bridge's id at the broker, which keeps its session (one bridge per id)")
        parser.add_argument("--linger", type=float, default=FLUSH_SECONDS,
                            help="seconds a reading waits for others to be taken with it (default %(default)s)")

    def handle(self, *args, url: str | None, prefix: str | None, client_id: str, linger: float, **options):
        url = url or settings.SENSOR_MQTT_URL
        if not url:
            raise CommandError("No broker: give --url mqtt://host:port or set SENSOR_MQTT_URL.")
        broker = urlsplit(url)
        if broker.scheme not in ("mqtt", "mqtts") or not broker.hostname:
            raise CommandError(f"The broker is mqtt://host:port or mqtts://host:port, not {url}.")
        prefix = (prefix or settings.SENSOR_MQTT_PREFIX).strip("/")
        if not prefix or any(char in prefix for char in "+#"):
            raise CommandError(f"The prefix is a topic without wildcards, not {prefix!r}.")
        if not client_id or any(char in client_id for char in "+#/"):
            raise CommandError(f"The client id is a name without + # /, not {client_id!r}.")
        # A persistent session (the broker keeps the subscription and queues QoS 1 readings while the bridge is
        # away) and acknowledgements sent by the bridge, only once the readings are committed.
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                             manual_ack=True)
        if not 0 < linger <= 60:
            raise CommandError(f"--linger is a number of seconds above 0 and at most 60, not {linger}.")
        bridge = MeterBridge(prefix=prefix, ack=client.ack, flush_seconds=linger)
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.scheme == "mqtts":
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)

        def on_connect(client, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                log.warning("broker %s refused the bridge: %s", url, reason_code)
                return
            bridge.connected()
            # Subscribed again on every connection: a broker that lost the session (restarted without
            # persistence) has lost the subscription with it.
            client.subscribe(bridge.subscriptions)
            log.info("bridge connected to %s as %s (%s session), taking readings under %s/", url, client_id,
                     "resumed" if flags.session_present else "new", prefix)

        def on_disconnect(client, userdata, flags, reason_code, properties):
            if not bridge.stopping:
                log.warning("broker %s lost (%s): reconnecting", url, reason_code)

        def on_message(client, userdata, message):
            try:
                topic = message.topic
            except UnicodeDecodeError:
                topic = None
            bridge.message_take(topic=topic, payload=message.payload, mid=message.mid, qos=message.qos)

        client.on_connect = on_connect
        client.on_connect_fail = lambda client, userdata: log.warning("broker %s unreachable: trying again", url)
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        flusher = threading.Thread(target=bridge.flusher_run, name="meter-bridge-flusher")
        flusher.start()
        client.connect_async(broker.hostname, broker.port or (8883 if broker.scheme == "mqtts" else 1883),
                             keepalive=30)
        # paho's own thread runs loop_forever (retrying the first connection too, reconnecting with the delays
        # above) and only buffers; the flusher does the database work; this thread only waits for a signal.
        client.loop_start()
        try:
            while not stop.wait(5):
                if not flusher.is_alive():  # it printed why: the process ends, for its supervisor to start again
                    raise CommandError("the flusher thread ended: readings would no longer be taken")
        finally:
            bridge.stop()
            flusher.join()  # what is buffered is committed and its acknowledgements queued before the DISCONNECT
            client.disconnect()
            client.loop_stop()
            log.info("bridge stopped")
