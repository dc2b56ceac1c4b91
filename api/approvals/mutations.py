"""The issuing department's status changes (suspend, reinstate, revoke with the reason, renew); applications:
drafted, materials uploaded, confirmed by the legal representative, submitted, decided step by step."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from api.approvals.errors import ApplicationError, CertificateError
from api.approvals.types import ApplicationType, AuthorisationType, CertificateType, authorisation_type
from api.base.ids import input_pk
from api.context import viewer
from api.errors import errors_from
from api.mutations import mutation
from api.restrict import Payload
from approvals import applications, services
from approvals.models import Application, ApplicationKind
from approvals.selectors import certificates_held_by, holders_visible_to
from core.workflow import WorkflowError


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


# --- applications --------------------------------------------------------------------------------------------------

@strawberry.input
class ApplicationCreateInput:
    kind: str = strawberry.field(description="The application kind's code (applicationKinds).")
    holder_id: relay.GlobalID = strawberry.field(description="The applicant: a holder the viewer acts for.")
    certificate_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Renewal, change, cancellation: the certificate concerned.")
    fields: JSON | None = strawberry.field(default=None, description="The licence's fields asked for.")


@strawberry.input
class ApplicationUpdateInput:
    application_id: relay.GlobalID
    fields: JSON
    expected_version: int | None = None


@strawberry.input
class ApplicationUploadInput:
    application_id: relay.GlobalID
    material: str = strawberry.field(description="The material's code.")
    file: Upload = strawberry.field(description="A PDF or a picture, judged by its content.")


@strawberry.input
class ApplicationConfirmInput:
    application_id: relay.GlobalID
    digest: str = strawberry.field(description="The digest applicationPreview showed: refused (`digest_mismatch`) "
                                               "if the content changed since.")


@strawberry.input
class ApplicationSubmitInput:
    application_id: relay.GlobalID
    expected_version: int | None = None


@strawberry.enum(name="ApplicationAction")
class ApplicationAction(enum.Enum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    REQUEST_MATERIALS = "request_materials"
    WITHDRAW = "withdraw"


@strawberry.input
class ApplicationActInput:
    application_ids: list[relay.GlobalID] = strawberry.field(description="One application, or several for a bulk "
                                                                         "action on a queue (each decided alone).")
    action: ApplicationAction
    note: str = strawberry.field(default="", description="Required to reject, return or ask for materials.")
    materials: list[str] = strawberry.field(default_factory=list, description="request_materials: what to supply.")
    expected_version: int | None = strawberry.field(default=None, description="One application: refuse (`stale`) "
                                                                              "if it changed.")


@strawberry.type
class ApplicationPayload(Payload):
    errors: list[ApplicationError] = strawberry.field(default_factory=list)
    application: ApplicationType | None = strawberry.field(default=None, description="As it is now.")


@strawberry.type
class ApplicationActPayload(Payload):
    errors: list[ApplicationError] = strawberry.field(default_factory=list, description="The first refusal.")
    applications: list[ApplicationType] = strawberry.field(default_factory=list, description="Those acted on.")
    refused: int = strawberry.field(default=0, description="Bulk: how many were refused (the first in `errors`).")


def _application_pk(value: relay.GlobalID) -> int:
    return input_pk(value, "Application", field="applicationId", message=_("Application not found."))


@strawberry.type
class ApplicationsMutation:
    @mutation(description="Draft an application for a holder the viewer acts for (an agent within the "
                          "authorisation on record).")
    def create_application(self, info: strawberry.Info, input: ApplicationCreateInput) -> ApplicationPayload:
        user = viewer(info).user
        kind = ApplicationKind.objects.filter(code=input.kind[:60], active=True).select_related("licence_kind").first()
        holder_pk = input_pk(input.holder_id, "Holder", field="holderId", message=_("Applicant not found."))
        holder = holders_visible_to(user).filter(pk=holder_pk).first()
        basis = None
        if input.certificate_id is not None:
            pk = input_pk(input.certificate_id, "Certificate", field="certificateId",
                          message=_("Certificate not found."))
            basis = certificates_held_by(user).filter(pk=pk).first()
            if basis is None:
                raise WorkflowError(_("Certificate not found."), code="not_found", field="certificateId")
        if kind is None:
            raise WorkflowError(_("No such kind of application."), code="not_found", field="kind")
        if holder is None:
            raise WorkflowError(_("Applicant not found."), code="not_found", field="holderId")
        return ApplicationPayload(application=applications.application_create(
            actor=user, kind=kind, holder=holder, basis=basis,
            fields=input.fields if isinstance(input.fields, dict) else None))

    @mutation(description="Change the fields of a draft or of an application returned for correction (any "
                          "confirmation then needs doing again).")
    def update_application(self, info: strawberry.Info, input: ApplicationUpdateInput) -> ApplicationPayload:
        return ApplicationPayload(application=applications.application_update(
            actor=viewer(info).user, application_id=_application_pk(input.application_id),
            fields=input.fields if isinstance(input.fields, dict) else {}, expected_version=input.expected_version))

    @mutation(description="Upload a file for a material no certificate or government record proves.")
    def upload_application_material(self, info: strawberry.Info, input: ApplicationUploadInput) -> ApplicationPayload:
        user = viewer(info).user
        pk = _application_pk(input.application_id)
        applications.material_upload(actor=user, application_id=pk, material=input.material[:40], upload=input.file,
                                     filename=getattr(input.file, "name", "") or "")
        return ApplicationPayload(application=Application.objects.get(pk=pk))

    @mutation(description="The legal representative confirms, instead of a seal, exactly the content whose digest "
                          "applicationPreview showed.")
    def confirm_application(self, info: strawberry.Info, input: ApplicationConfirmInput) -> ApplicationPayload:
        pk = _application_pk(input.application_id)
        applications.application_confirm(actor=viewer(info).user, application_id=pk, digest=input.digest.strip()[:64])
        return ApplicationPayload(application=Application.objects.get(pk=pk))

    @mutation(description="Submit (or resubmit after a return, or supply what was asked): every material is "
                          "checked again and stored with its provenance.")
    def submit_application(self, info: strawberry.Info, input: ApplicationSubmitInput) -> ApplicationPayload:
        return ApplicationPayload(application=applications.application_submit(
            actor=viewer(info).user, application_id=_application_pk(input.application_id),
            expected_version=input.expected_version))

    @mutation(description="A step holder approves, rejects, returns for correction or asks for materials (one "
                          "application, or a queue's selection in bulk); the applicant withdraws.")
    def act_on_applications(self, info: strawberry.Info, input: ApplicationActInput) -> ApplicationActPayload:
        user = viewer(info).user
        pks = [_application_pk(value) for value in input.application_ids[:100]]
        if len(pks) > 1 and input.expected_version is not None:
            raise WorkflowError(_("A version names one application."), code="invalid",
                                             field="expectedVersion")
        done, refused, first_error = [], 0, None
        for pk in pks:
            try:
                done.append(applications.application_act(
                    actor=user, application_id=pk, action=input.action.value, note=input.note[:2000],
                    materials=input.materials[:20], expected_version=input.expected_version))
            except (PermissionDenied, ValidationError) as error:  # WorkflowError is a ValidationError
                if len(pks) == 1:
                    raise
                refused += 1
                first_error = first_error or error
        payload = ApplicationActPayload(applications=done, refused=refused)
        if first_error is not None:
            payload.errors = errors_from(first_error, ApplicationError)
        return payload


@strawberry.input
class AuthoriseAgentInput:
    holder_id: relay.GlobalID = strawberry.field(description="The organisation the viewer legally represents.")
    agent_phone: str = strawberry.field(description="The agent's mobile number, as their account has it.")
    valid_until: datetime
    kinds: list[str] = strawberry.field(default_factory=list, description="Licence kind codes; empty: every kind.")


@strawberry.input
class WithdrawAuthorisationInput:
    authorisation_id: relay.GlobalID


@strawberry.type
class AuthorisationPayload(Payload):
    errors: list[ApplicationError] = strawberry.field(default_factory=list)
    authorisation: AuthorisationType | None = None


@strawberry.type
class AuthorisationsMutation:
    @mutation(description="The legal representative puts on record that an agent may act for the organisation "
                          "(for some licence kinds, or all) until a time.")
    def authorise_agent(self, info: strawberry.Info, input: AuthoriseAgentInput) -> AuthorisationPayload:
        user = viewer(info).user
        holder_pk = input_pk(input.holder_id, "Holder", field="holderId", message=_("Applicant not found."))
        organisation = holders_visible_to(user).filter(pk=holder_pk).first()
        agent = get_user_model().objects.filter(phone=input.agent_phone.strip()[:20], is_active=True).first()
        if organisation is None:
            raise WorkflowError(_("Applicant not found."), code="not_found", field="holderId")
        if agent is None:
            raise WorkflowError(_("No account has this mobile number."), code="not_found", field="agentPhone")
        row = services.authorisation_grant(organisation=organisation, agent=agent, valid_until=input.valid_until,
                                           kinds=[kind[:40] for kind in input.kinds[:40]], granted_by=user)
        return AuthorisationPayload(authorisation=authorisation_type(row))

    @mutation(description="The legal representative withdraws an agent's authorisation, at once.")
    def withdraw_authorisation(self, info: strawberry.Info, input: WithdrawAuthorisationInput) -> AuthorisationPayload:
        pk = input_pk(input.authorisation_id, "Authorisation", field="authorisationId",
                      message=_("Authorisation not found."))
        row = services.authorisation_withdraw(actor=viewer(info).user, authorisation_id=pk)
        return AuthorisationPayload(authorisation=authorisation_type(row))
