"""Certificate-free applications: drafted by the holder (or an agent within an authorisation on record),
materials proven from certificates and government data with their provenance, confirmed by the legal
representative over a digest of exactly what is submitted, decided on the kind's stored workflow, and, on
approval, the certificate issued through the certificates' own services.

The workflow is ``core.workflow.steps``' (approve, reject, return, ask for materials, resubmit, supply,
withdraw) on the definition the kind names; an application points at its case, and its ``status`` follows the
case's.  Who holds a step: the staff of the step's organisation (a department at the step's level) with the
step's role among their duties (``StaffDuty``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from approvals.catalogue import fields_clean
from approvals.models import (
    Application,
    ApplicationKind,
    ApplicationPurpose,
    ApplicationStatus,
    Authorisation,
    Certificate,
    CertificateStatus,
    Confirmation,
    Holder,
    HolderKind,
    HolderKinds,
    MaterialCheck,
    MaterialOutcome,
    MaterialRequirement,
    MaterialUpload,
)
from approvals.sources import SourceUnavailable, source_find, source_name, unavailable_text
from core.audiences import scope
from core.feed import change_record
from core.workflow import WorkflowError, workflow_apply
from core.workflow.cases import workflow_case_open
from core.workflow.models import WorkflowCase, WorkflowStep
from core.workflow.steps import StepStatus, step_workflow, workflow_definition_current

WORKFLOW_NAME = "approvals.application"
#: What ``application_act`` takes: the step holders' decisions, and the applicant's withdrawal (resubmitting and
#: supplying materials go through ``application_submit``, which checks the materials again).
ACTIONS = frozenset({"approve", "reject", "return", "request_materials", "withdraw"})
EDITABLE = frozenset({ApplicationStatus.DRAFT, ApplicationStatus.RETURNED, ApplicationStatus.MATERIALS_REQUESTED})
CLOSED = frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN})


# --- who acts ----------------------------------------------------------------------------------------------------

def acts_for(user, holder: Holder, kind: ApplicationKind | None = None, *, now: datetime | None = None) -> bool:
    """Whether ``user`` may apply for ``holder`` now: the person themself, the organisation's legal
    representative, or an agent whose authorisation on record is in force and covers the kind's licence."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if holder.kind == HolderKind.PERSON:
        return holder.user_id == user.pk
    if holder.representative_id == user.pk:
        return True
    now = now or timezone.now()
    for kinds in Authorisation.objects.filter(organisation=holder, agent=user, withdrawn_at__isnull=True,
                                              valid_from__lte=now, valid_until__gt=now).values_list("kinds",
                                                                                                   flat=True):
        if not kinds or kind is None or kind.licence_kind.code in kinds:
            return True
    return False


def confirms_for(user, holder: Holder) -> bool:
    """Whether ``user`` may confirm for ``holder`` (instead of a seal): the person, or the legal representative;
    never an agent."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return holder.user_id == user.pk if holder.kind == HolderKind.PERSON else holder.representative_id == user.pk


def _holds_step(user) -> Q:
    department = getattr(user, "department", None)
    if department is None:
        return Q(pk__in=[])
    return Q(organisation=department.code, level=department.level,
             role__in=list(user.duties.values_list("role", flat=True)))


def _step_holders(step: WorkflowStep):
    return User.objects.filter(is_active=True, department__code=step.organisation, department__level=step.level,
                               duties__role=step.role).distinct()


def _applicant(user, case: WorkflowCase) -> bool:
    application = Application.objects.select_related("holder", "kind__licence_kind").filter(case=case).first()
    return application is not None and acts_for(user, application.holder, application.kind)


def _case_change(case: WorkflowCase) -> dict:
    """A case's own change row reaches no one: people follow the application (``applicationChanged``)."""
    return {"to": [], "facts": {"status": case.status, "version": case.version}}


APPLICATION_WORKFLOW = step_workflow(name=WORKFLOW_NAME, holder_filter=_holds_step, holders=_step_holders,
                                     applicant=_applicant, change=_case_change, change_prefix="application.case")


# --- materials ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MaterialResult:
    """How one material stands now: proven (by a certificate or a source), uploaded, or still to upload; with
    its provenance and, when it was not proven automatically, why."""

    requirement: MaterialRequirement
    outcome: str
    provenance: dict = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def automatic(self) -> bool:
        return self.outcome in (MaterialOutcome.CERTIFICATE, MaterialOutcome.SOURCE)

    @property
    def key(self) -> str:
        """What the confirmation's digest names of it: the certificate, the record or the file itself."""
        found = self.provenance
        if self.outcome == MaterialOutcome.CERTIFICATE:
            return f"certificate:{found['number']}"
        if self.outcome == MaterialOutcome.SOURCE:
            return f"source:{found['source']}:{found['record']}:{found['recordId']}"
        if self.outcome == MaterialOutcome.UPLOAD:
            return f"upload:{found['sha256']}"
        return "missing"


def materials_resolve(application: Application, *, now: datetime | None = None) -> list[MaterialResult]:
    """Each material of the application's kind as it stands now: the first proof that holds (a certificate of
    the named kind held by the applicant and valid now; the applicant's record in the named source), else the
    newest upload for it, else missing.  A source that fails or is slow degrades to an upload request with the
    reason, never an error."""
    now = now or timezone.now()
    results = []
    uploads = {upload.material: upload for upload in application.uploads.order_by("id")}
    for requirement in application.kind.materials.order_by("position", "id"):
        reasons: list[str] = []
        found = None
        for proof in requirement.proofs:
            if "certificate" in proof:
                found = _certificate_proof(application, proof["certificate"], now, reasons)
            elif "source" in proof:
                found = _source_proof(application, proof["source"], proof.get("record", ""), reasons)
            if found is not None:
                break
        if found is None and requirement.code in uploads:
            upload = uploads[requirement.code]
            found = (MaterialOutcome.UPLOAD, {"uploadId": upload.pk, "sha256": upload.sha256,
                                              "filename": upload.filename, "uploadedAt": upload.uploaded_at.isoformat()})
        outcome, provenance = found or (MaterialOutcome.MISSING, {})
        results.append(MaterialResult(requirement, outcome, provenance, tuple(reasons)))
    return results


def _certificate_proof(application: Application, kind_code: str, now: datetime, reasons: list[str]):
    held = (Certificate.objects.filter(holder_id=application.holder_id, kind__code=kind_code)
            .select_related("kind").order_by("-issued_at", "-id"))
    for certificate in held:
        if certificate.status == CertificateStatus.VALID and (certificate.valid_until is None
                                                              or certificate.valid_until > now):
            return MaterialOutcome.CERTIFICATE, {
                "number": certificate.number, "kind": kind_code, "status": certificate.status,
                "validUntil": certificate.valid_until.isoformat() if certificate.valid_until else None,
                "checkedAt": now.isoformat()}
    newest = held.first()
    if newest is None:
        reasons.append(_("no certificate of this kind is on record"))
    else:
        reasons.append(_("certificate %(number)s is %(status)s") % {"number": newest.number,
                                                                    "status": newest.get_status_display()})
    return None


def _source_proof(application: Application, source: str, record: str, reasons: list[str]):
    try:
        found = source_find(source, application.holder, record)
    except SourceUnavailable as error:
        reasons.append(_("%(source)s: %(why)s") % {"source": source_name(source), "why": unavailable_text(error)})
        return None
    if found is None:
        reasons.append(_("%(source)s holds no record of this applicant") % {"source": source_name(source)})
        return None
    return MaterialOutcome.SOURCE, found.provenance()


def application_digest(application: Application, results: list[MaterialResult]) -> str:
    """SHA-256 over exactly what is submitted: the application, the applicant, the certificate concerned, the
    fields and each material's proof (which certificate, record or file).  Any change of content changes it."""
    content = {"number": application.number, "kind": application.kind.code, "holder": application.holder_id,
               "basis": application.basis.number if application.basis_id else None, "fields": application.fields,
               "materials": [[result.requirement.code, result.key] for result in results]}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- the applicant's side ----------------------------------------------------------------------------------------

def application_create(*, actor, kind: ApplicationKind, holder: Holder, fields: dict | None = None,
                       basis: Certificate | None = None, now: datetime | None = None) -> Application:
    """A draft application of ``kind`` for ``holder``.  A renewal, change or cancellation names the
    certificate concerned (``basis``, held by the applicant); its fields start from that certificate's.

    Raises ``PermissionDenied`` when ``actor`` does not act for the holder (an agent beyond the authorisation),
    ``ValidationError`` for a closed kind, the wrong kind of holder, a missing or foreign basis, bad fields."""
    now = now or timezone.now()
    if not acts_for(actor, holder, kind, now=now):
        raise PermissionDenied(_("You do not act for this applicant for this licence."))
    licence = kind.licence_kind
    if not kind.active:
        raise ValidationError({"kind": ValidationError(_("This kind of application is closed."), code="inactive")})
    if licence.holders != HolderKinds.EITHER and holder.kind != licence.holders:
        raise ValidationError({"holder": ValidationError(_("This licence is issued to %(who)s only.")
                                                         % {"who": licence.get_holders_display()},
                                                         code="wrong_holder")})
    if kind.purpose == ApplicationPurpose.NEW:
        if basis is not None:
            raise ValidationError({"basis": ValidationError(_("A new licence concerns no certificate."),
                                                            code="invalid")})
    elif basis is None or basis.holder_id != holder.pk or basis.kind_id != licence.pk:
        raise ValidationError({"basis": ValidationError(_("Name the applicant's own certificate of this licence."),
                                                        code="required")})
    if Application.objects.filter(kind=kind, holder=holder, basis=basis).exclude(status__in=CLOSED).exists():
        raise ValidationError({"kind": ValidationError(_("This applicant already has such an application under way."),
                                                       code="duplicate_application")})
    merged = {**(basis.fields if basis else {}), **(fields or {})}
    clean = fields_clean(licence.fields, merged) if kind.purpose != ApplicationPurpose.CANCEL else {}
    with transaction.atomic():
        application = Application.objects.create(
            number=_number(now), kind=kind, holder=holder, basis=basis, fields=clean, created_by=actor,
            created_at=now, updated_at=now)
        _changed(application, "create")
    return application


def application_update(*, actor, application_id: int, fields: dict, expected_version: int | None = None,
                       now: datetime | None = None) -> Application:
    """Change the fields of a draft, or of an application returned for correction (which invalidates any
    confirmation: the digest changes)."""
    now = now or timezone.now()
    with transaction.atomic():
        application = _lock_own(actor, application_id, expected_version)
        if application.status not in EDITABLE:
            raise WorkflowError(_("Only a draft or an application returned to you can be changed."),
                                code="not_editable")
        application.fields = fields_clean(application.kind.licence_kind.fields, {**application.fields, **fields})
        _touch(application, now)
        _changed(application, "update")
    return application


def material_upload(*, actor, application_id: int, material: str, upload, filename: str = "",
                    now: datetime | None = None) -> MaterialUpload:
    """Attach a file for ``material`` (a PDF or an image, checked by its content and limits through the
    platform's files)."""
    from core.files import file_discard, file_ingest, file_store

    now = now or timezone.now()
    application = _own(actor, application_id)
    if application.status not in EDITABLE:
        raise WorkflowError(_("Materials can be added to a draft or an application returned to you."),
                            code="not_editable")
    if not application.kind.materials.filter(code=material, upload_allowed=True).exists():
        raise ValidationError({"material": ValidationError(_("This application takes no upload of that name."),
                                                           code="unknown_material")})
    ingested = file_ingest(kind=MATERIAL_FILES, upload=upload)
    names = file_store(ingested=ingested)
    try:
        with transaction.atomic():
            application = _lock_own(actor, application_id, None)
            row = MaterialUpload.objects.create(
                application=application, material=material, name=names["file"], filename=filename[:200],
                content_type=ingested.content_type, size=ingested.size, sha256=ingested.sha256, uploaded_by=actor,
                uploaded_at=now)
            _touch(application, now)
            _changed(application, "upload")
    except BaseException:
        file_discard(kind=MATERIAL_FILES, names=names.values())
        raise
    return row


MATERIAL_FILES = "approval_materials"


def application_preview(*, actor, application_id: int) -> tuple[Application, list[MaterialResult], str]:
    """What the applicant sees before submitting: each material proven automatically or to be uploaded (with
    why), and the digest the legal representative confirms."""
    application = _own(actor, application_id)
    results = materials_resolve(application)
    return application, results, application_digest(application, results)


def application_confirm(*, actor, application_id: int, digest: str, now: datetime | None = None) -> Confirmation:
    """The legal representative's (or the person's) electronic confirmation of exactly the content whose
    digest is ``digest``; refused when the content has changed since it was shown (``digest_mismatch``)."""
    now = now or timezone.now()
    with transaction.atomic():
        application = _lock(application_id)
        if application is None or not confirms_for(actor, application.holder):
            raise PermissionDenied(_("Only the legal representative confirms for this applicant."))
        if application.status not in EDITABLE:
            raise WorkflowError(_("There is nothing to confirm: the application is with the department."),
                                code="not_editable")
        current = application_digest(application, materials_resolve(application, now=now))
        if digest != current:
            raise WorkflowError(_("The application changed since you read it. Read it again, then confirm."),
                                code="digest_mismatch", field="digest")
        confirmation = Confirmation.objects.create(application=application, digest=digest, confirmed_by=actor,
                                                   confirmed_at=now)
        _touch(application, now)
        _changed(application, "confirm")
    return confirmation


def application_submit(*, actor, application_id: int, expected_version: int | None = None,
                       now: datetime | None = None) -> Application:
    """Submit a draft (or resubmit one returned, or supply the materials asked for): every material is checked
    again and its result stored with its provenance; the newest confirmation must be over this very content.

    Raises ``WorkflowError`` with ``missing_materials`` (naming them), ``not_confirmed`` (none, or over other
    content), ``not_editable``; ``PermissionDenied`` for someone not acting for the applicant."""
    now = now or timezone.now()
    with transaction.atomic():
        application = _lock_own(actor, application_id, expected_version)
        if application.status not in EDITABLE:
            raise WorkflowError(_("This application is already with the department."), code="not_editable")
        results = materials_resolve(application, now=now)
        missing = [result for result in results if result.outcome == MaterialOutcome.MISSING]
        if missing:
            raise WorkflowError(_("Still to be uploaded: %(names)s.") % {
                "names": "; ".join(f"{result.requirement.name} ({', '.join(result.reasons)})" if result.reasons
                                   else result.requirement.name for result in missing)},
                code="missing_materials", field="materials")
        digest = application_digest(application, results)
        confirmation = application.confirmations.order_by("-id").first()
        if confirmation is None or confirmation.digest != digest:
            raise WorkflowError(_("The legal representative must confirm exactly this content first."),
                                code="not_confirmed")
        application.submissions += 1
        MaterialCheck.objects.bulk_create(
            MaterialCheck(application=application, submission=application.submissions,
                          material=result.requirement.code, outcome=result.outcome, provenance=result.provenance,
                          reason="; ".join(result.reasons)[:300], checked_at=now) for result in results)
        if application.case_id is None:
            if workflow_definition_current(key=application.kind.workflow_key) is None:
                raise WorkflowError(_("No workflow is defined for this kind of application."),
                                    code="unknown_workflow")
            case = workflow_case_open(workflow=APPLICATION_WORKFLOW, title=f"{application.number} {application.kind}",
                                      opened_by=actor, definition_key=application.kind.workflow_key, now=now)
            application.case = case
            action = "submit"
        else:
            action = "resubmit" if application.status == ApplicationStatus.RETURNED else "supply_materials"
            case = workflow_apply(workflow=APPLICATION_WORKFLOW, obj=application.case_id, action=action,
                                  actor=actor, now=now, note=_("Submission %(n)d") % {"n": application.submissions})
            application.case = case
        application.status = case.status
        application.submitted_at = now
        _touch(application, now)
        _changed(application, action, digest=digest)
    return application


# --- the step holders' side ----------------------------------------------------------------------------------------

def application_act(*, actor, application_id: int, action: str, note: str = "", materials: list[str] | None = None,
                    expected_version: int | None = None, now: datetime | None = None) -> Application:
    """A step holder approves, rejects (with the reason), returns for correction or asks for more materials;
    the applicant withdraws.  The step's approval that the kind names issues the certificate not yet in force;
    the last approval issues it in force (or brings it into force), renews or cancels the certificate
    concerned.  Two people acting at once: one wins, the other is told (``transition_not_allowed``/``stale``)."""
    now = now or timezone.now()
    if action not in ACTIONS:
        raise WorkflowError(_("Unknown action."), code="unknown_action", field="action")
    with transaction.atomic():
        application = _lock(application_id)
        if application is None or application.case_id is None:
            raise WorkflowError(_("Application not found."), code="not_found", field="applicationId")
        _check_version(application, expected_version)
        step = application.case.step
        case = workflow_apply(workflow=APPLICATION_WORKFLOW, obj=application.case_id, action=action, actor=actor,
                              now=now, note=note, materials=materials or [])
        application.case, application.status = case, case.status
        if action == "approve":
            _outcome(application, step, case, now)
        if application.status in CLOSED:
            application.decided_at = now
        _touch(application, now)
        _changed(application, action, step=step.code, note=note)
    return application


def _outcome(application: Application, step: WorkflowStep, case: WorkflowCase, now: datetime) -> None:
    """What an approval issues, through the certificates' services (the system acting)."""
    from approvals import services

    kind = application.kind
    final = case.status == StepStatus.APPROVED
    if kind.issue_at_step and step.code == kind.issue_at_step and application.issued_id is None:
        application.issued = services.certificate_issue(kind=kind.licence_kind, holder=application.holder,
                                                        fields=application.fields, in_force=final, now=now)
    if not final:
        return
    if application.issued_id is not None:
        if application.issued.status == CertificateStatus.PENDING:
            services.certificate_bring_into_force(actor=None, certificate_id=application.issued_id,
                                                  reason=_("Application %(n)s approved") % {"n": application.number})
    elif kind.purpose == ApplicationPurpose.NEW:
        application.issued = services.certificate_issue(kind=kind.licence_kind, holder=application.holder,
                                                        fields=application.fields, now=now)
    elif kind.purpose == ApplicationPurpose.CANCEL:
        services.certificate_revoke(actor=None, certificate_id=application.basis_id,
                                    reason=_("Cancelled on application %(n)s") % {"n": application.number})
    else:  # renewal or change: the new certificate supersedes the one concerned
        application.issued = services.certificate_renew(
            actor=None, certificate_id=application.basis_id, fields=application.fields,
            reason=_("Application %(n)s approved") % {"n": application.number})


def applications_told_of_proof(certificate: Certificate) -> int:
    """A certificate that proved a material of an application under review is no longer valid: the application's
    change says so (``application.proof_changed``) and the holders of the step it waits at are told, in the
    certificate's own transaction; returns how many applications.  The step holder decides (ask for materials,
    return, reject)."""
    from core.services import notification_send

    waiting = (Application.objects.filter(status=ApplicationStatus.IN_REVIEW, checks__outcome=MaterialOutcome.CERTIFICATE,
                                          checks__provenance__number=certificate.number)
               .select_related("case__step").distinct())
    told = 0
    for application in waiting:
        if not application.checks.filter(submission=application.submissions,
                                         provenance__number=certificate.number).exists():
            continue  # an earlier round's proof, not the one under review
        _changed(application, "proof_changed", certificate=certificate.number, certificate_status=certificate.status)
        title = _("%(application)s: a proof is now %(status)s") % {"application": application.number,
                                                                    "status": certificate.get_status_display()}
        body = _("Certificate %(number)s, which proved a material of this application, is %(status)s.") % {
            "number": certificate.number, "status": certificate.get_status_display()}
        for user in _step_holders(application.case.step):
            notification_send(recipient=user, title=title[:120], body=body,
                              source=f"proof:{application.pk}:{certificate.number}:{certificate.version}:{user.pk}")
        told += 1
    return told


# --- bookkeeping ---------------------------------------------------------------------------------------------------

def _number(now: datetime) -> str:
    return f"SQ{now:%Y%m%d}{secrets.randbelow(10 ** 8):08d}"


def _lock(application_id) -> Application | None:
    return (Application.objects.select_for_update(of=("self",))
            .select_related("kind__licence_kind", "holder", "basis", "case__step").filter(pk=application_id).first())


def _own(actor, application_id) -> Application:
    application = (Application.objects.select_related("kind__licence_kind", "holder", "basis")
                   .filter(pk=application_id).first())
    if application is None or not acts_for(actor, application.holder, application.kind):
        raise WorkflowError(_("Application not found."), code="not_found", field="applicationId")
    return application


def _lock_own(actor, application_id, expected_version: int | None) -> Application:
    application = _lock(application_id)
    if application is None or not acts_for(actor, application.holder, application.kind):
        raise WorkflowError(_("Application not found."), code="not_found", field="applicationId")
    _check_version(application, expected_version)
    return application


def _check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and application.version != expected_version:
        raise WorkflowError(_("The application changed meanwhile (version %(now)d, not %(expected)d). Reload it.")
                            % {"now": application.version, "expected": expected_version}, code="stale")


def _touch(application: Application, now: datetime) -> None:
    application.version += 1
    application.updated_at = now
    application.save()


def application_audience(application: Application) -> list[str]:
    """Who hears of an application: the applicant (every account acting for it) and the staff of the step it
    waits at (their department)."""
    to = [scope("holder", application.holder_id)]
    step = application.case.step if application.case_id else None
    if step is not None and application.status == ApplicationStatus.IN_REVIEW:
        from accounts.models import Department

        department = Department.objects.filter(code=step.organisation, level=step.level).first()
        if department is not None:
            to.append(scope("department", department.pk))
    return to


def _changed(application: Application, action: str, **facts) -> None:
    change_record(kind=f"application.{action}", obj=application, to=application_audience(application),
                  facts={"status": application.status, "version": application.version, **facts})
