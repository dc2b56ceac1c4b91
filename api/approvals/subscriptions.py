"""Certificates as they change, over a websocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from channels.db import database_sync_to_async
from strawberry import relay

from api.approvals.types import CertificateStatusEnum, CertificateType
from api.base.ids import node_pk
from api.context import viewer
from api.errors import not_authenticated
from api.feed import cursor_parse, visible_changes
from approvals.models import Certificate, CertificateStatus
from approvals.selectors import certificates_visible_to

CERTIFICATE_LABEL = Certificate._meta.label_lower


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
        who = viewer(info)
        if not who.user.is_authenticated:
            raise not_authenticated()
        only = node_pk(certificate_id, "Certificate") if certificate_id is not None else None
        start = cursor_parse(after) if after is not None else None
        async for user, row in visible_changes(who, start):
            if row.object_type != CERTIFICATE_LABEL or (only is not None and row.object_id != only):
                continue
            certificate = await _certificate_for(user, row.object_id)
            if certificate is not None:
                status = row.facts.get("status")
                yield CertificateChangeType(cursor=str(row.id), kind=row.kind, certificate=certificate,
                                            status=CertificateStatus(status) if status else None,
                                            reason=row.facts.get("reason") or "")
