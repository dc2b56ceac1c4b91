"""Licence kinds, the viewer's wallet and the certificates they may see, and verification by anyone."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
import strawberry_django

from api.approvals.types import CertificateType, CertificateVerdictType, LicenceKindType
from api.approvals.views import MAX_TEXT, verdict_json, verdict_of
from api.context import viewer
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from approvals.models import Certificate, LicenceKind
from approvals.selectors import certificates_held_by, certificates_visible_to, licence_kinds_issued
from certkit import Status


@strawberry.type
class ApprovalsQuery:
    @strawberry_django.connection(CursorConnection[LicenceKindType], description="The kinds of licence issued now.")
    def licence_kinds(self, electronic: bool | None = None) -> Iterable[LicenceKind]:
        kinds = licence_kinds_issued()
        return (kinds.filter(electronic=electronic) if electronic is not None else kinds).order_by("code")

    @strawberry_django.connection(CursorConnection[CertificateType], permission_classes=[IsAuthenticated],
                                  description="The wallet: the certificates the viewer holds or acts for, newest "
                                              "first.")
    def my_certificates(self, info: strawberry.Info) -> Iterable[Certificate]:
        return certificates_held_by(viewer(info).user).order_by("-issued_at", "-id")

    @strawberry_django.connection(CursorConnection[CertificateType], permission_classes=[IsAuthenticated],
                                  description="Certificates the viewer may see (their department's, or all for "
                                              "the district-wide roles), by number.")
    def certificates(self, info: strawberry.Info, number: str | None = None) -> Iterable[Certificate]:
        certificates = certificates_visible_to(viewer(info).user)
        if number is not None:
            certificates = certificates.filter(number=number.strip()[:40])
        return certificates.order_by("-issued_at", "-id")

    @strawberry.field(description="Verify a certificate code (or the URL its QR code carries), as anyone may: the "
                                  "same verdict as the /verify/ page.  No sign-in needed.")
    def verify_certificate(self, code: str) -> CertificateVerdictType:
        answer = verdict_json(verdict_of(code[:MAX_TEXT + 1]))
        return CertificateVerdictType(status=Status(answer["status"]), reason=answer["reason"], message=answer["message"],
                                      facts=answer["certificate"])
