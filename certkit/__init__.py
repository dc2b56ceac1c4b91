"""The offline verification kit for signed e-certificates: no Django, nothing of OneGrid's.

A counter app or a gate embeds this package with its four dependencies (python-cwt for COSE, cbor2, base45 and
the standard library's zlib).  Given the issuer's published keys (a JWK Set, or X.509 certificates) and its
status lists, it verifies a scanned code and says why not::

    trust = TrustList.from_jwks(json.loads(jwks_bytes))
    verdict = verify(scanned_text, trust=trust, status_lists={uri: status_list_token_bytes})
    if verdict.status is Status.VALID: ...

The shape is the EU digital COVID certificate's: a CWT (CBOR claims) signed as COSE_Sign1, compressed with zlib,
encoded with Base45 and prefixed (``OG1:`` for OneGrid; the prefix is a parameter), so the kit checks any
issuer's codes of that shape.  The rules are the EU verifiers': the key id from the protected header before the
unprotected one, the algorithm from the protected header, ``iat``/``nbf``/``exp`` against a given validation
clock, ES256, PS256 and EdDSA keys.  Revocation is the IETF Token Status List (draft-ietf-oauth-status-list):
the certificate's ``status`` claim (65535) points at an index in a signed list; a list that cannot be had or is
out of date gives ``Status.UNKNOWN``, never ``VALID``.
"""

from certkit.codes import DEFAULT_PREFIX, MAX_CODE_CHARS, CodeError, code_from_text, envelope_decode, envelope_encode
from certkit.status import StatusBits, StatusListError, StatusListToken, StatusValue
from certkit.trust import TrustList, jwk_of, kid_of_certificate, kid_of_public_key, kid_text
from certkit.verify import Claims, Status, Verdict, verify

__all__ = [
    "DEFAULT_PREFIX", "MAX_CODE_CHARS", "CodeError", "code_from_text", "envelope_decode", "envelope_encode",
    "StatusBits", "StatusListError", "StatusListToken", "StatusValue",
    "TrustList", "jwk_of", "kid_of_certificate", "kid_of_public_key", "kid_text",
    "Claims", "Status", "Verdict", "verify",
]
