"""A certificate's signed code (COSE_Sign1 over a CWT, zlib, Base45, ``OG1:``) and its online verdict.

The code is signed once, at issue, and kept: what a holder shows never changes while the certificate lives.
Online verification runs the offline kit (``certkit``) with the keys OneGrid publishes, then reads the status
from the database, so a suspension or revocation shows at once (the published status list within its ttl).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cbor2
from cwt import COSE
from django.conf import settings

from approvals.keys import signer, signing_key_active, trust_list, withdrawn_kids
from approvals.models import Certificate, CertificateStatus, KeyState, SigningKey
from approvals.statuslist import status_list_uri
from certkit import Status, TrustList, Verdict, envelope_encode, kid_text, verify
from certkit.codes import code_url
from certkit.status import CLAIM_STATUS
from certkit.verify import CLAIM_CERTIFICATE

#: What the claims' certificate map holds, by its short keys.
FACTS = {"n": "number", "k": "kind", "kn": "kind_name", "h": "holder", "hid": "holder_id", "d": "department",
         "f": "fields"}


def certificate_claims(certificate: Certificate) -> dict:
    """The CWT claims of ``certificate``: issuer, times, its id, its status entry and its facts."""
    claims = {
        1: settings.CERTIFICATE_ISSUER,
        6: int(certificate.issued_at.timestamp()),
        5: int(certificate.valid_from.timestamp()),
        7: certificate.number.encode(),
        CLAIM_CERTIFICATE: {
            "v": 1, "n": certificate.number, "k": certificate.kind.code, "kn": certificate.kind.name,
            "h": certificate.holder.name, "hid": certificate.holder.id_masked, "d": certificate.department.name,
            "f": certificate.fields,
        },
    }
    if certificate.valid_until is not None:
        claims[4] = int(certificate.valid_until.timestamp())
    if certificate.status_list_id is not None:
        claims[CLAIM_STATUS] = {"status_list": {"idx": certificate.status_index,
                                                "uri": status_list_uri(certificate.status_list.number)}}
    return claims


def certificate_sign(certificate: Certificate) -> tuple[SigningKey, str]:
    """The key that signs now and the code it signs ``certificate`` into."""
    key = signing_key_active()
    private = signer(key)
    cose = COSE.new().encode_and_sign(cbor2.dumps(certificate_claims(certificate)), private,
                                      protected={1: -7, 4: private.kid})
    return key, envelope_encode(cose, prefix=settings.CERTIFICATE_CODE_PREFIX)


def certificate_url(code: str) -> str:
    """The URL a certificate's QR code carries: it opens the public page in any camera app, and a verifier app
    finds the code in it (``certkit.code_from_text``)."""
    return code_url(code, base=(settings.PUBLIC_URL + "/V/").upper())


@dataclass(frozen=True)
class OnlineVerdict:
    status: Status
    reason: str
    #: The certificate, only when the code is one OneGrid signed and still knows.
    certificate: Certificate | None = None
    verdict: Verdict | None = None

    @property
    def valid(self) -> bool:
        return self.status is Status.VALID


_FROM_DATABASE = {CertificateStatus.SUSPENDED: (Status.SUSPENDED, "suspended"),
                  CertificateStatus.REVOKED: (Status.REVOKED, "revoked"),
                  CertificateStatus.SUPERSEDED: (Status.SUPERSEDED, "superseded"),
                  CertificateStatus.EXPIRED: (Status.EXPIRED, "expired")}


def certificate_verify(text: str) -> OnlineVerdict:
    """The verdict on a scanned or pasted code (or the URL carrying one) as OneGrid knows it now.  Never raises
    for anything in ``text``."""
    verdict = verify(text if isinstance(text, str) else "", trust=_trust(), status_lists=None,
                     prefix=settings.CERTIFICATE_CODE_PREFIX)
    if verdict.claims is None:
        if verdict.reason == "unknown_key" and verdict.kid in withdrawn_kids():
            return OnlineVerdict(Status.INVALID, "withdrawn_key", verdict=verdict)
        return OnlineVerdict(verdict.status, verdict.reason, verdict=verdict)
    if verdict.status is Status.INVALID:  # not yet valid, or a status the list could not have said
        return OnlineVerdict(verdict.status, verdict.reason, verdict=verdict)
    number = verdict.claims.certificate.get("n")
    certificate = (Certificate.objects.select_related("kind", "holder", "department", "key")
                   .filter(number=number if isinstance(number, str) else None).first())
    if certificate is None or certificate.key is None or certificate.key.public_jwk.get("kid") != _kid_text(
            verdict.kid):
        return OnlineVerdict(Status.INVALID, "unknown_certificate", verdict=verdict)
    if certificate.status in _FROM_DATABASE:
        status, reason = _FROM_DATABASE[certificate.status]
        return OnlineVerdict(status, reason, certificate, verdict)
    if verdict.status is Status.EXPIRED:
        return OnlineVerdict(Status.EXPIRED, "expired", certificate, verdict)
    return OnlineVerdict(Status.VALID, "ok", certificate, verdict)


def _kid_text(kid: bytes | None) -> str | None:
    return kid_text(kid) if kid is not None else None


def _trust() -> TrustList:
    """The published keys, parsed once per set of keys (a rotation or withdrawal makes a new set)."""
    state = tuple(SigningKey.objects.exclude(state=KeyState.WITHDRAWN).order_by("kid").values_list("kid", "state"))
    return _trust_of(state)


@lru_cache(maxsize=4)
def _trust_of(state: tuple) -> TrustList:
    return trust_list()
