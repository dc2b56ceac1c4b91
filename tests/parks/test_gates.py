"""Offline gates as they run: ``python -m passkit.gate`` and ``manage.py park_gate_bridge`` as separate processes,
the real Mosquitto broker (``TEST_MQTT_URL``, 127.0.0.1:1883 by default) and, for HTTP, a live server on the test
database.  Each run uses topics of its own, so runs side by side never hear each other."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cwt import COSEKey
from django.conf import settings

from certkit import TrustList, jwk_of
from parks.keys import park_jwks
from parks.models import Park, Passage
from parks.services import employee_status_set, gate_enrol, gate_rule
from passkit import pass_code
from passkit.sync import bundle_read, upload_sign
from tests.mqtt import MQTT_URL, broker_url
from tests.parks.conftest import Phone
from tests.stack import Process, free_port

PREFIX = f"test-{uuid.uuid4().hex[:8]}/parks"


@pytest.fixture(scope="module")
def broker():
    return broker_url()


def eventually(check, *, timeout: float = 30, what: str = "", logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    shown = "\n".join(f"--- {process.name} ---\n{process.log()}" for process in logs)
    raise AssertionError(f"not within {timeout:.0f} s: {what}\n{shown}")


def key_pem(private: ed25519.Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


class GateProcess:
    """``python -m passkit.gate`` with its scanner on a pipe: ``scan`` writes a line and reads the verdict.  Its
    environment has no database and no Django settings: the gate needs neither."""

    name = "gate"

    def __init__(self, folder: Path, config: dict):
        self.folder = folder
        self.config_path = folder / "gate.json"
        self.config_path.write_text(json.dumps(config))
        self.data = folder / config["data_dir"] / "gate.sqlite3"
        self.log_path = folder / "gate.log"
        self.popen: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()

    def start(self) -> None:
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(settings.BASE_DIR), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen([sys.executable, "-m", "passkit.gate", "--config", str(self.config_path)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                          env=env, cwd=settings.BASE_DIR, start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.popen.stdout, self.lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines: queue.Queue) -> None:
        for line in stream:
            lines.put(line)

    def scan(self, direction: str, code: str) -> dict:
        self.popen.stdin.write(f"{direction} {code}\n")
        self.popen.stdin.flush()
        try:
            return json.loads(self.lines.get(timeout=15))
        except queue.Empty:
            raise AssertionError(f"the gate gave no verdict:\n{self.log()}") from None

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it; its exit status (None: it had to be killed)."""
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def query(self, sql: str, *params) -> list:
        """Rows of the gate's own log, read beside it (its WAL lets a reader in); none before it made its file."""
        try:
            with sqlite3.connect(f"file:{self.data}?mode=rw", uri=True, timeout=10) as db:
                return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # not made yet, or its tables not yet
            return []

    def pending(self) -> int | None:
        rows = self.query("SELECT count(*) FROM passage")
        return rows[0][0] if rows else None

    def version(self) -> int:
        rows = self.query("SELECT value FROM state WHERE name = 'version'")
        return int(rows[0][0]) if rows else -1


class Listener:
    """The test's own MQTT client: publishes as a gate would and collects what the bridge answers."""

    def __init__(self, park: str):
        self.messages: dict[str, queue.Queue] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        self.client.on_connect = lambda client, *_: client.subscribe(
            [(f"{PREFIX}/{park}/gates/+/ack", 1), (f"{PREFIX}/{park}/gates/+/bundle", 1)])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda client, userdata, message: self.queue(message.topic).put(message.payload)
        url = urlsplit(MQTT_URL)
        self.client.connect(url.hostname, url.port or 1883)
        self.client.loop_start()
        assert subscribed.wait(10), "the broker did not take the test's subscriptions"
        self.park = park

    def queue(self, topic: str) -> queue.Queue:
        return self.messages.setdefault(topic, queue.Queue())

    def publish(self, gate: str, kind: str, payload: bytes) -> None:
        self.client.publish(f"{PREFIX}/{self.park}/gates/{gate}/{kind}", payload, qos=1).wait_for_publish(10)

    def answer(self, gate: str, kind: str, timeout: float = 15) -> bytes:
        return self.queue(f"{PREFIX}/{self.park}/gates/{gate}/{kind}").get(timeout=timeout)

    def drain(self, gate: str, kind: str) -> None:
        """Forget what came so far, so that the next answer is the reply to what is published next."""
        waiting = self.queue(f"{PREFIX}/{self.park}/gates/{gate}/{kind}")
        while not waiting.empty():
            waiting.get_nowait()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bridge_process(log_dir: Path) -> Process:
    """``manage.py park_gate_bridge`` on the test database, signing with the test's park keys."""
    return Process("bridge", [sys.executable, "manage.py", "park_gate_bridge", "--url", MQTT_URL], log_dir,
                   env={"PARK_MQTT_PREFIX": PREFIX, "PARK_KEY_DIR": str(settings.PARK_KEY_DIR)})


def enrolled_gate(sp, code: str, folder: Path, *, rule: bool = True, jwks: bool = True, **extra) -> GateProcess:
    """Gate ``code`` enrolled with a key of its own, its config written: the park's JWK Set and the initial rule
    (as an installer would have put them) unless told otherwise.  The usual gate is enrolled as an installer does
    it, by ``manage.py park_gate enrol``."""
    if rule and jwks:
        from django.core.management import call_command

        call_command("park_gate", "enrol", park=sp.park.code, gate=code, out=str(folder), stdout=io.StringIO())
        config = json.loads((folder / "gate.json").read_text())
        assert config["rule"] == gate_rule(sp.gates[code]).as_dict() and (folder / "gate-key.pem").stat().st_mode & 0o77 == 0
        config.update({"prefix": PREFIX, "sync_seconds": 1, "server_url": "", "mqtt_url": "", **extra})
        return GateProcess(folder, config)
    private = ed25519.Ed25519PrivateKey.generate()
    gate_enrol(gate=sp.gates[code], public_key=private.public_key())
    folder.mkdir(parents=True)
    (folder / "gate-key.pem").write_bytes(key_pem(private))
    config = {"park": sp.park.code, "gate": code, "key": "gate-key.pem", "jwks": "park-jwks.json",
              "data_dir": "state", "prefix": PREFIX, "sync_seconds": 1, **extra}
    if jwks:
        (folder / "park-jwks.json").write_text(json.dumps(park_jwks(park=sp.park)))
    if rule:
        config["rule"] = gate_rule(sp.gates[code]).as_dict()
    return GateProcess(folder, config)


@pytest.mark.django_db(transaction=True)
def test_an_offline_gate_decides_alone_and_syncs_its_log_later_through_the_broker(software_park, tmp_path, broker):
    sp = software_park
    employee, colleague = Phone(sp.employee.user, sp.park), Phone(sp.colleague.user, sp.park)
    gate = enrolled_gate(sp, "A-door", tmp_path / "A-door", mqtt_url=MQTT_URL)
    bridge = bridge_process(tmp_path)
    try:
        # No bridge: the gate is on its own (the broker is up, nobody answers it).
        gate.start()
        first = employee.code(time.time())
        passed = gate.scan("in", first)
        assert (passed["ok"], passed["reason"], passed["subject"]) == (True, "ok", employee.provisioned.credential.subject)
        assert gate.scan("in", first)["reason"] == "replayed"  # a screenshot shown twice
        employee_status_set(actor=sp.operator, employee_id=sp.colleague.pk, status="left")
        # The honest limit of an offline gate: it cannot know of a revocation it has not synced.
        assert gate.scan("in", colleague.code(time.time()))["reason"] == "ok"
        time.sleep(1.5)  # a sync tick or two: published into the void
        assert not Passage.objects.exists() and gate.pending() == 3
        assert gate.stop() == 0
        before_sync = tmp_path / "log-before-sync.sqlite3"
        with sqlite3.connect(gate.data) as source, sqlite3.connect(before_sync) as copy:
            source.backup(copy)  # what the gate held before any answer: its acks are "lost" below

        # The bridge comes up; the gate (restarted: its log survived) catches up within a sync or two.
        bridge.start()
        gate.start()
        assert gate.scan("in", first)["reason"] == "replayed"  # the restarted gate remembers what went through
        version = Park.objects.get(pk=sp.park.pk).revocation_version
        eventually(lambda: gate.pending() == 0 and gate.version() == version, what="the gate synced",
                   logs=(gate, bridge))
        rows = list(Passage.objects.order_by("at").values_list("mode", "result", "reason", "employee", "gate_entry"))
        assert [row[:4] for row in rows] == [("offline", "passed", "ok", sp.employee.pk),
                                             ("offline", "refused", "replayed", sp.employee.pk),
                                             ("offline", "passed", "ok", sp.colleague.pk),
                                             ("offline", "refused", "replayed", sp.employee.pk)]
        first_entries = {row[4] for row in rows}

        # Offline again, the colleague's code is refused: the revocation came with the bundle and stays.
        bridge.stop()
        assert bridge.popen.returncode == 0, bridge.log()
        refused = gate.scan("in", colleague.code(time.time()))
        assert (refused["ok"], refused["reason"]) == (False, "revoked")
        assert gate.pending() == 1

        # The gate's first acks were lost (restored from a backup, say): it sends those passages again with the
        # new one, and the server stores each exactly once.
        assert gate.stop() == 0
        with sqlite3.connect(gate.data) as db:
            db.execute("ATTACH DATABASE ? AS lost", (str(before_sync),))
            db.execute("INSERT INTO passage (id, at, direction, ok, reason, drift, step, credential, subject) "
                       "SELECT id, at, direction, ok, reason, drift, step, credential, subject FROM lost.passage")
        assert gate.pending() == 4
        bridge.start()
        gate.start()
        eventually(lambda: gate.pending() == 0, what="the gate sent its log again", logs=(gate, bridge))
        assert "1 new, 3 already in" in gate.log()
        rows = list(Passage.objects.order_by("at").values_list("reason", "employee", "gate_entry"))
        assert [row[:2] for row in rows] == [("ok", sp.employee.pk), ("replayed", sp.employee.pk),
                                             ("ok", sp.colleague.pk), ("replayed", sp.employee.pk),
                                             ("revoked", sp.colleague.pk)]
        assert first_entries < {row[2] for row in rows} and len({row[2] for row in rows}) == 5
    finally:
        gate.stop()
        bridge.stop()


@pytest.mark.django_db(transaction=True)
def test_the_bridge_refuses_forged_misplaced_and_malformed_messages_and_keeps_answering(software_park, tmp_path,
                                                                                        broker):
    sp = software_park
    private = ed25519.Ed25519PrivateKey.generate()
    gate_enrol(gate=sp.gates["A-door"], public_key=private.public_key())
    key = COSEKey.from_pem(key_pem(private), alg="EdDSA", kid=b"gate")
    forger = COSEKey.from_pem(key_pem(ed25519.Ed25519PrivateKey.generate()), alg="EdDSA", kid=b"gate")
    bridge, listener = bridge_process(tmp_path), Listener(sp.park.code)
    entry = {"id": "e1", "at": time.time(), "direction": "in", "ok": True, "reason": "ok", "drift": 0, "step": 1,
             "credential": None, "subject": None}
    trust = TrustList.from_jwks(park_jwks(park=sp.park))
    try:
        bridge.start()

        def synced() -> bool:  # the bridge's subscriptions are in once it answers a sync
            listener.publish("A-door", "sync", b"-1")
            try:
                return bool(listener.answer("A-door", "bundle", timeout=1))
            except queue.Empty:
                return False

        eventually(synced, what="the bridge answered a sync", logs=(bridge,))
        cases = [
            ("A-door", upload_sign(gate_key=forger, park=sp.park.code, gate="A-door", entries=[entry]),
             "bad_signature"),
            ("A-door", b"\x00 not a COSE message", "malformed"),
            ("B-door", upload_sign(gate_key=key, park=sp.park.code, gate="A-door", entries=[entry]), "wrong_topic"),
            ("north", upload_sign(gate_key=key, park=sp.park.code, gate="north", entries=[entry]), "unknown_gate"),
        ]
        for topic_gate, payload, reason in cases:
            listener.publish(topic_gate, "passages", payload)
            assert json.loads(listener.answer(topic_gate, "ack")) == {"error": reason}
        assert not Passage.objects.exists()
        listener.drain("A-door", "bundle")
        listener.publish("A-door", "sync", b"not a version")  # ignored, logged
        listener.publish("nowhere", "sync", b"-1")  # no such gate: ignored, logged
        listener.publish("A-door", "sync", b"-1")
        bundle = bundle_read(listener.answer("A-door", "bundle"), keys=trust, park=sp.park.code, gate="A-door")
        assert (bundle.full, bundle.rule.code, bundle.rule.building) == (True, "A-door", "A")
        with pytest.raises(queue.Empty):
            listener.answer("nowhere", "bundle", timeout=0.5)
        listener.publish("A-door", "passages", upload_sign(gate_key=key, park=sp.park.code, gate="A-door",
                                                           entries=[entry]))
        assert json.loads(listener.answer("A-door", "ack")) == {"accepted": 1, "duplicates": 0, "refused": [],
                                                                "stored": ["e1"]}
        assert Passage.objects.get().gate_entry == "e1"
        assert bridge.pid is not None
        log = bridge.log(tail=None)
        assert "refused: bad_signature" in log and "names gate software-park/A-door" in log
        assert "unknown gate software-park/nowhere" in log and "no revocation version" in log
        bridge.stop()
        assert bridge.popen.returncode == 0 and "bridge stopped" in bridge.log()
    finally:
        listener.close()
        bridge.stop()


@pytest.mark.django_db(transaction=True)
def test_a_gate_syncs_and_uploads_over_http_with_the_jwks_fetched_once(software_park, tmp_path, live_server):
    sp = software_park
    employee, colleague = Phone(sp.employee.user, sp.park), Phone(sp.colleague.user, sp.park)
    gate = enrolled_gate(sp, "north", tmp_path / "north", rule=False, jwks=False, server_url=live_server.url)
    try:
        gate.start()
        eventually(lambda: gate.version() >= 0, what="the first bundle over HTTP",
                   logs=(gate,))
        assert json.loads((gate.folder / "park-jwks.json").read_text()) == park_jwks(park=sp.park)
        assert gate.scan("in", employee.code(time.time()))["reason"] == "ok"
        eventually(lambda: gate.pending() == 0, what="the upload over HTTP", logs=(gate,))
        assert list(Passage.objects.values_list("mode", "reason", "gate__code")) == [("offline", "ok", "north")]
        employee_status_set(actor=sp.operator, employee_id=sp.colleague.pk, status="left")
        version = Park.objects.get(pk=sp.park.pk).revocation_version
        eventually(lambda: gate.version() == version, what="the revocation over HTTP", logs=(gate,))
        assert gate.scan("in", colleague.code(time.time()))["reason"] == "revoked"
        eventually(lambda: gate.pending() == 0, what="the second upload", logs=(gate,))
        assert Passage.objects.count() == 2
    finally:
        gate.stop()


def test_a_gate_without_any_rule_or_network_refuses_every_code_and_runs_without_django(tmp_path):
    park_private = ed25519.Ed25519PrivateKey.generate()
    park_key = COSEKey.from_pem(key_pem(park_private), alg="EdDSA", kid=b"park")
    device = COSEKey.from_pem(key_pem(ed25519.Ed25519PrivateKey.generate()), alg="EdDSA", kid=b"device")
    from passkit import Access, credential_issue

    now = int(time.time())
    credential = credential_issue(park_key=park_key, park="software-park", subject="employee:1", device_key=device,
                                  credential_id=b"c" * 16, issued_at=now, expires_at=now + 3600,
                                  access=Access(role="operator"))
    folder = tmp_path / "gate"
    folder.mkdir()
    (folder / "gate-key.pem").write_bytes(key_pem(ed25519.Ed25519PrivateKey.generate()))
    (folder / "park-jwks.json").write_text(json.dumps({"keys": [jwk_of(park_private.public_key(), kid=b"park")]}))
    # Nothing listens at either address: the gate decides on its own, and keeps trying.
    gate = GateProcess(folder, {"park": "software-park", "gate": "north", "key": "gate-key.pem",
                                "jwks": "park-jwks.json", "data_dir": "state", "sync_seconds": 1,
                                "mqtt_url": f"mqtt://127.0.0.1:{free_port()}",
                                "server_url": f"http://127.0.0.1:{free_port()}"})
    try:
        gate.start()
        verdict = gate.scan("in", pass_code(credential=credential, device_key=device))
        assert (verdict["ok"], verdict["reason"]) == (False, "no_rule")
        assert gate.scan("sideways", "OGP1:x")["reason"] == "bad_direction"
        assert gate.pending() == 1  # the refusal is a passage; a scanner's garbled line is not
        gate.popen.stdin.close()  # the scanner gone: the gate keeps its log and keeps running
        time.sleep(1.5)
        assert gate.popen.poll() is None and gate.pending() == 1 and "server unreachable" in gate.log()
    finally:
        assert gate.stop() == 0
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, passkit.gate; print(sorted({m.split('.')[0] for m in sys.modules}))"],
        capture_output=True, text=True, check=True, cwd=settings.BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(settings.BASE_DIR)}).stdout
    assert not {"django", "core", "parks", "config"} & set(json.loads(imported.replace("'", '"')))
