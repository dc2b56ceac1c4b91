"""Credentials (park-signed CWTs binding a device key), pass codes (device-signed COSE_Sign1 per time step) and
their verification at a gate, offline (``GateVerifier.verify``) or by the server (``GateVerifier.check``)."""

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
from nacl.signing import VerifyKey

from certkit import TrustList
from certkit.b45 import b45decode
from passkit.cose import DECODE_ERRORS, Sign1, sign1
from passkit.rules import CLAIM_ACCESS, CLAIM_NOT_BEFORE, Access, GateRule, access_refusal

PASS_PREFIX = "OGP1:"
DEFAULT_STEP_SECONDS = 30
#: COSE header parameter ``kcwt`` (RFC 9528 section 3.5.3): a CWT carrying the signer's key.
HEADER_KCWT = 13
#: CWT claim ``cnf`` (RFC 8747) and its ``COSE_Key`` member.
CLAIM_CNF, CNF_COSE_KEY = 8, 1
#: Private CWT claim: the credential's time step in seconds.
CLAIM_STEP = -65538
#: A code is a few hundred characters; anything far longer is refused unread.
MAX_PASS_CHARS = 1200
EDDSA = -8
DIRECTIONS = ("in", "out")


def credential_issue(*, park_key: COSEKeyInterface, park: str, subject: str, device_key: COSEKeyInterface,
                     credential_id: bytes, issued_at: int, expires_at: int, access: Access,
                     step_seconds: int = DEFAULT_STEP_SECONDS) -> bytes:
    """The CWT the park signs once for a phone: ``subject`` (an employee, a member of staff or a visitor's
    invitation) may pass at ``park`` as ``access`` says until ``expires_at`` (from ``access.not_before``, if
    set) with codes the ``device_key`` signs.  COSE_Sign1 by the park key, its key id in the protected header."""
    public = {label: value for label, value in device_key.to_dict().items() if label != -4}  # never the private part
    public[4] = [2]  # key_ops: verify
    claims = {1: park, 2: subject, 4: int(expires_at), 6: int(issued_at), 7: credential_id,
              CLAIM_CNF: {CNF_COSE_KEY: public}, CLAIM_STEP: int(step_seconds), CLAIM_ACCESS: access.claim()}
    if access.not_before:
        claims[CLAIM_NOT_BEFORE] = int(access.not_before)
    return sign1(park_key, cbor2.dumps(claims))


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


@dataclass(frozen=True, slots=True)
class PassVerdict:
    ok: bool
    #: ``ok``, or why not: ``malformed``, ``wrong_prefix``, ``unknown_key`` (the credential's signer),
    #: ``bad_credential`` (the park's signature), ``wrong_park``, ``expired``, ``revoked``, ``bad_signature``
    #: (the device's), ``stale`` / ``future`` (more than the tolerated drift), ``not_here``, ``not_yet``,
    #: ``closed`` (``passkit.rules``), ``replayed``.
    reason: str
    subject: str | None = None
    credential_id: bytes | None = None
    step: int | None = None
    #: Steps between the code and the gate's clock (-1, 0 or +1 when accepted).
    drift: int = 0


class _Ed25519:
    """A phone's Ed25519 key, checked through libsodium (PyNaCl, pyca's binding): on our machines its
    verification takes about half the time of OpenSSL's behind python-cwt, and a gate checks one per scan."""

    alg = EDDSA
    __slots__ = ("_key",)

    def __init__(self, x: bytes):
        self._key = VerifyKey(x)

    def verify(self, message: bytes, signature: bytes) -> None:
        self._key.verify(message, signature)  # raises BadSignatureError


def _device_key(cose_key: dict):
    """The confirmation key of a credential: Ed25519 through libsodium, any other through python-cwt."""
    if cose_key.get(1) == 1 and cose_key.get(-1) == 6 and isinstance(cose_key.get(-2), bytes):  # OKP, Ed25519
        if cose_key.get(3, EDDSA) != EDDSA:
            raise ValueError("an Ed25519 key is for EdDSA")
        return _Ed25519(cose_key[-2])
    return COSEKey.new(cose_key)


@dataclass(frozen=True)
class _Credential:
    park: str
    subject: str
    credential_id: bytes
    expires_at: int
    step_seconds: int
    device: object  # _Ed25519 or a python-cwt key: .alg, .verify(message, signature)
    access: Access


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

    def verify(self, text: str, *, gate: GateRule, direction: str, now: float | None = None) -> PassVerdict:
        """The verdict on a scanned code at ``gate`` going ``direction`` at the gate's clock ``now``; accepting it
        records it, so the same code at the same gate and direction is ``replayed``.  Never raises."""
        now = time.time() if now is None else now
        verdict = self.check(text, gate=gate, now=now)
        if not verdict.ok:
            return verdict
        key = (verdict.credential_id, gate.code, direction, verdict.step)
        if key in self._accepted:
            return PassVerdict(False, "replayed", verdict.subject, verdict.credential_id, verdict.step,
                               verdict.drift)
        self._remember(key, verdict.step - verdict.drift)
        return verdict

    def check(self, text: str, *, gate: GateRule, now: float) -> PassVerdict:
        """Everything ``verify`` decides but the replay, which the caller keeps (the server keeps it in its
        database, shared by every process).  Never raises."""
        if not isinstance(text, str) or len(text) > MAX_PASS_CHARS:
            return PassVerdict(False, "malformed")
        text = text.strip()
        if not text.startswith(PASS_PREFIX):
            return PassVerdict(False, "wrong_prefix")
        try:
            code = Sign1.open(b45decode(text[len(PASS_PREFIX):]))
            step = cbor2.loads(code.payload)[1]
            credential_bytes = code.protected[HEADER_KCWT]
        except DECODE_ERRORS:
            return PassVerdict(False, "malformed")
        if not (isinstance(step, int) and isinstance(credential_bytes, bytes)):
            return PassVerdict(False, "malformed")
        credential = self._credential(credential_bytes)
        if isinstance(credential, str):
            return PassVerdict(False, credential)
        found = (credential.subject, credential.credential_id, step)
        if credential.park != self.park:
            return PassVerdict(False, "wrong_park", *found)
        if credential.expires_at <= now:
            return PassVerdict(False, "expired", *found)
        if credential.credential_id in self.revoked:
            return PassVerdict(False, "revoked", *found)
        if not code.verified_by(credential.device):
            return PassVerdict(False, "bad_signature", *found)
        drift = step - int(now // credential.step_seconds)
        if drift < -self.drift_steps:
            return PassVerdict(False, "stale", *found, drift)
        if drift > self.drift_steps:
            return PassVerdict(False, "future", *found, drift)
        refusal = access_refusal(credential.access, gate, now)
        if refusal is not None:
            return PassVerdict(False, refusal, *found, drift)
        return PassVerdict(True, "ok", *found, drift)

    def _credential(self, data: bytes) -> _Credential | str:
        """The credential, verified against the park's keys once and remembered; or why not."""
        digest = hashlib.sha256(data).digest()
        known = self._credentials.get(digest)
        if known is not None:
            self._credentials.move_to_end(digest)
            return known
        try:
            message = Sign1.open(data)
        except DECODE_ERRORS:
            return "malformed"
        key = self.keys.key(message.kid) if message.kid is not None else None
        if key is None:
            return "unknown_key"
        if not message.verified_by(key):
            return "bad_credential"
        try:
            claims = cbor2.loads(message.payload)
            device = _device_key(claims[CLAIM_CNF][CNF_COSE_KEY])
            credential = _Credential(park=claims[1], subject=claims[2], credential_id=claims[7],
                                     expires_at=int(claims[4]), step_seconds=int(claims.get(CLAIM_STEP, 30)),
                                     device=device,
                                     access=Access.from_claim(claims.get(CLAIM_ACCESS), claims.get(CLAIM_NOT_BEFORE)))
        except Exception:  # claims of the wrong shape under a good signature
            return "bad_credential"
        if (credential.step_seconds <= 0 or not isinstance(credential.credential_id, bytes)
                or credential.access is None):
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
