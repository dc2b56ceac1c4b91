"""One verdict for one scanned code."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cbor2

from certkit.codes import DEFAULT_PREFIX, CodeError, code_from_text, envelope_decode
from certkit.status import CLAIM_STATUS, StatusListError, StatusListToken, StatusValue
from certkit.trust import TrustList, algorithm_allowed

#: The private CWT claim that carries a certificate's facts (claim keys below -65536 are private use).
CLAIM_CERTIFICATE = -65537
#: How far a signer's clock may run ahead of the verifier's before ``iat`` or ``nbf`` count as the future.
DEFAULT_LEEWAY_SECONDS = 300

#: Where a status list comes from: a mapping of URI to the signed list (bytes) or a list already verified, or
#: a function of the URI that returns either (or None when it cannot be had).
StatusSource = Mapping[str, "bytes | StatusListToken"] | Callable[[str], "bytes | StatusListToken | None"]


class Status(enum.StrEnum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"
    INVALID = "INVALID"
    #: The signature holds but the status cannot be told (no status list, or none fresh enough): never VALID.
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Claims:
    """What a verified code says."""

    issuer: str | None
    issued_at: int | None
    not_before: int | None
    expires_at: int | None
    certificate_id: bytes | None
    status_uri: str | None
    status_index: int | None
    certificate: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Verdict:
    status: Status
    #: Why, as a code: ``ok``, ``revoked``, ``suspended``, ``superseded``, ``expired``, ``not_yet_valid``,
    #: ``bad_signature``, ``unknown_key``, ``unsupported_algorithm``, ``not_cose``, ``malformed_claims``, the
    #: envelope's ``CodeError`` reasons (``too_large``, ``wrong_prefix``, ``not_base45``, ``not_zlib``,
    #: ``too_large_inflated``) and, for UNKNOWN, ``status_unavailable``.
    reason: str
    #: Set once the signature is verified (so also for EXPIRED, REVOKED, ...), never for a forged code.
    claims: Claims | None = None
    kid: bytes | None = None
    detail: str = ""

    @property
    def valid(self) -> bool:
        return self.status is Status.VALID


_BY_VALUE = {StatusValue.INVALID: (Status.REVOKED, "revoked"), StatusValue.SUSPENDED: (Status.SUSPENDED, "suspended"),
             StatusValue.SUPERSEDED: (Status.SUPERSEDED, "superseded")}


def verify(
    text: str,
    *,
    trust: TrustList,
    status_lists: StatusSource | None = None,
    now: float | datetime | None = None,
    prefix: str = DEFAULT_PREFIX,
    leeway: int = DEFAULT_LEEWAY_SECONDS,
) -> Verdict:
    """The verdict on ``text`` (a bare code or the URL that carries one) at the validation clock ``now``.

    The order is the EU verifiers': the envelope, the COSE structure, the key by id (protected header first),
    the signature, the times, then the status.  Never raises for anything in ``text``.
    """
    now = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else float(now)
    try:
        cose = envelope_decode(code_from_text(text, prefix=prefix) if isinstance(text, str) else "", prefix=prefix)
    except CodeError as error:
        return Verdict(Status.INVALID, error.reason, detail=str(error))
    try:
        message = cbor2.loads(cose)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError) as error:
        return Verdict(Status.INVALID, "not_cose", detail=str(error)[:200])
    if isinstance(message, cbor2.CBORTag) and message.tag == 61:  # a CWT tag around the COSE message
        message = message.value
    if not (isinstance(message, cbor2.CBORTag) and message.tag == 18 and isinstance(message.value, list)
            and len(message.value) == 4 and isinstance(message.value[0], bytes)
            and isinstance(message.value[1], dict) and isinstance(message.value[2], bytes)
            and isinstance(message.value[3], bytes)):
        return Verdict(Status.INVALID, "not_cose", detail="not a COSE_Sign1 message")
    try:
        protected = cbor2.loads(message.value[0]) if message.value[0] else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as error:
        return Verdict(Status.INVALID, "not_cose", detail=f"protected header: {error}"[:200])
    if not isinstance(protected, dict):
        return Verdict(Status.INVALID, "not_cose", detail="protected header is not a map")
    kid = protected.get(4, message.value[1].get(4))
    if not isinstance(kid, bytes):
        return Verdict(Status.INVALID, "unknown_key", detail="no key id")
    algorithm = protected.get(1)
    if not algorithm_allowed(algorithm):
        return Verdict(Status.INVALID, "unsupported_algorithm", kid=kid, detail=f"alg {algorithm!r}")
    key = trust.key(kid)
    if key is None:
        return Verdict(Status.INVALID, "unknown_key", kid=kid)
    if key.alg != algorithm:
        return Verdict(Status.INVALID, "bad_signature", kid=kid, detail="the key is not of the header's algorithm")
    # COSE_Sign1 (RFC 9052 section 4.4): the signature is over ["Signature1", protected, external_aad, payload],
    # checked by python-cwt's key, as its COSE.decode does once it has parsed what is parsed above already.
    to_be_signed = cbor2.dumps(["Signature1", message.value[0], b"", message.value[2]])
    try:
        key.verify(to_be_signed, message.value[3])
    except Exception as error:  # python-cwt: VerifyError for a bad signature, ValueError for a malformed one
        return Verdict(Status.INVALID, "bad_signature", kid=kid, detail=str(error)[:200])
    claims = _claims(message.value[2])
    if claims is None:
        return Verdict(Status.INVALID, "malformed_claims", kid=kid)
    if any(moment is not None and moment > now + leeway for moment in (claims.issued_at, claims.not_before)):
        return Verdict(Status.INVALID, "not_yet_valid", claims, kid)
    expired = claims.expires_at is not None and claims.expires_at <= now
    if claims.status_uri is None:
        return Verdict(Status.EXPIRED, "expired", claims, kid) if expired else Verdict(Status.VALID, "ok", claims, kid)
    try:
        value = _status_of(claims, trust, status_lists, now)
    except StatusListError as error:
        if expired:
            return Verdict(Status.EXPIRED, "expired", claims, kid)
        return Verdict(Status.UNKNOWN, "status_unavailable", claims, kid, detail=str(error))
    if value in _BY_VALUE:
        status, reason = _BY_VALUE[value]
        return Verdict(status, reason, claims, kid)
    if expired:
        return Verdict(Status.EXPIRED, "expired", claims, kid)
    if value != StatusValue.VALID:
        return Verdict(Status.INVALID, "revoked", claims, kid, detail=f"status {value}")
    return Verdict(Status.VALID, "ok", claims, kid)


def _claims(payload: bytes) -> Claims | None:
    try:
        raw = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    times = [raw.get(key) for key in (6, 5, 4)]
    if any(value is not None and (not isinstance(value, int) or isinstance(value, bool)) for value in times):
        return None
    reference = raw.get(CLAIM_STATUS, {})
    listed = reference.get("status_list") if isinstance(reference, dict) else None
    uri = index = None
    if listed is not None:
        if not (isinstance(listed, dict) and isinstance(listed.get("uri"), str) and isinstance(listed.get("idx"), int)
                and listed["idx"] >= 0):
            return None
        uri, index = listed["uri"], listed["idx"]
    certificate = raw.get(CLAIM_CERTIFICATE, {})
    issuer, cti = raw.get(1), raw.get(7)
    if not isinstance(certificate, dict) or (issuer is not None and not isinstance(issuer, str)) or (
            cti is not None and not isinstance(cti, bytes)):
        return None
    return Claims(issuer=issuer, issued_at=times[0], not_before=times[1], expires_at=times[2], certificate_id=cti,
                  status_uri=uri, status_index=index, certificate=certificate, raw=raw)


def _status_of(claims: Claims, trust: TrustList, source: StatusSource | None, now: float) -> Any:
    if source is None:
        raise StatusListError("malformed", "no status list given")
    try:
        found = source(claims.status_uri) if callable(source) else source.get(claims.status_uri)
    except Exception as error:  # a fetcher that failed: the status cannot be told
        raise StatusListError("malformed", f"fetching the status list failed: {error}") from None
    if found is None:
        raise StatusListError("malformed", f"no status list for {claims.status_uri}")
    if not isinstance(found, StatusListToken):
        found = StatusListToken.verify(found, trust, uri=claims.status_uri, now=now)
    elif found.uri != claims.status_uri:
        raise StatusListError("wrong_uri", f"{found.uri} is not {claims.status_uri}")
    elif found.expires_at is not None and found.expires_at <= now:
        raise StatusListError("expired", f"expired at {found.expires_at}")
    return found.status(claims.status_index)
