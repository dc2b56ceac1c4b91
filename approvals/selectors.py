"""Who sees which holders, certificates and applications, and the holders a person acts for now."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from approvals.models import Application, Authorisation, Certificate, Holder, HolderKind, LicenceKind, MaterialUpload


def holder_ids_acting_for(user) -> frozenset[int]:
    """The holders ``user`` acts for now: themself as a person, the organisations they legally represent, and
    those whose authorisation on record (in force, not withdrawn) names them.  An agent's authorisation may be
    for some licence kinds only: ``certificates_visible_to`` applies that."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return frozenset(Holder.objects.filter(_acting(user)).values_list("pk", flat=True))


def _acting(user) -> Q:
    now = timezone.now()
    authorised = Authorisation.objects.filter(agent=user, withdrawn_at__isnull=True, valid_from__lte=now,
                                              valid_until__gt=now)
    return (Q(kind=HolderKind.PERSON, user=user) | Q(kind=HolderKind.ORGANISATION, representative=user)
            | Q(pk__in=authorised.values("organisation_id")))


def _own_certificates(user) -> Q:
    """The certificates ``user`` holds or acts for: in full as the person or the legal representative; as an
    agent, only of the kinds the authorisation names (all, when it names none)."""
    now = timezone.now()
    own = Q(holder__kind=HolderKind.PERSON, holder__user=user) | Q(holder__kind=HolderKind.ORGANISATION,
                                                                   holder__representative=user)
    for organisation_id, kinds in Authorisation.objects.filter(
            agent=user, withdrawn_at__isnull=True, valid_from__lte=now, valid_until__gt=now,
    ).values_list("organisation_id", "kinds"):
        own |= Q(holder_id=organisation_id, **({"kind__code__in": kinds} if kinds else {}))
    return own


def certificates_visible_to(user) -> QuerySet[Certificate]:
    """The certificates ``user`` may see: their own (as holder or on the holder's behalf), those their
    department issues, and all for the district-wide roles."""
    certificates = Certificate.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return certificates.none()
    if user.sees_whole_district:
        return certificates
    seen = _own_certificates(user)
    if user.is_department_staff:
        seen |= Q(department_id=user.department_id)
    return certificates.filter(seen)


def certificates_held_by(user) -> QuerySet[Certificate]:
    """The wallet: only what ``user`` holds or acts for, whatever their role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Certificate.objects.none()
    return Certificate.objects.filter(_own_certificates(user))


def holders_visible_to(user) -> QuerySet[Holder]:
    """The holders ``user`` may see: those they act for, the holders of certificates they may see."""
    holders = Holder.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return holders.none()
    if user.sees_whole_district:
        return holders
    return holders.filter(Q(_acting(user)) | Q(pk__in=certificates_visible_to(user).values("holder_id")))


def holder_shows_identity_to(holder: Holder, user) -> bool:
    """Only the holder (the person, or whoever acts for the organisation) sees the full identity number."""
    return holder.pk in holder_ids_acting_for(user)


def licence_kinds_issued() -> QuerySet[LicenceKind]:
    return LicenceKind.objects.filter(active=True).select_related("department")


def _own_applications(user) -> Q:
    """The applications ``user`` makes or follows for a holder: in full as the person or the legal
    representative; as an agent, those of the licence kinds the authorisation names (all when none)."""
    now = timezone.now()
    own = Q(holder__kind=HolderKind.PERSON, holder__user=user) | Q(holder__kind=HolderKind.ORGANISATION,
                                                                   holder__representative=user)
    for organisation_id, kinds in Authorisation.objects.filter(
            agent=user, withdrawn_at__isnull=True, valid_from__lte=now, valid_until__gt=now,
    ).values_list("organisation_id", "kinds"):
        own |= Q(holder_id=organisation_id, **({"kind__licence_kind__code__in": kinds} if kinds else {}))
    return own


def applications_visible_to(user) -> QuerySet[Application]:
    """The applications ``user`` may see: their own (for a holder they act for), those on a workflow with a step
    they hold (the staff of every organisation on the way), and all for the district-wide roles."""
    applications = Application.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return applications.none()
    if user.sees_whole_district:
        return applications
    from approvals.applications import APPLICATION_WORKFLOW
    from core.workflow.steps import workflow_steps_held_by

    held = workflow_steps_held_by(workflow=APPLICATION_WORKFLOW, user=user)
    return applications.filter(_own_applications(user) | Q(case__definition_id__in=held.values("definition_id")))


def material_uploads_visible_to(user, queryset: QuerySet[MaterialUpload]) -> QuerySet[MaterialUpload]:
    """An application's uploads: seen by whoever sees the application."""
    return queryset.filter(application__in=applications_visible_to(user).values("pk"))


def applications_of(user) -> QuerySet[Application]:
    """The applicant's own list: the applications of the holders ``user`` acts for, whatever their role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Application.objects.none()
    return Application.objects.filter(_own_applications(user))


def application_queue(user, *, overdue: bool = False, step: str | None = None,
                      now=None) -> QuerySet[Application]:
    """A step holder's queue: the applications waiting at a step ``user`` holds, the earliest deadline first."""
    from approvals.applications import APPLICATION_WORKFLOW
    from core.workflow.steps import workflow_cases_waiting_on

    cases = workflow_cases_waiting_on(workflow=APPLICATION_WORKFLOW, user=user)
    if step is not None:
        cases = cases.filter(step__code=step)
    if overdue:
        cases = cases.filter(deadline__lt=now or timezone.now())
    return (Application.objects.filter(case__in=cases.values("pk"))
            .order_by("case__deadline", "id"))


def authorisations_of(user) -> QuerySet[Authorisation]:
    """The authorisations ``user`` granted as a legal representative or holds as an agent, newest first."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Authorisation.objects.none()
    return (Authorisation.objects.filter(Q(organisation__representative=user) | Q(agent=user))
            .select_related("organisation", "agent").order_by("-id"))
