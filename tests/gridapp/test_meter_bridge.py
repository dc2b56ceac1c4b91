"""The meters' other two paths into the one ingest service: a CSV file, streamed in chunks; and ``manage.py
meter_bridge`` as it runs, a separate process on the real Mosquitto broker, which takes malformed messages without
stopping and, through its persistent session, gets the readings published while it was down."""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.utils import timezone

from gridapp.management.commands.meter_bridge import MALFORMED, MAX_PAYLOAD, MeterBridge
from gridapp.sensors.models import MeterReading, ReadingRefusal
from gridapp.sensors.services import consent_record, household_register
from tests.mqtt import MQTT_URL, eventually, mqtt_client
from tests.stack import Process


@pytest.fixture
def meter_home(users, event_categories):
    """A watched household with meter WM-1."""
    household = household_register(
        code="hh-1", address="山东路 1 号 2 单元 301", lng=120.301, lat=36.001, resident_name="王秀英",
        resident_phone="13800000001", contact_name="王强", contact_phone="13800000002", emergency_name="李梅",
        emergency_phone="13800000003", meter_serial="WM-1", meter_installed_at=timezone.now() - timedelta(days=3))
    consent_record(actor=users["worker"], household_id=household.pk, given_by="王秀英",
                   at=timezone.now() - timedelta(days=2))
    return household


def minutes_ago(minutes: int) -> str:
    at = timezone.localtime().replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    return at.isoformat()


def stored() -> list[tuple[str, float, str]]:
    return [(timezone.localtime(at).isoformat(), litres, source) for at, litres, source
            in MeterReading.objects.filter(meter__serial="WM-1").order_by("at").values_list("at", "litres", "source")]


# --- the CSV command -----------------------------------------------------------------------------------------------

def test_a_csv_file_is_taken_in_chunks_and_its_bad_rows_counted(meter_home, tmp_path):
    t = [minutes_ago(60 - 10 * i) for i in range(5)]
    path = tmp_path / "readings.csv"
    path.write_text("\n".join([
        "meter,at,litres",
        f"WM-1,{t[0]},100",
        f"WM-1,{t[1]},110.5",
        f"WM-1,{t[2]},many",  # invalid_volume
        f"WM-1,{t[1]},110.5",  # resent, in the next chunk: a duplicate
        f"WM-1,{t[2]}",  # a short row: malformed
        f"NOPE-9,{t[2]},5",  # unknown_meter
        f"WM-1,{t[3]},90",  # lower than the one before: counter_backwards
        f"WM-1,{t[4]},130",
        "",
    ]) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("meter_readings_import", str(path), "--chunk", "3", stdout=out, stderr=err)
    assert out.getvalue() == ("accepted 3, duplicates 1, refused 4 (counter_backwards 1, invalid_volume 1, "
                              "malformed 1, unknown_meter 1)\n")
    progress = err.getvalue()
    assert "3 rows read: accepted 2, duplicates 0, refused 1" in progress
    assert "8 rows read: accepted 3, duplicates 1, refused 4" in progress
    assert "line 4: refused, invalid_volume" in progress and "line 6: refused, malformed" in progress
    assert stored() == [(t[0], 100.0, "csv"), (t[1], 110.5, "csv"), (t[4], 130.0, "csv")]
    tally = dict(ReadingRefusal.objects.filter(source="csv").values_list("code", "count"))
    assert tally == {"counter_backwards": 1, "invalid_volume": 1, "malformed": 1, "unknown_meter": 1}
    # the same file again, in one chunk: what is kept counts as duplicates, the bad rows are refused again
    call_command("meter_readings_import", str(path), stdout=(out := io.StringIO()), stderr=io.StringIO())
    assert out.getvalue() == ("accepted 0, duplicates 4, refused 4 (counter_backwards 1, invalid_volume 1, "
                              "malformed 1, unknown_meter 1)\n")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("meter_readings_import", str(tmp_path / "missing.csv"), stdout=out, stderr=err)
    (bad := tmp_path / "bad.csv").write_text("serial,time,litres\nWM-1,2026-01-01T00:00:00,1\n")
    with pytest.raises(CommandError, match="header lacks meter, at"):
        call_command("meter_readings_import", str(bad), stdout=out, stderr=err)


# --- the bridge's reading of a message, without a broker -----------------------------------------------------------

def test_the_bridge_reads_the_three_shapes_and_refuses_the_rest():
    bridge = MeterBridge(prefix="/onegrid/meters/", ack=lambda mid, qos: None, chunk=10)
    assert bridge.topic_serial("onegrid/meters/WM-1/readings") == "WM-1"
    for topic in ("onegrid/meters/WM-1/status", "onegrid/meters/readings", "other/WM-1/readings",
                  "onegrid/meters/a/b/readings", None):
        assert bridge.topic_serial(topic) is None
    one = {"at": "2026-01-01T08:00:00+08:00", "litres": 1.5}

    def read(serial: str, payload: bytes):
        return bridge.payload_readings(serial=serial, payload=payload)

    assert read("WM-1", json.dumps(one).encode()) == [("WM-1", one["at"], 1.5)]
    assert read("WM-1", json.dumps([one, one]).encode()) == [("WM-1", one["at"], 1.5)] * 2
    assert read("WM-1", json.dumps({"readings": [one, {"at": "x"}, 3, {**one, "meter": "WM-2"},
                                                 {**one, "meter": "WM-1"}]}).encode()) == [
        ("WM-1", one["at"], 1.5), MALFORMED, MALFORMED, MALFORMED, ("WM-1", one["at"], 1.5)]
    for payload in (b"not json", b"\xff\xfe\x00", b"42", b'"text"', b'{"readings": 3}', b"[" * 100_000,
                    json.dumps([one] * (MAX_PAYLOAD // 40)).encode()):
        assert read("WM-1", payload) is None
    assert read("WM-1", b"[]") == []


def test_the_bridge_acknowledges_a_message_once_its_readings_are_committed(meter_home, monkeypatch):
    from gridapp.management.commands import meter_bridge

    monkeypatch.setattr(meter_bridge, "close_old_connections", lambda: None)  # the test's transaction stays open
    monkeypatch.setattr(meter_bridge, "RETRY_SECONDS", 0.01)
    acked, calls = [], []
    ingest = meter_bridge.readings_ingest

    def flaky(**kwargs):
        calls.append(len(kwargs["readings"]))
        if len(calls) == 1:
            raise OperationalError("the database restarts")  # nothing acknowledged, the batch tried again
        if len(calls) in (2, 4):
            raise ValueError("a bug")  # narrowed down to its message, which is dropped (and acknowledged)
        return ingest(**kwargs)

    monkeypatch.setattr(meter_bridge, "readings_ingest", flaky)
    bridge = MeterBridge(prefix="m", ack=lambda mid, qos: acked.append(mid))
    t = [minutes_ago(30 - 10 * i) for i in range(3)]
    bridge.connected()
    bridge.message_take(topic="m/WM-1/readings", payload=json.dumps({"at": t[0], "litres": 1}).encode(), mid=1,
                        qos=1)
    bridge.connected()  # message 1 is the broker's to deliver again on the new connection: not acknowledged here
    bridge.message_take(topic="m/WM-1/readings", payload=json.dumps({"at": t[1], "litres": 2}).encode(), mid=2,
                        qos=1)
    bridge.message_take(topic="m/nowhere", payload=b"{}", mid=3, qos=1)
    bridge.message_take(topic="m/WM-1/readings", payload=json.dumps({"at": t[2], "litres": 3}).encode(), mid=4,
                        qos=0)
    bridge.batch_flush(bridge._take())
    assert calls == [3, 3, 1, 1, 1] and acked == [2, 3]
    assert [litres for _at, litres, _source in stored()] == [1.0, 3.0]
    assert ReadingRefusal.objects.get(source="mqtt", code="malformed").count == 1
    bridge.stop()
    bridge.message_take(topic="m/WM-1/readings", payload=b"[]", mid=5, qos=1)  # left for the next bridge
    assert bridge.buffer == []


# --- the bridge as it runs -----------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_bridge_takes_readings_survives_bad_messages_and_gets_what_came_while_it_was_down(meter_home, tmp_path,
                                                                                             broker):
    prefix = f"test-{uuid.uuid4().hex[:8]}/meters"
    client_id = f"test-meter-bridge-{uuid.uuid4().hex[:8]}"
    bridge = Process("bridge", [sys.executable, "manage.py", "meter_bridge", "--url", MQTT_URL, "--prefix", prefix,
                                "--client-id", client_id], Path(tmp_path))
    gateway = mqtt_client(broker, f"test-gateway-{uuid.uuid4().hex[:8]}")

    def publish(payload, *, topic: str = f"{prefix}/WM-1/readings") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        gateway.publish(topic, data, qos=1).wait_for_publish(10)

    t = [minutes_ago(120 - 10 * i) for i in range(8)]
    try:
        bridge.start()

        def first_taken() -> bool:  # the bridge's subscription is in once a reading is stored
            publish({"at": t[0], "litres": 100})
            time.sleep(0.3)
            return MeterReading.objects.exists()

        eventually(first_taken, what="the bridge took a first reading", logs=(bridge,))
        publish([{"at": t[1], "litres": 101}, {"at": t[2], "litres": 103.5}, {"at": t[3], "litres": 104}])
        publish({"at": t[2], "litres": 103.5})  # the gateway sent it again: a duplicate
        publish({"readings": [{"meter": "WM-2", "at": t[4], "litres": 1}]})  # another meter's: malformed
        publish(b"\x00 not JSON")  # malformed
        publish({"at": t[4], "litres": 105}, topic=f"{prefix}/WM-1/status")  # no meter's topic: malformed
        publish({"at": t[4], "litres": 105}, topic=f"{prefix}/NOPE-9/readings")  # unknown_meter

        def malformed() -> int:
            return sum(ReadingRefusal.objects.filter(source="mqtt", code="malformed").values_list("count", flat=True))

        eventually(lambda: malformed() == 3 and ReadingRefusal.objects.filter(code="unknown_meter").exists(),
                   what="the bad messages counted", logs=(bridge,))
        assert stored() == [(t[0], 100.0, "mqtt"), (t[1], 101.0, "mqtt"), (t[2], 103.5, "mqtt"),
                            (t[3], 104.0, "mqtt")]
        assert bridge.pid is not None
        log = bridge.log(tail=None)
        assert "not a meter's topic" in log and "from meter WM-1 refused: not readings" in log

        bridge.stop()
        assert bridge.popen.returncode == 0 and "bridge stopped" in bridge.log(), bridge.log()
        for i in (5, 6, 7):  # while the bridge is down: the broker keeps them for its session
            publish({"at": t[i], "litres": 100 + i})
        bridge.start()
        eventually(lambda: len(stored()) == 7, what="the readings sent while the bridge was down", logs=(bridge,))
        assert stored()[4:] == [(t[5], 105.0, "mqtt"), (t[6], 106.0, "mqtt"), (t[7], 107.0, "mqtt")]
        assert "resumed session" in bridge.log()
        bridge.stop()
        assert bridge.popen.returncode == 0, bridge.log()
    finally:
        bridge.stop()
        gateway.disconnect()
        gateway.loop_stop()
        # The broker would keep the test bridge's session (and queue for it) for ever: ended with a clean one.
        cleaner = mqtt_client(broker, client_id, clean_session=True)
        cleaner.disconnect()
        cleaner.loop_stop()
