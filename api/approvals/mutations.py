"""The issuing department's status changes: suspend, reinstate, revoke (each with its reason) and renew."""

from __future__ import annotations

import enum

import strawberry
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.scalars import JSON

from api.approvals.errors import CertificateError
from api.approvals.types import CertificateType
from api.base.ids import input_pk
from api.context import viewer
from api.mutations import mutation
from api.restrict import Payload
from approvals import services


@strawberry.enum(name="CertificateAction")
class CertificateAction(enum.Enum):
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    RENEW = "renew"


@strawberry.input
class CertificateChangeInput:
    certificate_id: relay.GlobalID
    action: CertificateAction
    reason: str = strawberry.field(default="", description="Required to suspend and revoke; shown to the holder.")
    fields: JSON | None = strawberry.field(default=None, description="renew: fields that change in the new one.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse (`stale`) if it changed.")


@strawberry.type
class CertificateChangePayload(Payload):
    errors: list[CertificateError] = strawberry.field(default_factory=list)
    certificate: CertificateType | None = strawberry.field(default=None, description="As it is now.")
    renewal: CertificateType | None = strawberry.field(default=None, description="renew: the new certificate.")


@strawberry.type
class ApprovalsMutation:
    @mutation(description="The issuing department suspends, reinstates, revokes or renews a certificate: online "
                          "verification says so at once, the status list within its ttl, and the holder is told.")
    def change_certificate(self, info: strawberry.Info, input: CertificateChangeInput) -> CertificateChangePayload:
        user = viewer(info).user
        pk = input_pk(input.certificate_id, "Certificate", field="certificateId", message=_("Certificate not found."))
        common = {"actor": user, "certificate_id": pk, "expected_version": input.expected_version}
        if input.action is CertificateAction.RENEW:
            renewal = services.certificate_renew(**common, reason=input.reason,
                                                 fields=input.fields if isinstance(input.fields, dict) else None)
            return CertificateChangePayload(certificate=renewal.supersedes, renewal=renewal)
        change = {CertificateAction.SUSPEND: services.certificate_suspend,
                  CertificateAction.REINSTATE: services.certificate_reinstate,
                  CertificateAction.REVOKE: services.certificate_revoke}[input.action]
        return CertificateChangePayload(certificate=change(**common, reason=input.reason))
