"""The gate process: decides every scanned code offline and syncs with OneGrid when it can.

``python -m passkit.gate --config gate.json`` reads scanned codes from stdin, one a line as ``<direction> <code>``
(``in`` or ``out``), and prints one JSON verdict a line: ``{"ok", "reason", "drift", "subject", "id"}``.  The
decision never waits for the network: the park's keys (the JWK Set the gate was enrolled with), the gate's rule and
the revocation list of the latest signed bundle are all it needs.  Each passage, passed or refused, goes to the
gate's log (a SQLite file in ``data_dir``) until the server says it is stored.

In the background, every ``sync_seconds``, the gate asks for a newer bundle and uploads its log in signed batches
(``passkit.sync``), over MQTT when the broker is connected, else over HTTP when a server is configured.  With no
network at all it keeps deciding and keeps its log; it catches up when the broker or the server comes back.

The config (JSON; relative paths are from the config file's folder)::

    {"park": "software-park", "gate": "A-door", "key": "gate-key.pem", "jwks": "park-jwks.json",
     "data_dir": "state", "server_url": "https://onegrid.example", "mqtt_url": "mqtt://broker:1883",
     "prefix": "onegrid/parks", "sync_seconds": 10, "rule": {...GateRule.as_dict()...}}

``rule`` lets a gate decide from its first minute, before any bundle: without one, and without any bundle ever
taken, every code is refused ``no_rule``.  ``jwks`` absent: fetched once from ``server_url`` and kept.

MQTT topics under ``<prefix>/<park>/gates/<gate>/``: the gate publishes ``passages`` (a signed upload, QoS 1) and
``sync`` (the revocation version it holds, ASCII, ``-1`` for none); OneGrid answers ``bundle`` (the signed
bundle) and ``ack`` (the upload's result as JSON, or ``{"error": reason}``).

No Django here, nothing of OneGrid's: the standard library, cbor2, python-cwt, paho-mqtt and httpx.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import paho.mqtt.client as mqtt
from cwt import COSEKey

from certkit import TrustList
from passkit.codes import DIRECTIONS, GateVerifier, PassVerdict
from passkit.rules import GateRule
from passkit.sync import SyncError, bundle_read, upload_sign

log = logging.getLogger("passkit.gate")

DEFAULT_PREFIX = "onegrid/parks"
DEFAULT_SYNC_SECONDS = 10.0
#: Passages in one upload: half what the server takes (``MAX_UPLOAD_ENTRIES``), so a batch is never too large.
UPLOAD_BATCH = 500
HTTP_TIMEOUT = 10.0
#: An accepted code is remembered on disk this long, so that a restarted gate still refuses its replay (far more
#: than the drift tolerated: a few steps of 30 seconds).
ACCEPTED_KEEP_SECONDS = 600
#: Refusals of one entry the server will never change its mind on: such entries leave the log.  ``future`` stays
#: (the gate's clock is ahead; the server takes the entry once its own clock gets there).
FINAL_REFUSALS = frozenset({"malformed", "too_old"})


class GateConfigError(ValueError):
    """The config cannot run a gate: the message says what is wrong."""


@dataclass(frozen=True)
class GateConfig:
    park: str
    gate: str
    key: Path
    jwks: Path
    data_dir: Path
    server_url: str = ""
    mqtt_url: str = ""
    prefix: str = DEFAULT_PREFIX
    sync_seconds: float = DEFAULT_SYNC_SECONDS
    rule: dict | None = None

    @classmethod
    def load(cls, path: str | Path) -> GateConfig:
        """The config in the JSON file at ``path``; ``GateConfigError`` naming what is missing or wrong."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise GateConfigError(f"cannot read the config {path}: {error}") from None
        if not isinstance(raw, dict):
            raise GateConfigError("the config is a JSON object")
        missing = [name for name in ("park", "gate", "key", "data_dir") if not raw.get(name)]
        if missing:
            raise GateConfigError(f"the config lacks {', '.join(missing)}")
        if not raw.get("jwks") and not raw.get("server_url"):
            raise GateConfigError("the config needs jwks (the park's JWK Set file) or server_url to fetch it from")
        here = path.parent

        def local(value: str) -> Path:
            return (here / value).resolve()

        try:
            sync_seconds = float(raw.get("sync_seconds", DEFAULT_SYNC_SECONDS))
        except (TypeError, ValueError):
            raise GateConfigError("sync_seconds is a number of seconds") from None
        if sync_seconds <= 0:
            raise GateConfigError("sync_seconds is a number of seconds above 0")
        mqtt_url = str(raw.get("mqtt_url") or "")
        if mqtt_url:
            parts = urlsplit(mqtt_url)
            if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
                raise GateConfigError(f"mqtt_url is mqtt://host:port or mqtts://host:port, not {mqtt_url}")
        rule = raw.get("rule")
        if rule is not None:
            try:
                parsed = GateRule.from_dict(rule)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                raise GateConfigError(f"the initial rule is not a gate rule: {error}") from None
            if parsed.code != raw["gate"]:
                raise GateConfigError(f"the initial rule is gate {parsed.code}'s, not {raw['gate']}'s")
        return cls(park=str(raw["park"]), gate=str(raw["gate"]), key=local(raw["key"]),
                   jwks=local(raw.get("jwks") or "park-jwks.json"), data_dir=local(raw["data_dir"]),
                   server_url=str(raw.get("server_url") or "").rstrip("/"), mqtt_url=mqtt_url,
                   prefix=str(raw.get("prefix") or DEFAULT_PREFIX).strip("/"), sync_seconds=sync_seconds,
                   rule=rule)

    @property
    def topic(self) -> str:
        """The gate's own topics are below this one."""
        return f"{self.prefix}/{self.park}/gates/{self.gate}"


class GateStore:
    """The gate's state in one SQLite file: its passage log not yet stored by the server, the latest bundle taken
    (version, issue time, rule, revocation list) and the codes accepted in the last minutes.  Thread-safe: one
    connection behind a lock (the scanner, the sync thread and the MQTT thread all use it)."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS passage (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, at REAL NOT NULL,
            direction TEXT NOT NULL, ok INTEGER NOT NULL, reason TEXT NOT NULL, drift INTEGER NOT NULL,
            step INTEGER, credential BLOB, subject TEXT);
        CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS revoked (credential BLOB PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS accepted (
            credential BLOB NOT NULL, direction TEXT NOT NULL, step INTEGER NOT NULL, current_step INTEGER NOT NULL,
            at REAL NOT NULL, PRIMARY KEY (credential, direction, step));
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        # WAL: a reader (an operator's sqlite3 shell, a test) never blocks the gate's writes.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(self.SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the passage log --

    def passage_add(self, entry: dict, *, accepted: tuple | None = None) -> None:
        """Append ``entry`` (an upload entry) to the log; ``accepted``: ``(credential, direction, step,
        current_step)`` of an accepted code, remembered in the same transaction."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO passage (id, at, direction, ok, reason, drift, step, credential, subject)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry["id"], entry["at"], entry["direction"], int(entry["ok"]), entry["reason"], entry["drift"],
                 entry["step"], entry["credential"], entry["subject"]))
            if accepted is not None:
                self._db.execute("INSERT OR REPLACE INTO accepted VALUES (?, ?, ?, ?, ?)", (*accepted, entry["at"]))

    def passages_pending(self, limit: int = UPLOAD_BATCH) -> list[dict]:
        """The oldest entries not yet stored by the server, at most ``limit``, as upload entries."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, direction, ok, reason, drift, step, credential, subject FROM passage"
                " ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [{"id": row[0], "at": row[1], "direction": row[2], "ok": bool(row[3]), "reason": row[4],
                 "drift": row[5], "step": row[6], "credential": row[7], "subject": row[8]} for row in rows]

    def passages_forget(self, ids: Iterable[str]) -> int:
        """Delete the entries ``ids`` (the server stored them); how many were still there."""
        ids = list(ids)
        with self._lock, self._db:
            return sum(self._db.execute("DELETE FROM passage WHERE id = ?", (entry_id,)).rowcount
                       for entry_id in ids)

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM passage").fetchone()[0]

    # -- the codes accepted lately --

    def accepted_recent(self, now: float) -> list[tuple[bytes, str, int, int]]:
        """The codes accepted in the last ``ACCEPTED_KEEP_SECONDS`` (older ones are forgotten here)."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM accepted WHERE at < ?", (now - ACCEPTED_KEEP_SECONDS,))
            return self._db.execute("SELECT credential, direction, step, current_step FROM accepted").fetchall()

    # -- the latest bundle --

    def held(self) -> tuple[int, int, dict | None]:
        """``(version, issued_at, rule)`` of the latest bundle taken; ``(-1, 0, None)`` before any."""
        with self._lock:
            state = dict(self._db.execute("SELECT name, value FROM state").fetchall())
        rule = json.loads(state["rule"]) if "rule" in state else None
        return int(state.get("version", -1)), int(state.get("issued_at", 0)), rule

    def revoked(self) -> set[bytes]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT credential FROM revoked")}

    def bundle_keep(self, *, version: int, issued_at: int, rule: dict, revoked: Iterable[bytes], full: bool) -> None:
        """Keep a bundle just taken: its version, issue time and rule, and its revocations (``full``: instead of
        the list held; otherwise added to it), in one transaction."""
        with self._lock, self._db:
            if full:
                self._db.execute("DELETE FROM revoked")
            self._db.executemany("INSERT OR IGNORE INTO revoked VALUES (?)", [(item,) for item in revoked])
            self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)",
                                 [("version", str(version)), ("issued_at", str(issued_at)),
                                  ("rule", json.dumps(rule))])


class Gate:
    """One gate: its verifier, rule and log; ``scan`` decides a code, ``start`` the background sync.

    Who may call: ``main`` (the process), or a program embedding the gate.  Raises ``GateConfigError`` when its
    key or the park's JWK Set cannot be read (or fetched, when the config gives no file)."""

    def __init__(self, config: GateConfig):
        self.config = config
        try:
            self.key = COSEKey.from_pem(config.key.read_bytes(), alg="EdDSA",
                                        kid=f"gate:{config.park}:{config.gate}".encode())
        except (OSError, ValueError) as error:
            raise GateConfigError(f"cannot read the gate's key {config.key}: {error}") from None
        jwks = self._jwks()
        try:
            self.keys = TrustList.from_jwks(jwks)
        except ValueError as error:
            raise GateConfigError(f"the park's JWK Set {config.jwks} is no JWK Set: {error}") from None
        try:
            self.store = GateStore(config.data_dir / "gate.sqlite3")
        except (OSError, sqlite3.Error) as error:
            raise GateConfigError(f"cannot keep the gate's state in {config.data_dir}: {error}") from None
        version, _issued_at, rule = self.store.held()
        self.rule = GateRule.from_dict(rule) if rule is not None else (
            GateRule.from_dict(config.rule) if config.rule is not None else None)
        self.verifier = GateVerifier(park=config.park, keys=self.keys, revoked=self.store.revoked())
        now = time.time()
        for credential, direction, step, current_step in self.store.accepted_recent(now):
            # A restart must not forget which codes already went through: a replayed screenshot stays refused.
            self.verifier._remember((credential, config.gate, direction, step), current_step)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._mqtt: mqtt.Client | None = None
        self._mqtt_ready = threading.Event()
        log.info("gate %s/%s: revocation version %d, %s, %d passages to upload", config.park, config.gate, version,
                 "a rule" if self.rule else "no rule yet", self.store.pending_count())

    def _jwks(self) -> dict:
        """The park's JWK Set from its file; fetched once from the server (and kept) when there is none."""
        path = self.config.jwks
        if not path.exists():
            if not self.config.server_url:
                raise GateConfigError(f"no JWK Set at {path} and no server_url to fetch it from")
            url = f"{self.config.server_url}/parks/{quote(self.config.park)}/jwks.json"
            try:
                response = httpx.get(url, timeout=HTTP_TIMEOUT)
                response.raise_for_status()
                jwks = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise GateConfigError(f"cannot fetch the park's JWK Set from {url}: {error}") from None
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(jwks), encoding="utf-8")
            log.info("park JWK Set fetched from %s and kept in %s", url, path)
            return jwks
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise GateConfigError(f"cannot read the park's JWK Set {path}: {error}") from None

    # --- deciding ----------------------------------------------------------------------------------------------

    def scan(self, direction: str, code: str, *, now: float | None = None) -> dict:
        """Decide ``code`` going ``direction`` offline, log the passage and return the verdict to print.  A
        direction other than ``in``/``out`` is the scanner's fault, not a passage: refused, not logged."""
        now = time.time() if now is None else now
        if direction not in DIRECTIONS:
            return {"ok": False, "reason": "bad_direction", "drift": 0, "subject": None, "id": None}
        with self._lock:
            if self.rule is None:
                verdict = PassVerdict(False, "no_rule")
            else:
                verdict = self.verifier.verify(code, gate=self.rule, direction=direction, now=now)
            entry = {"id": str(uuid.uuid4()), "at": now, "direction": direction, "ok": verdict.ok,
                     "reason": verdict.reason, "drift": verdict.drift, "step": verdict.step,
                     "credential": verdict.credential_id, "subject": verdict.subject}
            accepted = ((verdict.credential_id, direction, verdict.step, verdict.step - verdict.drift)
                        if verdict.ok else None)
            self.store.passage_add(entry, accepted=accepted)
        return {"ok": verdict.ok, "reason": verdict.reason, "drift": verdict.drift, "subject": verdict.subject,
                "id": entry["id"]}

    # --- what the server sends --------------------------------------------------------------------------------

    def bundle_take(self, data: bytes) -> bool:
        """Take a bundle (from MQTT or HTTP) if it is this gate's, signed by a key of the park's JWK Set, and not
        older than the one held (by version and by issue time); whether it was taken.  Never raises."""
        config = self.config
        try:
            bundle = bundle_read(data, keys=self.keys, park=config.park, gate=config.gate)
        except SyncError as error:
            log.warning("bundle refused: %s", error.reason)
            return False
        with self._lock:
            version, issued_at, _rule = self.store.held()
            if bundle.issued_at < issued_at:
                log.warning("bundle refused: issued at %d, before the one held (%d)", bundle.issued_at, issued_at)
                return False
            # A lower version is refused unless the server sends it whole and newly signed: a server restored from
            # a backup says so (a replayed old bundle would carry its old issue time, refused above).
            if bundle.version < version and not bundle.full:
                log.warning("bundle refused: version %d, older than the one held (%d)", bundle.version, version)
                return False
            if not bundle.full and bundle.since > version:
                log.warning("bundle refused: revocations after %d, the gate holds %d", bundle.since, version)
                return False
            self.store.bundle_keep(version=bundle.version, issued_at=bundle.issued_at, rule=bundle.rule.as_dict(),
                                   revoked=bundle.revoked, full=bundle.full)
            self.verifier.revocations_replace(self.store.revoked())
            self.rule = bundle.rule
            changed = bundle.version != version
        (log.info if changed or bundle.revoked else log.debug)(
            "bundle taken: version %d (%s), %d revocations in it", bundle.version,
            "full" if bundle.full else f"since {bundle.since}", len(bundle.revoked))
        return True

    def ack_take(self, answer) -> int:
        """Forget the entries an upload's answer says are stored (and those refused for good); how many left the
        log.  An ``{"error": reason}`` answer (the whole upload refused) forgets nothing.  Never raises."""
        if not isinstance(answer, dict) or "error" in answer:
            log.warning("upload refused: %s", answer.get("error") if isinstance(answer, dict) else answer)
            return 0
        stored = [item for item in answer.get("stored") or [] if isinstance(item, str)]
        refused = [tuple(item) for item in answer.get("refused") or [] if isinstance(item, list) and len(item) == 2]
        for entry_id, reason in refused:
            log.warning("passage %s refused by the server: %s", entry_id, reason)
        forgotten = self.store.passages_forget([*stored, *(entry_id for entry_id, reason in refused
                                                           if reason in FINAL_REFUSALS)])
        log.info("upload stored: %s new, %s already in, %d refused; %d left the log, %d still to upload",
                 answer.get("accepted"), answer.get("duplicates"), len(refused), forgotten,
                 self.store.pending_count())
        return forgotten

    # --- syncing ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to the broker (if configured; paho reconnects by itself) and start the sync thread."""
        if self.config.mqtt_url:
            self._mqtt_start()
        self._thread = threading.Thread(target=self._sync_loop, name="gate-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop syncing, disconnect and close the log.  Safe to call twice."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=HTTP_TIMEOUT + 2)
        if self._mqtt is not None:
            self._mqtt.disconnect()
            self._mqtt.loop_stop()
            self._mqtt = None
        self.store.close()

    def wait(self) -> None:
        """Block until ``stop``."""
        while not self._stop.wait(3600):
            pass

    def sync(self) -> None:
        """One sync: over MQTT when the broker is connected, else over HTTP when a server is configured, else
        nothing (the gate is offline).  Never raises."""
        try:
            if self._mqtt_ready.is_set():
                self._sync_mqtt()
            elif self.config.server_url:
                self._sync_http()
        except Exception:  # a sync that fails is tried again next time; the gate goes on deciding meanwhile
            log.exception("sync failed")

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.sync()
            self._wake.wait(self.config.sync_seconds)

    def _upload(self, batch: list[dict]) -> bytes:
        return upload_sign(gate_key=self.key, park=self.config.park, gate=self.config.gate, entries=batch)

    def _sync_http(self) -> None:
        config = self.config
        base = f"{config.server_url}/parks/{quote(config.park)}"
        version = self.store.held()[0]
        with httpx.Client(timeout=HTTP_TIMEOUT) as client:
            try:
                response = client.get(f"{base}/gates/{quote(config.gate)}/bundle", params={"since": version})
                if response.status_code == 200:
                    self.bundle_take(response.content)
                else:
                    log.warning("bundle not served: HTTP %d %s", response.status_code, response.text[:200])
                while not self._stop.is_set():
                    batch = self.store.passages_pending()
                    if not batch:
                        break
                    response = client.post(f"{config.server_url}/parks/passages", content=self._upload(batch),
                                           headers={"Content-Type": "application/cose"})
                    if response.status_code != 200:
                        log.warning("upload refused: HTTP %d %s", response.status_code, response.text[:200])
                        break
                    if not self.ack_take(response.json()):
                        break  # nothing left the log: the same batch again would loop
            except (httpx.HTTPError, ValueError) as error:
                log.info("server unreachable (%s): the log waits", error)

    def _mqtt_start(self) -> None:
        url = urlsplit(self.config.mqtt_url)  # checked by GateConfig.load
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"onegrid-gate-{self.config.park}-{self.config.gate}-{uuid.uuid4().hex[:8]}")
        if url.username:
            client.username_pw_set(url.username, url.password)
        if url.scheme == "mqtts":
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        # Messages wait in paho's queue only between a sync deciding to publish and a lost connection: a few.
        client.max_queued_messages_set(20)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._mqtt = client
        client.connect_async(url.hostname, url.port or (8883 if url.scheme == "mqtts" else 1883), keepalive=30)
        client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        topic = self.config.topic
        client.subscribe([(f"{topic}/bundle", 1), (f"{topic}/ack", 1)])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.warning("broker refused the subscriptions: %s", reason_codes)
            return
        log.info("connected to the broker: syncing over MQTT")
        self._mqtt_ready.set()
        self._wake.set()  # catch up at once, not at the next tick

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._mqtt_ready.is_set() and not self._stop.is_set():
            log.info("broker lost (%s): deciding offline, syncing %s", reason_code,
                     "over HTTP" if self.config.server_url else "when it is back")
        self._mqtt_ready.clear()

    def _on_message(self, client, userdata, message) -> None:
        try:
            if message.topic.endswith("/bundle"):
                self.bundle_take(message.payload)
            elif message.topic.endswith("/ack"):
                if self.ack_take(json.loads(message.payload)) and self.store.pending_count():
                    self._wake.set()  # a long log goes up batch after batch, not one per tick
        except Exception:  # paho's thread must live on: a bad message is logged, never fatal
            log.exception("message on %s not handled", message.topic)

    def _sync_mqtt(self) -> None:
        client, topic = self._mqtt, self.config.topic
        if client is None:
            return
        client.publish(f"{topic}/sync", str(self.store.held()[0]).encode("ascii"), qos=1)
        batch = self.store.passages_pending()
        if batch:
            # Sent again every tick until acknowledged: the server stores each entry once, whatever it receives.
            client.publish(f"{topic}/passages", self._upload(batch), qos=1)


class _Stopped(Exception):
    pass


def _stopped(signum, frame):
    raise _Stopped


def main(argv: list[str] | None = None) -> int:
    """The gate process: 0 when stopped by SIGTERM or SIGINT, 2 for a config it cannot run."""
    parser = argparse.ArgumentParser(prog="python -m passkit.gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the gate's JSON config")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        gate = Gate(GateConfig.load(args.config))
    except GateConfigError as error:
        print(f"passkit.gate: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    try:
        gate.start()
        for line in iter(sys.stdin.readline, ""):
            # Base45 has a space in its alphabet: the code is everything after the first one.
            direction, _, code = line.strip().partition(" ")
            if not direction:
                continue
            if not code:
                verdict = {"ok": False, "reason": "malformed", "drift": 0, "subject": None, "id": None}
            else:
                verdict = gate.scan(direction, code)
            print(json.dumps(verdict, ensure_ascii=False), flush=True)
        # The scanner is gone, not the log: the gate syncs on until it is stopped.
        gate.wait()
    except _Stopped:
        pass
    finally:
        # A second signal must not cut the shutdown short (the log is being closed).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gate.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
