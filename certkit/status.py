"""Status lists: the IETF Token Status List (draft-ietf-oauth-status-list) in its CWT form.

A list is ``bits`` bits per certificate (OneGrid uses 2), packed least significant first within each byte,
compressed with zlib (RFC 1950), carried in a signed CWT: ``sub`` (2) the list's URI, ``iat`` (6), ``exp`` (4),
``ttl`` (65534) how long a fetched list may be reused, ``status_list`` (65533) ``{"bits": n, "lst": bytes}``,
the protected header's ``typ`` (16) ``application/statuslist+cwt``.  A certificate's ``status`` claim (65535)
is ``{"status_list": {"idx": i, "uri": uri}}``.
"""

from __future__ import annotations

import enum
import time
import zlib
from dataclasses import dataclass

import cbor2
from cwt import COSE

from certkit.trust import TrustList

#: CWT claim and COSE header keys of the Token Status List.
CLAIM_STATUS = 65535
CLAIM_STATUS_LIST = 65533
CLAIM_TTL = 65534
HEADER_TYP = 16
STATUS_LIST_TYP = "application/statuslist+cwt"
#: The most bytes a list may inflate to (2**24 entries at 4 bits); a larger one is refused as a bomb.
MAX_LIST_BYTES = 1 << 23
#: The most bytes of a signed list a verifier reads.
MAX_TOKEN_BYTES = 1 << 21


class StatusValue(enum.IntEnum):
    """The draft's values: 0 valid, 1 invalid (revoked), 2 suspended; 3 is application-specific, OneGrid's
    "superseded by a renewal"."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    SUPERSEDED = 3


class StatusListError(ValueError):
    """A status list that cannot be used: ``reason`` is ``malformed``, ``unknown_key``, ``bad_signature``,
    ``wrong_type``, ``wrong_uri``, ``expired``, ``out_of_range``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class StatusBits:
    """A bit array of ``size`` statuses of ``bits`` bits each, as the draft packs them."""

    def __init__(self, size: int, bits: int = 2, data: bytes | bytearray | None = None):
        if bits not in (1, 2, 4, 8):
            raise ValueError("bits must be 1, 2, 4 or 8")
        length = (size * bits + 7) // 8
        if data is not None and len(data) != length:
            raise ValueError(f"{len(data)} bytes for {size} statuses of {bits} bits; expected {length}")
        self.size, self.bits = size, bits
        self.data = bytearray(data) if data is not None else bytearray(length)

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.size:
            raise IndexError(index)
        bit = index * self.bits
        return (self.data[bit >> 3] >> (bit & 7)) & ((1 << self.bits) - 1)

    def __setitem__(self, index: int, value: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(index)
        mask = (1 << self.bits) - 1
        if not 0 <= value <= mask:
            raise ValueError(f"a status of {self.bits} bits is 0..{mask}")
        bit = index * self.bits
        byte, shift = bit >> 3, bit & 7
        self.data[byte] = (self.data[byte] & ~(mask << shift)) | (value << shift)

    def compressed(self) -> bytes:
        return zlib.compress(bytes(self.data), 9)

    @classmethod
    def from_compressed(cls, lst: bytes, bits: int) -> StatusBits:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(lst, MAX_LIST_BYTES)
        except zlib.error as error:
            raise StatusListError("malformed", f"lst: {error}") from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise StatusListError("malformed", "lst is truncated or too large")
        return cls(len(data) * 8 // bits, bits, data)


@dataclass(frozen=True)
class StatusListToken:
    """A verified status list: its URI, when it was issued, until when it may be used, and its statuses."""

    uri: str
    issued_at: float
    expires_at: float | None
    ttl: int | None
    statuses: StatusBits

    def status(self, index: int) -> StatusValue | int:
        """The status at ``index``; raises ``StatusListError("out_of_range")`` past the list's end."""
        try:
            value = self.statuses[index]
        except IndexError:
            raise StatusListError("out_of_range", f"index {index} of {self.statuses.size}") from None
        try:
            return StatusValue(value)
        except ValueError:
            return value

    @classmethod
    def verify(cls, token: bytes, trust: TrustList, *, uri: str | None = None, now: float | None = None,
               ) -> StatusListToken:
        """Check a signed status list (COSE_Sign1 bytes) against ``trust``, the ``uri`` it was fetched for and
        the clock ``now`` (seconds since the epoch); raises ``StatusListError``."""
        now = time.time() if now is None else now
        if not isinstance(token, bytes | bytearray) or len(token) > MAX_TOKEN_BYTES:
            raise StatusListError("malformed", "not bytes, or too large")
        try:
            message = cbor2.loads(token)
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as error:
            raise StatusListError("malformed", str(error)) from None
        if not (isinstance(message, cbor2.CBORTag) and message.tag == 18 and isinstance(message.value, list)
                and len(message.value) == 4 and isinstance(message.value[0], bytes)):
            raise StatusListError("malformed", "not a COSE_Sign1")
        try:
            protected = cbor2.loads(message.value[0]) if message.value[0] else {}
        except (cbor2.CBORDecodeError, ValueError) as error:
            raise StatusListError("malformed", str(error)) from None
        if not isinstance(protected, dict) or protected.get(HEADER_TYP) != STATUS_LIST_TYP:
            raise StatusListError("wrong_type", "the protected header's typ is not application/statuslist+cwt")
        key = trust.key(protected.get(4, b""))
        if key is None:
            raise StatusListError("unknown_key")
        try:
            payload = COSE.new().decode(message, key)
            claims = cbor2.loads(payload)
        except Exception as error:  # python-cwt raises VerifyError, DecodeError or ValueError
            raise StatusListError("bad_signature", str(error)) from None
        if not isinstance(claims, dict):
            raise StatusListError("malformed", "claims are not a map")
        body, subject = claims.get(CLAIM_STATUS_LIST), claims.get(2)
        if not (isinstance(body, dict) and isinstance(body.get("lst"), bytes) and body.get("bits") in (1, 2, 4, 8)
                and isinstance(subject, str) and isinstance(claims.get(6), int | float)):
            raise StatusListError("malformed", "missing sub, iat or status_list")
        if uri is not None and subject != uri:
            raise StatusListError("wrong_uri", f"{subject} is not {uri}")
        expires_at = claims.get(4)
        if expires_at is not None and (not isinstance(expires_at, int | float) or expires_at <= now):
            raise StatusListError("expired", f"expired at {expires_at}")
        ttl = claims.get(CLAIM_TTL)
        return cls(uri=subject, issued_at=claims[6], expires_at=expires_at,
                   ttl=ttl if isinstance(ttl, int) else None,
                   statuses=StatusBits.from_compressed(body["lst"], body["bits"]))
