"""`manage.py park_gate_bridge [--url mqtt://host:port] [--prefix onegrid/parks]`: OneGrid's side of the gates'
MQTT, a long-running process started beside the stack.

Under ``PREFIX/<park>/gates/<gate>/`` a gate publishes ``passages`` (its signed log) and ``sync`` (the revocation
version it holds); the bridge answers ``ack`` (the upload's result, the same JSON as ``POST /parks/passages``, or
``{"error": reason}``) and ``bundle`` (the gate's signed bundle), through the same services as HTTP.  A message
the bridge cannot take (forged, malformed, on another gate's topic) is refused and logged; nothing a gate sends
stops the bridge.  paho reconnects by itself when the broker goes away; SIGTERM or SIGINT stop it cleanly, after
the message in hand.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from parks.models import Gate
from parks.services import gate_bundle, passages_upload
from passkit.sync import SyncError, upload_open

log = logging.getLogger("parks.bridge")

#: The longest ``sync`` payload taken: a revocation version, as the HTTP endpoint's ``since``.
MAX_VERSION_CHARS = 12


class GateBridge:
    """The bridge's handling of one message, apart from the command so that it reads (and tests) on its own.

    Who may call: the ``park_gate_bridge`` command, from paho's network thread.  ``message_handle`` never
    raises: every failure is logged and the next message is taken."""

    def __init__(self, *, prefix: str):
        self.prefix = prefix.strip("/")
        #: Held while a message is handled, so that a stop waits for the answer to go out.
        self.busy = threading.Lock()
        self.closing = False

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        return [(f"{self.prefix}/+/gates/+/passages", 1), (f"{self.prefix}/+/gates/+/sync", 1)]

    def topic_parse(self, topic: str) -> tuple[str, str, str] | None:
        """``(park, gate, kind)`` of a gate's topic; None for any other."""
        if not topic.startswith(self.prefix + "/"):
            return None
        parts = topic[len(self.prefix) + 1:].split("/")
        if len(parts) != 4 or parts[1] != "gates" or not parts[0] or not parts[2]:
            return None
        return parts[0], parts[2], parts[3]

    def message_handle(self, client: mqtt.Client, topic: str, payload: bytes) -> None:
        parsed = self.topic_parse(topic)
        if parsed is None:
            log.warning("message on %s ignored: not a gate's topic", topic)
            return
        park, gate, kind = parsed
        base = f"{self.prefix}/{park}/gates/{gate}"
        with self.busy:
            if self.closing:
                return
            # paho's thread keeps its database connection across messages, as a request thread would across
            # requests: a connection the database dropped, or one past CONN_MAX_AGE, is replaced here.
            close_old_connections()
            try:
                if kind == "passages":
                    answer = self.passages_take(park, gate, payload)
                    client.publish(f"{base}/ack", json.dumps(answer).encode(), qos=1)
                elif kind == "sync":
                    bundle = self.sync_answer(park, gate, payload)
                    if bundle is not None:
                        client.publish(f"{base}/bundle", bundle, qos=1)
            except Exception:  # a database that went away, a missing key file: logged, the next message is taken
                log.exception("message on %s not handled", topic)
            finally:
                close_old_connections()

    def passages_take(self, park: str, gate: str, payload: bytes) -> dict:
        """The answer to an upload on gate ``park``/``gate``'s topic: its result, or ``{"error": reason}`` for an
        upload refused whole (``wrong_topic`` when it names another gate than its topic's)."""
        try:
            named = upload_open(payload)[:2]
            if named != (park, gate):
                log.warning("upload on gate %s/%s's topic names gate %s/%s: refused", park, gate, *named)
                raise SyncError("wrong_topic")
            result = passages_upload(data=payload)
        except SyncError as error:
            log.warning("upload from gate %s/%s refused: %s", park, gate, error.reason)
            return {"error": error.reason}
        return {"accepted": result.accepted, "duplicates": result.duplicates,
                "refused": [list(item) for item in result.refused], "stored": list(result.stored)}

    def sync_answer(self, park: str, gate: str, payload: bytes) -> bytes | None:
        """The signed bundle for gate ``park``/``gate`` holding revocation version ``payload``; None (logged) for
        an unknown or inactive gate or a payload that is no version."""
        text = payload.decode("ascii", errors="replace").strip()
        if not text.lstrip("-").isdigit() or len(text) > MAX_VERSION_CHARS:
            log.warning("sync from gate %s/%s ignored: %r is no revocation version", park, gate, text[:40])
            return None
        found = Gate.objects.select_related("park", "building").filter(park__code=park, code=gate,
                                                                      active=True).first()
        if found is None:
            log.warning("sync from unknown gate %s/%s ignored", park, gate)
            return None
        return gate_bundle(park=found.park, gate=found, since=int(text))


class Command(BaseCommand):
    help = "Answer the park gates over MQTT: take their signed logs, send their bundles (Ctrl-C to stop)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="the broker, mqtt://host:port (default: PARK_MQTT_URL)")
        parser.add_argument("--prefix", default=None, help="the gates' topics' prefix (default: PARK_MQTT_PREFIX)")

    def handle(self, *args, url: str | None, prefix: str | None, **options):
        url = url or settings.PARK_MQTT_URL
        if not url:
            raise CommandError("No broker: give --url mqtt://host:port or set PARK_MQTT_URL.")
        broker = urlsplit(url)
        if broker.scheme not in ("mqtt", "mqtts") or not broker.hostname:
            raise CommandError(f"The broker is mqtt://host:port or mqtts://host:port, not {url}.")
        prefix = (prefix or settings.PARK_MQTT_PREFIX).strip("/")
        if not prefix or any(char in prefix for char in "+#"):
            raise CommandError(f"The prefix is a topic without wildcards, not {prefix!r}.")
        bridge = GateBridge(prefix=prefix)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"onegrid-park-bridge-{socket.gethostname()}-{os.getpid()}")
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.scheme == "mqtts":
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)

        def on_connect(client, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                log.warning("broker %s refused the bridge: %s", url, reason_code)
                return
            # A clean session each time: the subscriptions are made again on every (re)connection.
            client.subscribe(bridge.subscriptions)
            log.info("bridge connected to %s, answering gates under %s/", url, prefix)

        def on_disconnect(client, userdata, flags, reason_code, properties):
            if not bridge.closing:
                log.warning("broker %s lost (%s): reconnecting", url, reason_code)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = lambda client, userdata, message: bridge.message_handle(client, message.topic,
                                                                                     message.payload)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        client.connect_async(broker.hostname, broker.port or (8883 if broker.scheme == "mqtts" else 1883),
                             keepalive=30)
        # paho's own thread runs loop_forever (retrying the first connection too, reconnecting with the delays
        # above); this thread only waits for a signal, so a signal never lands inside a message's transaction.
        client.loop_start()
        try:
            while not stop.wait(3600):
                pass
        finally:
            with bridge.busy:  # the message in hand is answered first
                bridge.closing = True
            client.disconnect()
            client.loop_stop()
            log.info("bridge stopped")
