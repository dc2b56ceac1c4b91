"""The MQTT broker the tests talk to (Mosquitto at 127.0.0.1:1883, or TEST_MQTT_URL), and what they do with it."""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest

MQTT_URL = os.environ.get("TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def broker_url():
    """The broker's address; the test is skipped without one (failed on CI, which starts Mosquitto)."""
    url = urlsplit(MQTT_URL)
    try:
        socket.create_connection((url.hostname, url.port or 1883), timeout=2).close()
    except OSError:
        if os.environ.get("CI") == "true":  # CI starts Mosquitto (.ci/run): a missing broker is a failure there
            pytest.fail(f"no MQTT broker at {MQTT_URL}")
        pytest.skip(f"no MQTT broker at {MQTT_URL} (start Mosquitto, or set TEST_MQTT_URL)")
    return url


def eventually(check, *, timeout: float = 15, what: str = "", logs=(), every: float = 0.1):
    """Wait until ``check()`` is true, asking every ``every`` seconds; fail with the processes' logs after
    ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    shown = "\n".join(f"--- {process.name} ---\n{process.log()}" for process in logs)
    raise AssertionError(f"not within {timeout:.0f} s: {what}\n{shown}")


def mqtt_client(broker, client_id: str, *, clean_session: bool = True) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)
    client.connect(broker.hostname, broker.port or 1883)
    client.loop_start()
    return client
