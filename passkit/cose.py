"""COSE_Sign1 (RFC 9052) as the kit uses it: made and opened with cbor2, signed and checked with python-cwt's
keys.  Nothing here is cryptography of our own: the signature is the key's (EdDSA or ECDSA), over the standard
``Sig_structure``."""

from __future__ import annotations

import cbor2
from cwt.cose_key_interface import COSEKeyInterface

TAG_SIGN1 = 18
#: What cbor2 raises on bytes that are not the CBOR asked for (and what unpacking a wrong shape raises).
DECODE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, cbor2.CBORDecodeError, RecursionError)


def sign1(key: COSEKeyInterface, payload: bytes, protected: dict | None = None) -> bytes:
    """``payload`` signed by ``key``: its algorithm (and its key id, if it has one) in the protected header."""
    header = {1: key.alg}
    if key.kid:
        header[4] = key.kid
    header.update(protected or {})
    protected_bytes = cbor2.dumps(header)
    signature = key.sign(cbor2.dumps(["Signature1", protected_bytes, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [protected_bytes, {}, payload, signature]))


def to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """The ``Sig_structure`` of a COSE_Sign1 without external data (RFC 9052 section 4.4), CBOR-encoded:
    ``["Signature1", protected, h'', payload]``.  Written out rather than asked of ``cbor2.dumps``, which takes
    three times as long, at every scan; ``tests/passkit`` holds the two to the same bytes."""
    return _SIGNATURE1 + _bstr_head(len(protected)) + protected + b"\x40" + _bstr_head(len(payload)) + payload


_SIGNATURE1 = b"\x84\x6aSignature1"  # an array of four, then the ten-character text


def _bstr_head(length: int) -> bytes:
    """The head of a CBOR byte string of ``length`` bytes (major type 2, RFC 8949 section 3.1)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


class Sign1:
    """An opened COSE_Sign1, not yet verified: ``Sign1.open(data)`` raises one of ``DECODE_ERRORS``."""

    __slots__ = ("protected_bytes", "protected", "payload", "signature")

    def __init__(self, protected_bytes: bytes, protected: dict, payload: bytes, signature: bytes):
        self.protected_bytes, self.protected, self.payload, self.signature = (protected_bytes, protected, payload,
                                                                             signature)

    @classmethod
    def open(cls, data: bytes) -> Sign1:
        message = cbor2.loads(data)
        protected_bytes, _unprotected, payload, signature = message.value
        protected = cbor2.loads(protected_bytes)
        if not (isinstance(protected, dict) and isinstance(payload, bytes) and isinstance(signature, bytes)):
            raise ValueError("not a COSE_Sign1")
        return cls(protected_bytes, protected, payload, signature)

    @property
    def kid(self) -> bytes | None:
        kid = self.protected.get(4)
        return kid if isinstance(kid, bytes) else None

    def verified_by(self, key: COSEKeyInterface) -> bool:
        """Whether ``key`` made the signature (with the algorithm the header names)."""
        if self.protected.get(1) != key.alg:
            return False
        try:
            key.verify(to_be_signed(self.protected_bytes, self.payload), self.signature)
        except Exception:  # python-cwt: VerifyError for a wrong signature, ValueError for a malformed one
            return False
        return True
