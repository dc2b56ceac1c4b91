"""Licence kinds, holders (identity numbers masked except to the holder), certificates, and applications."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from django.conf import settings
from django.utils import timezone
from strawberry import relay
from strawberry.scalars import JSON

from api.context import viewer
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Public, Restricted
from approvals.codes import certificate_url
from approvals.identity import identity_unseal
from approvals.models import (
    Application,
    ApplicationKind,
    ApplicationPurpose,
    ApplicationStatus,
    Certificate,
    CertificateHistory,
    CertificateStatus,
    Holder,
    HolderKind,
    LicenceKind,
    MaterialOutcome,
)
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


# --- applications ------------------------------------------------------------------------------------------------

ApplicationStatusEnum = strawberry.enum(ApplicationStatus, name="ApplicationStatus")
ApplicationPurposeEnum = strawberry.enum(ApplicationPurpose, name="ApplicationPurpose")
MaterialOutcomeEnum = strawberry.enum(MaterialOutcome, name="MaterialOutcome")


@strawberry.type(name="MaterialRequirement", description="A material an application needs, and how it is proven.")
class MaterialRequirementType:
    code: str
    name: str
    name_en: str
    proofs: JSON = strawberry.field(description='Tried in order: {"certificate": kind} or {"source", "record"}.')
    upload_allowed: bool


@django_type(ApplicationKind, name="ApplicationKind", description="What one can apply for, and its materials.")
class ApplicationKindType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    name_en: str
    purpose: ApplicationPurposeEnum
    licence_kind: LicenceKindType

    @field(prefetch_related=["materials"])
    def materials(self, root: ApplicationKind) -> list[MaterialRequirementType]:
        return [MaterialRequirementType(code=m.code, name=m.name, name_en=m.name_en, proofs=m.proofs,
                                        upload_allowed=m.upload_allowed)
                for m in sorted(root.materials.all(), key=lambda m: (m.position, m.pk))]


@strawberry.type(name="ApplicationStep", description="The step an application waits at (or ended at).")
class ApplicationStepType:
    code: str
    name: str
    level: str
    organisation: str
    role: str
    deadline: datetime | None
    overdue: bool


@strawberry.type(name="MaterialCheck", description="How a material stood when the application was submitted.")
class MaterialCheckType:
    material: str
    outcome: MaterialOutcomeEnum
    provenance: JSON = strawberry.field(description="Which certificate (and its status then), which source and "
                                                    "record, or which upload.")
    reason: str = strawberry.field(description="Why it was not proven automatically.")
    checked_at: datetime


@strawberry.type(name="ApplicationHistoryEntry")
class ApplicationHistoryType:
    action: str
    step: str = strawberry.field(description="The step it was taken at.")
    to_status: str
    note: str
    at: datetime


@django_type(Application, name="Application", description="A holder's application and where it stands.")
class ApplicationType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    number: str
    status: ApplicationStatusEnum
    kind: ApplicationKindType
    holder: HolderType
    basis: CertificateType | None = field(description="The certificate renewed, changed or cancelled.")
    issued: CertificateType | None = field(description="The certificate the approval issued.")
    fields: JSON
    submissions: int = field(description="How many times it was submitted.")
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    updated_at: datetime
    version: int

    @field(select_related=["case__step"], only=["case__deadline", "case__status", "case__step"])
    def step(self, root: Application) -> ApplicationStepType | None:
        case = root.case
        if case is None or case.step is None:
            return None
        waiting = case.status == ApplicationStatus.IN_REVIEW
        return ApplicationStepType(code=case.step.code, name=case.step.name, level=case.step.level,
                                   organisation=case.step.organisation, role=case.step.role,
                                   deadline=case.deadline if waiting else None,
                                   overdue=bool(waiting and case.deadline and case.deadline < timezone.now()))

    @field(select_related=["case"], only=["case__data"],
           description="What is asked of the applicant now: the materials asked for (when returned, the note says "
                       "what to correct).")
    def requested_materials(self, root: Application) -> list[str]:
        return list((root.case.data or {}).get("requested_materials", [])) if root.case else []

    @field(prefetch_related=["checks"], description="Each material as it stood at the latest submission.")
    def checks(self, root: Application) -> list[MaterialCheckType]:
        latest = [check for check in root.checks.all() if check.submission == root.submissions]
        return [MaterialCheckType(material=c.material, outcome=MaterialOutcome(c.outcome), provenance=c.provenance,
                                  reason=c.reason, checked_at=c.checked_at) for c in latest]

    @field(prefetch_related=["case__history__step"], description="Every action on it, through returns and "
                                                                 "resubmissions.")
    def history(self, root: Application) -> list[ApplicationHistoryType]:
        if root.case is None:
            return []
        return [ApplicationHistoryType(action=entry.action, step=entry.step.name if entry.step else "",
                                       to_status=entry.to_status, note=entry.note, at=entry.at)
                for entry in root.case.history.all()]


@strawberry.type(name="MaterialStatus", description="How a material stands now (before submitting).")
class MaterialStatusType:
    code: str
    name: str
    outcome: MaterialOutcomeEnum
    automatic: bool = strawberry.field(description="Proven without the applicant providing anything.")
    provenance: JSON
    reasons: list[str] = strawberry.field(description="Why it was not proven automatically.")
    upload_allowed: bool


@strawberry.type(name="ApplicationPreview", description="What will be submitted, and its digest to confirm.")
class ApplicationPreviewType:
    application: ApplicationType
    materials: list[MaterialStatusType]
    digest: str = strawberry.field(description="SHA-256 of exactly what would be submitted: the legal "
                                               "representative confirms this.")
    confirmed: bool = strawberry.field(description="The newest confirmation is over this very content.")


@strawberry.type(name="ApplicationStatRow", description="How applications of a kind (in a period) fared.")
class ApplicationStatRowType:
    kind: str = strawberry.field(description="The application kind's code; empty in the totals.")
    kind_name: str
    period: date | None = strawberry.field(description="The first day of the month or year.")
    submitted: int
    approved: int
    rejected: int
    withdrawn: int
    open: int
    returned: int = strawberry.field(description="Returned for correction at least once.")
    return_rate: float | None
    median_hours: float | None = strawberry.field(description="First submission to decision, decided ones.")
    p90_hours: float | None
    materials: int = strawberry.field(description="Materials at the latest submissions.")
    automatic: int = strawberry.field(description="Of them, proven by a certificate or government data.")
    no_proof_rate: float | None = strawberry.field(description="automatic / materials: the 'no proof needed' "
                                                               "rate.")


@strawberry.type(name="ApplicationStatistics")
class ApplicationStatisticsType:
    rows: list[ApplicationStatRowType]
    totals: ApplicationStatRowType
    csv_url: str = strawberry.field(description="The same table as CSV (with the same bearer token).")
    xlsx_url: str


@strawberry.type(name="Authorisation", description="An agent's authority on record to act for an organisation.")
class AuthorisationType:
    id: relay.GlobalID
    organisation: str = strawberry.field(description="The organisation's name.")
    agent: str = strawberry.field(description="The agent's display name.")
    kinds: list[str] = strawberry.field(description="Licence kind codes; empty: every kind.")
    valid_from: datetime
    valid_until: datetime
    withdrawn_at: datetime | None
    in_force: bool


def authorisation_type(row) -> AuthorisationType:
    now = timezone.now()
    return AuthorisationType(
        id=relay.GlobalID("Authorisation", str(row.pk)), organisation=row.organisation.name,
        agent=row.agent.display_name or row.agent.username, kinds=list(row.kinds), valid_from=row.valid_from,
        valid_until=row.valid_until, withdrawn_at=row.withdrawn_at,
        in_force=row.withdrawn_at is None and row.valid_from <= now < row.valid_until)
