"""Licence kinds, the viewer's wallet and the certificates they may see, verification by anyone; application kinds,
the applicant's applications and what they will submit, the staff's queues."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode

import strawberry
import strawberry_django
from django.conf import settings
from django.utils.translation import gettext as _

from api.approvals.types import (
    ApplicationKindType,
    ApplicationPreviewType,
    ApplicationPurposeEnum,
    ApplicationStatisticsType,
    ApplicationStatRowType,
    ApplicationStatusEnum,
    ApplicationType,
    AuthorisationType,
    CertificateType,
    CertificateVerdictType,
    LicenceKindType,
    MaterialStatusType,
    authorisation_type,
)
from api.approvals.views import MAX_TEXT, verdict_json, verdict_of
from api.base.ids import node_pk_or_none
from api.context import viewer
from api.errors import GraphQLCodedError
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from approvals import applications
from approvals.models import Application, ApplicationKind, Certificate, LicenceKind, MaterialOutcome
from approvals.selectors import (
    application_queue,
    applications_of,
    applications_visible_to,
    authorisations_of,
    certificates_held_by,
    certificates_visible_to,
    licence_kinds_issued,
)
from approvals.statistics import PERIODS, application_statistics
from certkit import Status
from core.workflow import WorkflowError


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

    @strawberry_django.connection(CursorConnection[ApplicationKindType], description="What one can apply for now.")
    def application_kinds(self, licence_kind: str | None = None,
                          purpose: ApplicationPurposeEnum | None = None) -> Iterable[ApplicationKind]:
        kinds = ApplicationKind.objects.filter(active=True)
        if licence_kind is not None:
            kinds = kinds.filter(licence_kind__code=licence_kind[:40])
        if purpose is not None:
            kinds = kinds.filter(purpose=purpose.value)
        return kinds.order_by("code")

    @strawberry_django.connection(CursorConnection[ApplicationType], permission_classes=[IsAuthenticated],
                                  description="The viewer's own applications (for the holders they act for), "
                                              "newest first, with where each stands and what is asked of them.")
    def my_applications(self, info: strawberry.Info,
                        status: ApplicationStatusEnum | None = None) -> Iterable[Application]:
        mine = applications_of(viewer(info).user)
        return (mine.filter(status=status.value) if status is not None else mine).order_by("-updated_at", "-id")

    @strawberry_django.connection(CursorConnection[ApplicationType], permission_classes=[IsAuthenticated],
                                  description="The staff's queue: applications waiting at a step the viewer "
                                              "holds, the most urgent first; `overdue` for those past the step's "
                                              "deadline only; `step` for one step's code.")
    def application_queue(self, info: strawberry.Info, overdue: bool = False,
                          step: str | None = None) -> Iterable[Application]:
        return application_queue(viewer(info).user, overdue=overdue, step=step[:40] if step else None)

    @strawberry_django.connection(CursorConnection[ApplicationType], permission_classes=[IsAuthenticated],
                                  description="Applications the viewer may see, by number.")
    def applications(self, info: strawberry.Info, number: str | None = None) -> Iterable[Application]:
        seen = applications_visible_to(viewer(info).user)
        if number is not None:
            seen = seen.filter(number=number.strip()[:24])
        return seen.order_by("-updated_at", "-id")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Before submitting: each material proven automatically (and by what) or to be "
                                  "uploaded (and why), and the digest the legal representative confirms.  Null "
                                  "for an application the viewer does not act for.")
    def application_preview(self, info: strawberry.Info, application_id: strawberry.relay.GlobalID,
                            ) -> ApplicationPreviewType | None:
        pk = node_pk_or_none(application_id, "Application")
        if pk is None:
            return None
        try:
            application, results, digest = applications.application_preview(actor=viewer(info).user,
                                                                             application_id=pk)
        except WorkflowError:
            return None
        confirmation = application.confirmations.order_by("-id").first()
        return ApplicationPreviewType(
            application=application, digest=digest, confirmed=confirmation is not None and confirmation.digest == digest,
            materials=[MaterialStatusType(code=r.requirement.code, name=r.requirement.name,
                                          outcome=MaterialOutcome(r.outcome),
                                          automatic=r.automatic, provenance=r.provenance, reasons=list(r.reasons),
                                          upload_allowed=r.requirement.upload_allowed) for r in results])

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Per application kind (and `period`: month or year) over the applications the "
                                  "viewer may see, first submitted in [since, until): counts, decisions, returns, "
                                  "processing time (median, 90th percentile) and the 'no proof needed' rate.")
    def application_statistics(self, info: strawberry.Info, since: datetime | None = None,
                               until: datetime | None = None, period: str | None = None) -> ApplicationStatisticsType:
        if period not in (None, *PERIODS):
            raise GraphQLCodedError(_("The period is month or year."), "invalid_filter")
        rows, totals = application_statistics(applications_visible_to(viewer(info).user), since=since, until=until,
                                              period=period)
        query = urlencode({key: value.isoformat() if isinstance(value, datetime) else value
                           for key, value in (("since", since), ("until", until), ("period", period)) if value})
        base = f"{settings.PUBLIC_URL}/exports/application-statistics"
        return ApplicationStatisticsType(rows=[_stat(row) for row in rows], totals=_stat(totals),
                                         csv_url=f"{base}.csv?{query}", xlsx_url=f"{base}.xlsx?{query}")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The authorisations the viewer granted (as a legal representative) or holds (as "
                                  "an agent), newest first.")
    def my_authorisations(self, info: strawberry.Info) -> list[AuthorisationType]:
        return [authorisation_type(row) for row in authorisations_of(viewer(info).user)[:200]]


def _stat(row) -> ApplicationStatRowType:
    return ApplicationStatRowType(
        kind=row.kind, kind_name=row.kind_name, period=row.period, submitted=row.submitted, approved=row.approved,
        rejected=row.rejected, withdrawn=row.withdrawn, open=row.open, returned=row.returned,
        return_rate=row.return_rate, median_hours=row.median_hours, p90_hours=row.p90_hours,
        materials=row.materials, automatic=row.automatic, no_proof_rate=row.no_proof_rate)
