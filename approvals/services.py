"""Every write of holders and certificates: registering holders, authorising agents, issuing, and the status
changes (suspend, reinstate, revoke, renew, expire) on the platform's workflow engine."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.catalogue import fields_clean
from approvals.codes import certificate_sign
from approvals.identity import identity_clean, identity_digest, identity_mask, identity_seal
from approvals.models import (
    Authorisation,
    Certificate,
    CertificateHistory,
    CertificateStatus,
    Holder,
    HolderKind,
    HolderKinds,
    LicenceKind,
)
from approvals.statuslist import status_entry_allocate, status_entry_write
from core.audiences import scope
from core.workflow import Attempt, Notice, Workflow, WorkflowError, transition, workflow_apply
from core.workflow.engine import TransitionTable

S = CertificateStatus
REASON_MAX = 200


# --- holders --------------------------------------------------------------------------------------------------

def holder_register(*, kind: str, number: str, name: str, user=None, representative=None) -> Holder:
    """The holder of ``number`` (a resident ID number for a person, a unified social credit code for an
    organisation), created on first registration; the name, account and representative are updated.  Raises
    ``ValidationError`` for a number whose check character is wrong."""
    if kind not in HolderKind.values:
        raise ValidationError({"kind": ValidationError(_("A holder is a person or an organisation."),
                                                       code="invalid")})
    number = identity_clean(kind, number)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError({"name": ValidationError(_("Give the holder's name (at most 120 characters)."),
                                                       code="invalid")})
    with transaction.atomic():
        holder, created = Holder.objects.select_for_update().get_or_create(
            kind=kind, id_digest=identity_digest(kind, number),
            defaults={"name": name, "id_masked": identity_mask(number), "id_sealed": identity_seal(number),
                      "user": user, "representative": representative})
        if not created:
            holder.name = name
            holder.user = user or holder.user
            holder.representative = representative or holder.representative
            holder.save(update_fields=["name", "user", "representative"])
    return holder


def holder_find(*, kind: str, number: str) -> Holder | None:
    """The holder of an identity number typed again (matched by its digest); None if unknown or malformed."""
    try:
        number = identity_clean(kind, number)
    except ValidationError:
        return None
    return Holder.objects.filter(kind=kind, id_digest=identity_digest(kind, number)).first()


def authorisation_grant(*, organisation: Holder, agent, valid_until: datetime, kinds: list[str] = (),
                        granted_by=None, valid_from: datetime | None = None) -> Authorisation:
    """Put on record that ``agent`` may act for ``organisation`` on ``kinds`` (all when empty) until
    ``valid_until``; only the organisation's legal representative (or the system) grants."""
    if organisation.kind != HolderKind.ORGANISATION:
        raise ValidationError({"organisation": ValidationError(_("Only an organisation authorises agents."),
                                                               code="invalid")})
    if granted_by is not None and organisation.representative_id != granted_by.pk:
        raise PermissionDenied(_("Only the legal representative authorises agents."))
    unknown = set(kinds) - set(LicenceKind.objects.filter(code__in=kinds).values_list("code", flat=True))
    if unknown:
        raise ValidationError({"kinds": ValidationError(_("Unknown licence kinds: %(codes)s.")
                                                        % {"codes": ", ".join(sorted(unknown))}, code="invalid")})
    valid_from = valid_from or timezone.now()
    if valid_until <= valid_from:
        raise ValidationError({"validUntil": ValidationError(_("An authorisation must end after it starts."),
                                                             code="invalid")})
    return Authorisation.objects.create(organisation=organisation, agent=agent, kinds=sorted(set(kinds)),
                                        valid_from=valid_from, valid_until=valid_until, granted_by=granted_by)


def authorisation_withdraw(*, actor, authorisation_id: int, now: datetime | None = None) -> Authorisation:
    """The legal representative withdraws an agent's authorisation: from now the agent no longer acts for the
    organisation (their drafts stay with the organisation).  ``ValidationError`` ``not_found`` for one that is not
    the actor's to withdraw."""
    with transaction.atomic():
        authorisation = (Authorisation.objects.select_for_update().select_related("organisation")
                         .filter(pk=authorisation_id, organisation__representative=actor).first())
        if authorisation is None:
            raise ValidationError({"authorisationId": ValidationError(_("Authorisation not found."),
                                                                      code="not_found")})
        if authorisation.withdrawn_at is None:
            authorisation.withdrawn_at = now or timezone.now()
            authorisation.save(update_fields=["withdrawn_at"])
    return authorisation


# --- issuing --------------------------------------------------------------------------------------------------

def certificate_issue(*, kind: LicenceKind, holder: Holder, fields: dict, actor=None,
                      valid_from: datetime | None = None, valid_until: datetime | None = None,
                      supersedes: Certificate | None = None, in_force: bool = True,
                      now: datetime | None = None) -> Certificate:
    """Issue a certificate of ``kind`` to ``holder`` with the kind's typed ``fields``: numbered, and for an
    electronic kind given a status-list entry and signed.  Valid from ``valid_from`` (now) for the kind's
    validity period unless ``valid_until`` says otherwise; with ``in_force`` False it is issued pending, in
    force once ``certificate_bring_into_force`` (its procedure's last step).  ``actor`` None is the system (an
    approved application); a person must be staff of the kind's issuing department.  Raises
    ``ValidationError`` and ``PermissionDenied``."""
    now = now or timezone.now()
    if actor is not None and not _issues(actor, kind):
        raise PermissionDenied(_("Only the issuing department issues this licence."))
    if not kind.active:
        raise ValidationError({"kind": ValidationError(_("This licence is no longer issued."), code="inactive")})
    if kind.holders != HolderKinds.EITHER and holder.kind != kind.holders:
        raise ValidationError({"holder": ValidationError(_("This licence is issued to %(who)s only.")
                                                         % {"who": kind.get_holders_display()},
                                                         code="wrong_holder")})
    clean = fields_clean(kind.fields, fields)
    valid_from = valid_from or now
    if valid_until is None and kind.validity_months:
        valid_until = _add_months(valid_from, kind.validity_months)
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationError({"validUntil": ValidationError(_("A certificate must end after it starts."),
                                                             code="invalid")})
    with transaction.atomic():
        certificate = Certificate(number=_number(kind, now), kind=kind, holder=holder, department=kind.department,
                                  fields=clean, valid_from=valid_from, valid_until=valid_until, issued_at=now,
                                  issued_by=actor, status=S.VALID if in_force else S.PENDING, status_changed_at=now,
                                  supersedes=supersedes)
        if kind.electronic:
            certificate.status_list, certificate.status_index = status_entry_allocate()
            certificate.key, certificate.code = certificate_sign(certificate)
        certificate.save()
        status_entry_write(certificate)
        CertificateHistory.objects.create(certificate=certificate, action="issue", to_status=certificate.status,
                                          actor=actor, at=now)
        from core.feed import change_record

        change_record(kind="certificate.issue", obj=certificate, to=certificate_audience(certificate),
                      facts={"status": certificate.status, "version": certificate.version})
    return certificate


def _number(kind: LicenceKind, now: datetime) -> str:
    """``<prefix><year><10 random digits>``: unique (checked by the database) and says nothing of how many."""
    return f"{kind.number_prefix}{now.year}{secrets.randbelow(10 ** 10):010d}"


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _issues(user, kind: LicenceKind) -> bool:
    return bool(user and user.is_active and (user.is_superuser or (
        user.is_department_staff and user.department_id == kind.department_id)))


def certificate_audience(certificate: Certificate) -> list[str]:
    """Who hears of a certificate's changes: its holder (every account acting for it) and the issuing
    department."""
    return [scope("holder", certificate.holder_id), scope("department", certificate.department_id)]


# --- status changes ---------------------------------------------------------------------------------------------

def certificate_suspend(*, actor, certificate_id: int, reason: str, expected_version: int | None = None):
    return _apply("suspend", actor, certificate_id, expected_version, reason=reason)


def certificate_reinstate(*, actor, certificate_id: int, reason: str = "", expected_version: int | None = None):
    return _apply("reinstate", actor, certificate_id, expected_version, reason=reason)


def certificate_revoke(*, actor, certificate_id: int, reason: str, expected_version: int | None = None):
    return _apply("revoke", actor, certificate_id, expected_version, reason=reason)


def certificate_bring_into_force(*, actor, certificate_id: int, reason: str = "") -> Certificate:
    """A pending certificate comes into force (the last step of its procedure approved)."""
    return _apply("bring_into_force", actor, certificate_id, None, reason=reason)


def certificate_renew(*, actor, certificate_id: int, fields: dict | None = None, reason: str = "",
                      expected_version: int | None = None) -> Certificate:
    """Issue the renewal of a certificate (its fields, updated by ``fields``) and mark the old one superseded, in
    one transaction; returns the new certificate."""
    with transaction.atomic():
        old = _apply("renew", actor, certificate_id, expected_version, reason=reason or _("Renewed"),
                     fields=fields)
        return old.superseded_by


def certificates_expire(*, now: datetime | None = None) -> int:
    """Mark every valid certificate whose period ended as expired (the system's action); returns how many."""
    now = now or timezone.now()
    due = list(Certificate.objects.filter(status=S.VALID, valid_until__lte=now).values_list("pk", flat=True)[:1000])
    for pk in due:
        try:
            workflow_apply(workflow=CERTIFICATE_WORKFLOW, obj=pk, action="expire", actor=None, now=now,
                           reason=_("Validity period ended"))
        except WorkflowError:  # changed meanwhile (renewed, revoked)
            continue
    return len(due)


def _apply(action: str, actor, certificate_id: int, expected_version: int | None, **params) -> Certificate:
    from approvals.applications import applications_told_of_proof

    with transaction.atomic():
        certificate = workflow_apply(workflow=CERTIFICATE_WORKFLOW, obj=certificate_id, action=action, actor=actor,
                                     expected_version=expected_version, **params)
        if certificate.status != S.VALID:
            applications_told_of_proof(certificate)  # an application under review that it proved
        return certificate


def _relations(actor, certificate: Certificate) -> set[str]:
    if actor is None:
        return {"system"}
    return {"issuer"} if _issues(actor, certificate.kind) else set()


def _rows(actor, pk: int):
    from approvals.selectors import certificates_visible_to

    rows = Certificate.objects.select_related("kind", "holder")
    return rows if actor is None else rows.filter(pk__in=certificates_visible_to(actor).filter(pk=pk).values("pk"))


def _need_reason(attempt: Attempt) -> None:
    reason = (attempt.param("reason") or "").strip()
    if not reason:
        raise WorkflowError(_("Give the reason."), code="required", field="reason")
    if len(reason) > REASON_MAX:
        raise WorkflowError(_("At most %(n)d characters.") % {"n": REASON_MAX}, code="too_long", field="reason")


def _stamp(attempt: Attempt) -> None:
    certificate = attempt.obj
    certificate.status_reason = (attempt.param("reason") or "").strip()[:REASON_MAX]
    certificate.status_changed_at = attempt.now
    status_entry_write(certificate)


def _renewal(attempt: Attempt) -> None:
    old = attempt.obj
    fields = {**old.fields, **(attempt.param("fields") or {})}
    old.save()  # superseded before the renewal points at it
    renewal = certificate_issue(kind=old.kind, holder=old.holder, fields=fields, actor=attempt.actor,
                                supersedes=old, now=attempt.now)
    attempt.data["renewal"] = renewal.number
    old.superseded_by = renewal


def _history(attempt: Attempt) -> CertificateHistory:
    return CertificateHistory.objects.create(
        certificate=attempt.obj, action=attempt.action, from_status=attempt.from_status, to_status=attempt.obj.status,
        reason=attempt.obj.status_reason, actor=attempt.actor, at=attempt.now)


def _change(certificate: Certificate) -> dict:
    return {"to": certificate_audience(certificate),
            "facts": {"status": certificate.status, "version": certificate.version,
                      "reason": certificate.status_reason}}


def _notices(attempt: Attempt):
    certificate = attempt.obj
    title = _("%(kind)s %(number)s: %(status)s") % {"kind": certificate.kind.name, "number": certificate.number,
                                                     "status": certificate.get_status_display()}
    for user in holder_accounts(certificate.holder):
        yield Notice(recipient=user, title=title, body=certificate.status_reason,
                     source=f"certificate:{certificate.pk}:{certificate.version}")


def holder_accounts(holder: Holder) -> list:
    """The accounts that act for ``holder`` now: the person, or the legal representative and agents on record."""
    from django.contrib.auth import get_user_model

    now = timezone.now()
    users = get_user_model().objects.filter(is_active=True)
    if holder.kind == HolderKind.PERSON:
        return list(users.filter(holder=holder))
    return list(users.filter(pk__in=[holder.representative_id, *Authorisation.objects.filter(
        organisation=holder, withdrawn_at__isnull=True, valid_from__lte=now, valid_until__gt=now,
    ).values_list("agent_id", flat=True)]).distinct())


CERTIFICATE_WORKFLOW = Workflow(
    name="certificate",
    model=Certificate,
    table=TransitionTable([
        transition("suspend", [S.VALID], S.SUSPENDED, who=["issuer"], needs=["reason"], effects=["stamp"]),
        transition("reinstate", [S.SUSPENDED], S.VALID, who=["issuer"], effects=["stamp"]),
        transition("revoke", [S.VALID, S.SUSPENDED, S.PENDING], S.REVOKED, who=["issuer", "system"],
                   needs=["reason"], effects=["stamp"]),
        transition("bring_into_force", [S.PENDING], S.VALID, who=["issuer", "system"], effects=["stamp"]),
        transition("renew", [S.VALID, S.SUSPENDED, S.EXPIRED], S.SUPERSEDED, who=["issuer", "system"],
                   effects=["stamp", "renewal"]),
        transition("expire", [S.VALID], S.EXPIRED, who=["system"], effects=["stamp"]),
    ]),
    relations=_relations,
    rows=_rows,
    needs={"reason": _need_reason},
    effects={"stamp": _stamp, "renewal": _renewal},
    history=_history,
    change=_change,
    notices=_notices,
    labels={"suspend": gettext_lazy("suspend"), "reinstate": gettext_lazy("reinstate"),
            "revoke": gettext_lazy("revoke"), "renew": gettext_lazy("renew"), "expire": gettext_lazy("expire"),
            "bring_into_force": gettext_lazy("bring into force")},
    id_field="certificateId",
    deadline_field=None,
)
