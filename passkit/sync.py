"""What a gate and OneGrid exchange, each message signed (COSE_Sign1) so that neither side trusts the wire.

- A **bundle** (OneGrid -> gate), signed by the park's key: the gate's rule and the revocations since the version
  the gate last held (``full`` when it must replace its list: a first sync, or a version the server no longer
  covers).  A gate takes only a bundle of its own park and gate, signed by a key of the park's JWK Set it was
  enrolled with, never an older one than it holds.
- An **upload** (gate -> OneGrid), signed by the gate's own key, enrolled once: its passages, each with an id of
  the gate's making, so that an upload sent twice, or a passage in two uploads, is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass

import cbor2
from cwt.cose_key_interface import COSEKeyInterface

from certkit import TrustList
from passkit.cose import DECODE_ERRORS, Sign1, sign1
from passkit.rules import GateRule

#: The ``typ`` (COSE header 16) of each message, so that one can never be taken for the other.
BUNDLE_TYP, UPLOAD_TYP = "application/onegrid-gate-bundle+cwt", "application/onegrid-gate-upload+cwt"
HEADER_TYP = 16
#: Passages in one upload, at most.
MAX_UPLOAD_ENTRIES = 1000


class SyncError(ValueError):
    """A message refused: ``reason`` is ``malformed``, ``unknown_key``, ``bad_signature``, ``wrong_park``,
    ``wrong_gate``, ``wrong_type`` or ``too_large``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Bundle:
    park: str
    rule: GateRule
    version: int
    since: int
    full: bool
    revoked: tuple[bytes, ...]
    issued_at: int


def bundle_sign(*, park_key: COSEKeyInterface, park: str, rule: GateRule, version: int, since: int, full: bool,
                revoked: list[bytes], issued_at: int) -> bytes:
    claims = {"park": park, "gate": rule.as_dict(), "v": version, "since": since, "full": full,
              "revoked": list(revoked), "iat": issued_at}
    return sign1(park_key, cbor2.dumps(claims), {HEADER_TYP: BUNDLE_TYP})


def bundle_read(data: bytes, *, keys: TrustList, park: str, gate: str) -> Bundle:
    """The bundle in ``data``, checked against the park's ``keys``; ``SyncError`` otherwise."""
    claims = _opened(data, BUNDLE_TYP, lambda message: keys.key(message.kid) if message.kid else None)
    try:
        bundle = Bundle(park=claims["park"], rule=GateRule.from_dict(claims["gate"]), version=int(claims["v"]),
                        since=int(claims["since"]), full=bool(claims["full"]),
                        revoked=tuple(claims["revoked"]), issued_at=int(claims["iat"]))
    except (*DECODE_ERRORS, ValueError) as error:
        raise SyncError("malformed") from error
    if bundle.park != park:
        raise SyncError("wrong_park")
    if bundle.rule.code != gate:
        raise SyncError("wrong_gate")
    if not all(isinstance(item, bytes) for item in bundle.revoked):
        raise SyncError("malformed")
    return bundle


@dataclass(frozen=True)
class Upload:
    park: str
    gate: str
    entries: tuple[dict, ...]


def upload_sign(*, gate_key: COSEKeyInterface, park: str, gate: str, entries: list[dict]) -> bytes:
    """A gate's passages, signed by its key.  Each entry: ``id`` (the gate's, unique for it), ``at`` (UNIX time),
    ``direction``, ``ok``, ``reason``, ``drift``, ``step``, ``credential`` (bytes, or None for an unreadable
    code), ``subject``."""
    return sign1(gate_key, cbor2.dumps({"park": park, "gate": gate, "entries": entries}), {HEADER_TYP: UPLOAD_TYP})


def upload_open(data: bytes) -> tuple[str, str, Sign1]:
    """The park and gate an upload says it comes from, to look up the gate's key; ``SyncError`` if unreadable."""
    try:
        message = Sign1.open(data)
        claims = cbor2.loads(message.payload)
        park, gate = claims["park"], claims["gate"]
    except DECODE_ERRORS as error:
        raise SyncError("malformed") from error
    if not (isinstance(park, str) and isinstance(gate, str)):
        raise SyncError("malformed")
    return park, gate, message


def upload_read(data: bytes, *, gate_key: COSEKeyInterface | None) -> Upload:
    """The upload in ``data`` if ``gate_key`` (the enrolled key of the gate it names) signed it."""
    claims = _opened(data, UPLOAD_TYP, lambda message: gate_key)
    entries = claims.get("entries")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise SyncError("malformed")
    if len(entries) > MAX_UPLOAD_ENTRIES:
        raise SyncError("too_large")
    return Upload(park=claims["park"], gate=claims["gate"], entries=tuple(entries))


def _opened(data: bytes, typ: str, key_of) -> dict:
    if not isinstance(data, bytes | bytearray) or len(data) > 2_000_000:
        raise SyncError("malformed" if not isinstance(data, bytes | bytearray) else "too_large")
    try:
        message = Sign1.open(bytes(data))
    except DECODE_ERRORS as error:
        raise SyncError("malformed") from error
    if message.protected.get(HEADER_TYP) != typ:
        raise SyncError("wrong_type")
    key = key_of(message)
    if key is None:
        raise SyncError("unknown_key")
    if not message.verified_by(key):
        raise SyncError("bad_signature")
    try:
        claims = cbor2.loads(message.payload)
    except DECODE_ERRORS as error:
        raise SyncError("malformed") from error
    if not isinstance(claims, dict):
        raise SyncError("malformed")
    return claims
