"""Licence kinds, holders (identity numbers masked except to the holder) and certificates."""

from __future__ import annotations

from datetime import datetime

import strawberry
from django.conf import settings
from strawberry import relay
from strawberry.scalars import JSON

from api.context import viewer
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Public, Restricted
from approvals.codes import certificate_url
from approvals.identity import identity_unseal
from approvals.models import Certificate, CertificateHistory, CertificateStatus, Holder, HolderKind, LicenceKind
from approvals.selectors import holder_ids_acting_for
from certkit import Status

CertificateStatusEnum = strawberry.enum(CertificateStatus, name="CertificateStatus")
HolderKindEnum = strawberry.enum(HolderKind, name="HolderKind")
VerdictStatusEnum = strawberry.enum(Status, name="VerdictStatus")


@django_type(LicenceKind, name="LicenceKind", description="A kind of licence the district issues.")
class LicenceKindType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    validity_months: int | None = field(description="Null: long-term.")
    electronic: bool = field(description="Issued as a signed electronic certificate.")
    fields: JSON = field(description="Its typed fields: name, label, label_en, type, required, choices.")

    @field(select_related=["department"], only=["department__name"])
    def department(self, root: LicenceKind) -> str:
        return root.department.name


@django_type(Holder, name="Holder", description="A person or organisation that holds licences.")
class HolderType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    kind: HolderKindEnum
    name: str
    id_masked: str = field(description="The identity number, masked.")

    @field(only=["id_sealed"], description="The full identity number: only for the holder (null for anyone else).")
    def id_number(self, root: Holder, info: strawberry.Info) -> str | None:
        if root.pk not in _acting_for(info):
            return None
        return identity_unseal(root.id_sealed)


def _acting_for(info: strawberry.Info) -> frozenset[int]:
    """The holders the viewer acts for, read once per request (a list of holders asks for each)."""
    context = info.context
    request = context.get("request") if isinstance(context, dict) else getattr(context, "request", None)
    found = getattr(request, "onegrid_holder_ids", None)
    if found is None:
        found = holder_ids_acting_for(viewer(info).user)
        try:
            request.onegrid_holder_ids = found
        except AttributeError:
            pass
    return found


@strawberry.type(name="CertificateHistoryEntry")
class CertificateHistoryType:
    action: str
    from_status: CertificateStatusEnum | None
    to_status: CertificateStatusEnum
    reason: str
    at: datetime


@django_type(Certificate, name="Certificate", description="An issued licence and its status.")
class CertificateType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    number: str
    kind: LicenceKindType
    holder: HolderType
    fields: JSON
    valid_from: datetime
    valid_until: datetime | None = field(description="Null: long-term.")
    issued_at: datetime
    status: CertificateStatusEnum
    status_reason: str
    status_changed_at: datetime
    version: int
    code: str = field(description="The signed code (``OG1:...``); empty for a kind issued on paper.")

    @field(only=["code"], description="The URL its QR code carries: it opens the public verification page.")
    def url(self, root: Certificate) -> str | None:
        return certificate_url(root.code) if root.code else None

    @field(only=["code"], description="Its QR code as a PNG (a link; anyone holding the code can make it).")
    def qr_png(self, root: Certificate) -> str | None:
        return _link("verify-qr-png", root)

    @field(only=["code"], description="Its QR code as an SVG (a link).")
    def qr_svg(self, root: Certificate) -> str | None:
        return _link("verify-qr-svg", root)

    @field(only=["code"], description="The printable certificate as a PDF (a link; only while it is valid).")
    def printout(self, root: Certificate) -> str | None:
        return _link("verify-print-pdf", root)

    @field(prefetch_related=["history"])
    def history(self, root: Certificate) -> list[CertificateHistoryType]:
        return [CertificateHistoryType(action=entry.action, from_status=CertificateStatus(entry.from_status)
                                       if entry.from_status else None, to_status=CertificateStatus(entry.to_status),
                                       reason=entry.reason, at=entry.at)
                for entry in _history(root)]


def _history(root: Certificate) -> list[CertificateHistory]:
    return list(root.history.all())


def _link(name: str, root: Certificate) -> str | None:
    from urllib.parse import urlencode

    from django.urls import reverse

    return f"{settings.PUBLIC_URL}{reverse(name)}?{urlencode({'code': root.code})}" if root.code else None


@strawberry.type(name="CertificateVerdict", description="What verifying a code found.")
class CertificateVerdictType:
    status: VerdictStatusEnum
    reason: str = strawberry.field(description="ok, suspended, revoked, superseded, expired, not_yet_valid, "
                                               "bad_signature, unknown_key, withdrawn_key, unknown_certificate, ...")
    message: str = strawberry.field(description="The reason in the reader's language.")
    facts: JSON | None = strawberry.field(description="The certificate's facts, only when it is valid.")
