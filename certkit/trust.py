"""The keys a verifier trusts, by key id: from a published JWK Set or from X.509 certificates.

Key ids follow the EU certificates' convention: the COSE header carries raw bytes (OneGrid's are the first 8
bytes of the SHA-256 of the key's SubjectPublicKeyInfo; an X.509 issuer's the first 8 bytes of the SHA-256 of
the certificate); a JWK Set names them in base64 (URL-safe or standard, padded or not).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from cwt.exceptions import CWTError
from cwt.utils import jwk_to_cose_key_params

#: The COSE algorithm of each key type a verifier accepts (the EU verifiers' set).
ALGORITHMS = {"ES256": -7, "PS256": -37, "EdDSA": -8}
_ALGORITHM_IDS = frozenset(ALGORITHMS.values())


def kid_of_public_key(public_key) -> bytes:
    """OneGrid's key id of a public key: the first 8 bytes of the SHA-256 of its SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:8]


def kid_of_certificate(certificate: x509.Certificate) -> bytes:
    """The EU convention's key id of an X.509 certificate: the first 8 bytes of the SHA-256 of its DER."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


def kid_text(kid: bytes) -> str:
    """A key id as a JWK Set names it: base64url without padding."""
    return _b64(kid)


class TrustList:
    """Public keys by key id, each with the one COSE algorithm it may verify."""

    def __init__(self, keys: Mapping[bytes, COSEKeyInterface] | None = None):
        self._keys: dict[bytes, COSEKeyInterface] = dict(keys or {})

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, kid: bytes) -> bool:
        return kid in self._keys

    def key(self, kid: bytes) -> COSEKeyInterface | None:
        return self._keys.get(kid)

    def __or__(self, other: TrustList) -> TrustList:
        return TrustList({**self._keys, **other._keys})

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> TrustList:
        """The public keys of a JWK Set (``{"keys": [...]}``).  A key without ``kid`` or of an algorithm other
        than ES256, PS256 or EdDSA is left out; private members, if a careless publisher left any, are ignored.
        Raises ``ValueError`` for something that is no JWK Set."""
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise ValueError("not a JWK Set: no list of keys")
        found: dict[bytes, COSEKeyInterface] = {}
        for jwk in keys:
            if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kid"), str):
                continue
            algorithm = jwk.get("alg") or _default_algorithm(jwk)
            if algorithm not in ALGORITHMS:
                continue
            public = {name: value for name, value in jwk.items() if name not in ("d", "p", "q", "dp", "dq", "qi")}
            try:
                params = jwk_to_cose_key_params({**public, "alg": algorithm})
                params[4] = [2]  # verify only
                for kid in _kids_named(jwk["kid"]):  # python-cwt matches the header's kid with the key's own
                    found[kid] = COSEKey.new({**params, 2: kid})
            except (ValueError, TypeError, KeyError, binascii.Error, CWTError):
                continue
        return cls(found)

    @classmethod
    def from_x509(cls, certificates: Iterable[bytes | str | x509.Certificate]) -> TrustList:
        """The keys of X.509 certificates (PEM or DER), each under the EU convention's key id.  Raises
        ``ValueError`` for a certificate that cannot be read or whose key is of no accepted algorithm."""
        found: dict[bytes, COSEKeyInterface] = {}
        for item in certificates:
            certificate = item if isinstance(item, x509.Certificate) else _certificate(item)
            public_key = certificate.public_key()
            algorithm = _algorithm_of(public_key)
            pem = public_key.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
            kid = kid_of_certificate(certificate)
            found[kid] = COSEKey.from_pem(pem, alg=algorithm, kid=kid, key_ops=["verify"])
        return cls(found)


def _certificate(data: bytes | str) -> x509.Certificate:
    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        if b"-----BEGIN CERTIFICATE-----" in raw:
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as error:
        raise ValueError(f"not an X.509 certificate: {error}") from None


def _algorithm_of(public_key) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "PS256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise ValueError(f"a key of no accepted algorithm: {type(public_key).__name__}")


def _default_algorithm(jwk: Mapping[str, Any]) -> str | None:
    return {("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA", ("RSA", None): "PS256"}.get(
        (jwk.get("kty"), jwk.get("crv")))


def _kids_named(text: str) -> list[bytes]:
    """The key ids a JWK's ``kid`` may stand for: its base64 decoding (URL-safe or standard) and its own bytes."""
    kids = [text.encode("utf-8")]
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            kids.append(decode(padded.encode("ascii")))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            continue
    return list(dict.fromkeys(kids))


def kid_bytes(text: str) -> bytes:
    """The key id named ``text`` in a JWK Set of OneGrid's (base64url, unpadded)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_of(public_key, *, kid: bytes) -> dict[str, str]:
    """The public JWK (RFC 7517/7518/8037) of an ES256, PS256 or EdDSA key, named by ``kid_text(kid)``."""
    algorithm = _algorithm_of(public_key)
    jwk: dict[str, str] = {"kid": kid_text(kid), "alg": algorithm, "use": "sig"}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        jwk.update(kty="EC", crv="P-256", x=_b64(numbers.x.to_bytes(32, "big")), y=_b64(numbers.y.to_bytes(32, "big")))
    elif isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk.update(kty="RSA", n=_b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                   e=_b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")))
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk.update(kty="OKP", crv="Ed25519", x=_b64(raw))
    return jwk


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def algorithm_allowed(algorithm: object) -> bool:
    return algorithm in _ALGORITHM_IDS
