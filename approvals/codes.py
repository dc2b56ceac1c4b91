"""A certificate's signed code (COSE_Sign1 over a CWT, zlib, Base45, ``OG1:``) and its online verdict.

The code is signed once, at issue, and kept: what a holder shows never changes while the certificate lives.
Online verification runs the offline kit (``certkit``) with the keys OneGrid publishes, then reads the status
from the database, so a suspension or revocation shows at once (the published status list within its ttl).
"""

from __future__ import annotations

from dataclasses import dataclass

import cbor2
from cwt import COSE
from django.conf import settings

from approvals.keys import signer, signing_key_active
from approvals.models import Certificate, CertificateStatus, KeyState, SigningKey
from approvals.statuslist import status_list_uri
from certkit import Status, TrustList, Verdict, envelope_encode, kid_text, verify
from certkit.codes import code_url
from certkit.status import CLAIM_STATUS
from certkit.verify import CLAIM_CERTIFICATE

#: What the claims' certificate map holds, by its short keys (its number is the CWT ID, claim 7): the format's
#: version, the licence kind's code and name, the holder's name and masked identity number, the issuing
#: department and the kind's typed fields.
FACTS = {"v": "version", "k": "kind", "kn": "kind_name", "h": "holder", "hid": "holder_id", "d": "department",
         "f": "fields"}


def certificate_claims(certificate: Certificate) -> dict:
    """The CWT claims of ``certificate``: issuer, times, its id, its status entry and its facts."""
    claims = {
        1: settings.CERTIFICATE_ISSUER,
        6: int(certificate.issued_at.timestamp()),
        5: int(certificate.valid_from.timestamp()),
        7: certificate.number.encode(),
        CLAIM_CERTIFICATE: {
            "v": 1, "k": certificate.kind.code, "kn": certificate.kind.name,
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
                  CertificateStatus.PENDING: (Status.SUSPENDED, "not_in_force"),
                  CertificateStatus.REVOKED: (Status.REVOKED, "revoked"),
                  CertificateStatus.SUPERSEDED: (Status.SUPERSEDED, "superseded"),
                  CertificateStatus.EXPIRED: (Status.EXPIRED, "expired")}


#: What a verdict reads of a certificate: its status and the facts a valid one shows (api.approvals.views).
VERDICT_COLUMNS = ("number", "status", "valid_from", "valid_until", "fields", "kind__name", "kind__name_en",
                   "kind__fields", "holder__name", "holder__id_masked", "department__name", "department__name_en",
                   "key__kid", "key__state")


def certificate_verify(text: str) -> OnlineVerdict:
    """The verdict on a scanned or pasted code (or the URL carrying one) as OneGrid knows it now: the offline
    kit's, then the certificate's row with its signing key (one query), which says whether the key was withdrawn
    and the certificate's status this moment.  Never raises for anything in ``text``."""
    text = text if isinstance(text, str) else ""
    verdict = verify(text, trust=_known_keys.trust, status_lists=None, prefix=settings.CERTIFICATE_CODE_PREFIX)
    if verdict.reason == "unknown_key" and verdict.kid is not None and _known_keys.learn(verdict.kid):
        verdict = verify(text, trust=_known_keys.trust, status_lists=None, prefix=settings.CERTIFICATE_CODE_PREFIX)
    if verdict.claims is None or verdict.status is Status.INVALID:  # forged, malformed, or not yet valid
        return OnlineVerdict(verdict.status, verdict.reason, verdict=verdict)
    number = verdict.claims.certificate_id.decode(errors="replace") if verdict.claims.certificate_id else None
    found = (Certificate.objects.filter(number=number)
             .select_related("kind", "holder", "department", "key").only(*VERDICT_COLUMNS).order_by()[:1])
    certificate = found[0] if found else None
    if certificate is None or certificate.key is None or certificate.key.kid != kid_text(verdict.kid):
        return OnlineVerdict(Status.INVALID, "unknown_certificate", verdict=verdict)
    if certificate.key.state == KeyState.WITHDRAWN:
        return OnlineVerdict(Status.INVALID, "withdrawn_key", verdict=verdict)
    if certificate.status in _FROM_DATABASE:
        status, reason = _FROM_DATABASE[certificate.status]
        return OnlineVerdict(status, reason, certificate, verdict)
    if verdict.status is Status.EXPIRED:
        return OnlineVerdict(Status.EXPIRED, "expired", certificate, verdict)
    return OnlineVerdict(Status.VALID, "ok", certificate, verdict)


class _KnownKeys:
    """Every public key OneGrid has signed with, the withdrawn included (a code of a withdrawn key is told by
    its certificate's row), parsed once per process.  A key id is a digest of its public key, so what is known
    stays true; the keys are read again only when a code names a key id not known yet (a rotation elsewhere)."""

    def __init__(self):
        self.trust = TrustList()

    def learn(self, kid: bytes) -> bool:
        """Read the keys again; whether ``kid`` is among them now."""
        self.trust = TrustList.from_jwks({"keys": list(SigningKey.objects.values_list("public_jwk", flat=True))})
        return kid in self.trust


_known_keys = _KnownKeys()
