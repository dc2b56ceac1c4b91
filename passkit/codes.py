"""Credentials (park-signed CWTs binding a device key), pass codes (device-signed COSE_Sign1 per time step) and
their offline verification at a gate."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

import base45
import cbor2
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface

from certkit import TrustList

PASS_PREFIX = "OGP1:"
DEFAULT_STEP_SECONDS = 30
#: COSE header parameter ``kcwt`` (RFC 9528 section 3.5.3): a CWT carrying the signer's key.
HEADER_KCWT = 13
#: CWT claim ``cnf`` (RFC 8747) and its ``COSE_Key`` member.
CLAIM_CNF, CNF_COSE_KEY = 8, 1
#: Private CWT claim: the credential's time step in seconds.
CLAIM_STEP = -65538
EDDSA = -8
#: A code is a few hundred characters; anything far longer is refused unread.
MAX_PASS_CHARS = 1200


def credential_issue(*, park_key: COSEKeyInterface, park: str, subject: str, device_key: COSEKeyInterface,
                     credential_id: bytes, issued_at: int, expires_at: int,
                     step_seconds: int = DEFAULT_STEP_SECONDS) -> bytes:
    """The CWT the park signs once for a phone: ``subject`` (an employee or a visitor's invitation) may pass at
    ``park`` until ``expires_at`` with codes the ``device_key`` signs.  COSE_Sign1, EdDSA (or the park key's
    algorithm), the park key's id in the protected header."""
    public = {label: value for label, value in device_key.to_dict().items() if label != -4}  # never the private part
    public[4] = [2]  # key_ops: verify
    claims = {1: park, 2: subject, 4: int(expires_at), 6: int(issued_at), 7: credential_id,
              CLAIM_CNF: {CNF_COSE_KEY: public}, CLAIM_STEP: int(step_seconds)}
    protected = cbor2.dumps({1: park_key.alg, 4: park_key.kid})
    payload = cbor2.dumps(claims)
    signature = park_key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))


def pass_code(*, credential: bytes, device_key: COSEKeyInterface, now: float | None = None,
              step_seconds: int = DEFAULT_STEP_SECONDS) -> str:
    """The code the phone shows now: the step's number signed by the device key, the credential in the protected
    header; ``OGP1:`` and Base45, which a QR code holds in its compact alphanumeric mode."""
    step = int((time.time() if now is None else now) // step_seconds)
    protected = cbor2.dumps({1: device_key.alg, HEADER_KCWT: credential})
    payload = cbor2.dumps({1: step})
    signature = device_key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return PASS_PREFIX + base45.b45encode(message).decode("ascii")


@dataclass(frozen=True)
class PassVerdict:
    ok: bool
    #: ``ok``, or why not: ``malformed``, ``wrong_prefix``, ``unknown_key`` (the credential's signer),
    #: ``bad_credential`` (the park's signature), ``wrong_park``, ``expired``, ``revoked``, ``bad_signature``
    #: (the device's), ``stale`` / ``future`` (more than the tolerated drift), ``replayed``.
    reason: str
    subject: str | None = None
    credential_id: bytes | None = None
    step: int | None = None
    #: Steps between the code and the gate's clock (-1, 0 or +1 when accepted).
    drift: int = 0


@dataclass(frozen=True)
class _Credential:
    park: str
    subject: str
    credential_id: bytes
    expires_at: int
    step_seconds: int
    device: COSEKeyInterface


class GateVerifier:
    """What a gate runs: ``keys`` the park's public keys (a ``certkit.TrustList``, from its JWK Set), ``revoked``
    the credential ids refused (the synced revocation list), ``drift_steps`` the clock drift tolerated.  Keeps
    the credentials it verified (``cache_size``) and the codes it accepted this step and the last ones (replay)."""

    def __init__(self, *, park: str, keys: TrustList, revoked: Collection[bytes] = (), drift_steps: int = 1,
                 cache_size: int = 20_000):
        self.park, self.keys, self.drift_steps = park, keys, drift_steps
        self.revoked = frozenset(revoked)
        self._credentials: OrderedDict[bytes, _Credential] = OrderedDict()
        self._cache_size = cache_size
        self._accepted: dict[tuple, int] = {}

    def revocations_replace(self, revoked: Collection[bytes]) -> None:
        """A newly synced revocation list (the whole set of revoked credential ids)."""
        self.revoked = frozenset(revoked)

    def verify(self, text: str, *, gate: str, direction: str, now: float | None = None) -> PassVerdict:
        """The verdict on a scanned code at ``gate`` going ``direction`` at the gate's clock ``now``; accepting it
        records it, so the same code at the same gate and direction is ``replayed``.  Never raises."""
        now = time.time() if now is None else now
        if not isinstance(text, str) or len(text) > MAX_PASS_CHARS:
            return PassVerdict(False, "malformed")
        text = text.strip()
        if not text.startswith(PASS_PREFIX):
            return PassVerdict(False, "wrong_prefix")
        try:
            message = cbor2.loads(base45.b45decode(text[len(PASS_PREFIX):]))
            protected_bytes, _unprotected, payload, signature = message.value
            protected = cbor2.loads(protected_bytes)
            step = cbor2.loads(payload)[1]
            credential_bytes = protected[HEADER_KCWT]
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, cbor2.CBORDecodeError, RecursionError):
            return PassVerdict(False, "malformed")
        if not (isinstance(step, int) and isinstance(credential_bytes, bytes) and isinstance(signature, bytes)):
            return PassVerdict(False, "malformed")
        credential = self._credential(credential_bytes)
        if isinstance(credential, str):
            return PassVerdict(False, credential)
        found = {"subject": credential.subject, "credential_id": credential.credential_id, "step": step}
        if credential.park != self.park:
            return PassVerdict(False, "wrong_park", **found)
        if credential.expires_at <= now:
            return PassVerdict(False, "expired", **found)
        if credential.credential_id in self.revoked:
            return PassVerdict(False, "revoked", **found)
        if protected.get(1) != credential.device.alg:
            return PassVerdict(False, "bad_signature", **found)
        try:
            credential.device.verify(cbor2.dumps(["Signature1", protected_bytes, b"", payload]), signature)
        except Exception:  # python-cwt: VerifyError for a bad signature, ValueError for a malformed one
            return PassVerdict(False, "bad_signature", **found)
        drift = step - int(now // credential.step_seconds)
        if drift < -self.drift_steps:
            return PassVerdict(False, "stale", drift=drift, **found)
        if drift > self.drift_steps:
            return PassVerdict(False, "future", drift=drift, **found)
        key = (credential.credential_id, gate, direction, step)
        if key in self._accepted:
            return PassVerdict(False, "replayed", drift=drift, **found)
        self._remember(key, int(now // credential.step_seconds))
        return PassVerdict(True, "ok", drift=drift, **found)

    def _credential(self, data: bytes) -> _Credential | str:
        """The credential, verified against the park's keys once and remembered; or why not."""
        digest = hashlib.sha256(data).digest()
        known = self._credentials.get(digest)
        if known is not None:
            self._credentials.move_to_end(digest)
            return known
        try:
            message = cbor2.loads(data)
            protected_bytes, unprotected, payload, signature = message.value
            protected = cbor2.loads(protected_bytes)
            kid = protected.get(4, unprotected.get(4) if isinstance(unprotected, dict) else None)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, cbor2.CBORDecodeError, RecursionError):
            return "malformed"
        key = self.keys.key(kid) if isinstance(kid, bytes) else None
        if key is None:
            return "unknown_key"
        if protected.get(1) != key.alg:
            return "bad_credential"
        try:
            key.verify(cbor2.dumps(["Signature1", protected_bytes, b"", payload]), signature)
            claims = cbor2.loads(payload)
            device = COSEKey.new(claims[CLAIM_CNF][CNF_COSE_KEY])
            credential = _Credential(park=claims[1], subject=claims[2], credential_id=claims[7],
                                     expires_at=int(claims[4]), step_seconds=int(claims.get(CLAIM_STEP, 30)),
                                     device=device)
        except Exception:  # a bad signature, or claims of the wrong shape under a good one
            return "bad_credential"
        if credential.step_seconds <= 0 or not isinstance(credential.credential_id, bytes):
            return "bad_credential"
        self._credentials[digest] = credential
        if len(self._credentials) > self._cache_size:
            self._credentials.popitem(last=False)
        return credential

    def _remember(self, key: tuple, current_step: int) -> None:
        self._accepted[key] = current_step
        if len(self._accepted) > 50_000:  # forget what no code can be replayed into any more
            oldest = current_step - self.drift_steps - 1
            self._accepted = {k: v for k, v in self._accepted.items() if k[3] >= oldest}
