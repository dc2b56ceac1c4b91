"""Certificates and applications as they change, over a websocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from channels.db import database_sync_to_async
from strawberry import relay

from api.approvals.types import ApplicationStatusEnum, ApplicationType, CertificateStatusEnum, CertificateType
from api.feed import object_changes
from approvals.models import Application, ApplicationStatus, Certificate, CertificateStatus
from approvals.selectors import applications_visible_to, certificates_visible_to


@strawberry.type(name="CertificateChange", description="A certificate the viewer may see changed.")
class CertificateChangeType:
    cursor: str
    kind: str = strawberry.field(description="What happened: certificate.issue, .suspend, .reinstate, .revoke, "
                                             ".renew, .expire.")
    status: CertificateStatusEnum | None = strawberry.field(description="The status this change produced.")
    reason: str
    certificate: CertificateType = strawberry.field(description="The certificate as it is at delivery.")


@database_sync_to_async
def _certificate_for(user, pk: int) -> Certificate | None:
    return (certificates_visible_to(user).select_related("kind__department", "holder", "department")
            .prefetch_related("history").filter(pk=pk).first())


@strawberry.type
class ApprovalsSubscription:
    @strawberry.subscription(description=(
        "The viewer's certificates (as holder, or as the issuing department) as they change; one certificate with "
        "`certificateId`.  Each message carries its change-feed cursor; with `after`, first replays what was "
        "missed.  Ends with `token_expired` like `changes`."))
    async def certificate_changed(self, info: strawberry.Info, certificate_id: relay.GlobalID | None = None,
                                  after: str | None = None) -> AsyncGenerator[CertificateChangeType, None]:
        async for row, certificate in object_changes(info, model=Certificate, type_name="Certificate",
                                                     global_id=certificate_id, after=after, load=_certificate_for):
            status = row.facts.get("status")
            yield CertificateChangeType(cursor=str(row.id), kind=row.kind, certificate=certificate,
                                        status=CertificateStatus(status) if status else None,
                                        reason=row.facts.get("reason") or "")


@strawberry.type(name="ApplicationChange", description="An application the viewer may see changed.")
class ApplicationChangeType:
    cursor: str
    kind: str = strawberry.field(description="What happened: application.create, .update, .upload, .confirm, "
                                             ".submit, .resubmit, .supply_materials, .approve, .reject, .return, "
                                             ".request_materials, .withdraw.")
    status: ApplicationStatusEnum | None = strawberry.field(description="The status this change produced.")
    step: str = strawberry.field(description="The step an action was taken at (empty for the applicant's).")
    note: str
    application: ApplicationType = strawberry.field(description="The application as it is at delivery.")


@database_sync_to_async
def _application_for(user, pk: int) -> Application | None:
    return (applications_visible_to(user).select_related("kind__licence_kind", "holder", "basis", "issued",
                                                         "case__step")
            .prefetch_related("checks", "case__history__step").filter(pk=pk).first())


@strawberry.type
class ApplicationsSubscription:
    @strawberry.subscription(description=(
        "Applications the viewer may see as they change: the applicant's own, and those at the steps the viewer "
        "holds; one with `applicationId`.  With `after`, first replays what was missed."))
    async def application_changed(self, info: strawberry.Info, application_id: relay.GlobalID | None = None,
                                  after: str | None = None) -> AsyncGenerator[ApplicationChangeType, None]:
        async for row, application in object_changes(info, model=Application, type_name="Application",
                                                     global_id=application_id, after=after, load=_application_for):
            status = row.facts.get("status")
            yield ApplicationChangeType(cursor=str(row.id), kind=row.kind, application=application,
                                        status=ApplicationStatus(status) if status else None,
                                        step=row.facts.get("step") or "", note=row.facts.get("note") or "")
