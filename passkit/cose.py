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
            key.verify(cbor2.dumps(["Signature1", self.protected_bytes, b"", self.payload]), self.signature)
        except Exception:  # python-cwt: VerifyError for a wrong signature, ValueError for a malformed one
            return False
        return True
