"""Who works where in the parks, and who sees which passages, invitations and people."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from parks.models import (
    BarrierEvent,
    BarrierState,
    BoardPost,
    BoardResponse,
    BoardStatus,
    ChargingSession,
    Employee,
    EmployeeStatus,
    Enterprise,
    Invitation,
    Park,
    ParkingArea,
    ParkingSpace,
    ParkingStay,
    ParkStaff,
    Passage,
    PassCredential,
    Presence,
    PromoVideo,
    StaffRole,
    Vehicle,
)


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def staff_of(user, park: Park, *, roles=(StaffRole.OPERATOR,)) -> ParkStaff | None:
    """``user``'s active row of ``park``'s staff in one of ``roles`` (the operator's, by default), or None."""
    if not _signed_in(user):
        return None
    return ParkStaff.objects.filter(park=park, user=user, active=True, role__in=roles).first()


def employment_in(user, park: Park) -> Employee | None:
    """``user``'s working employment at an enterprise of ``park`` (the earliest, if several), or None: a blocked
    employee or one who left has none."""
    if not _signed_in(user):
        return None
    return (Employee.objects.select_related("enterprise", "building")
            .filter(user=user, enterprise__park=park, status=EmployeeStatus.ACTIVE).order_by("id").first())


def park_ids_staffed_by(user) -> frozenset[int]:
    """The parks whose operator staff ``user`` is (the ``park`` audience of the change feed)."""
    if not _signed_in(user):
        return frozenset()
    return frozenset(ParkStaff.objects.filter(user=user, active=True, role=StaffRole.OPERATOR)
                     .values_list("park_id", flat=True))


def parks_visible_to(user) -> QuerySet[Park]:
    """Parks, their buildings and gates are the same for every signed-in user (what the app's map shows)."""
    return Park.objects.all() if _signed_in(user) else Park.objects.none()


def _staffed(user) -> QuerySet:
    return ParkStaff.objects.filter(user=user, active=True, role=StaffRole.OPERATOR).values("park_id")


def employees_visible_to(user) -> QuerySet[Employee]:
    """An employee row: its person, and the operator's staff of its park."""
    if not _signed_in(user):
        return Employee.objects.none()
    if user.is_superuser:
        return Employee.objects.all()
    return Employee.objects.filter(Q(user=user) | Q(enterprise__park__in=_staffed(user)))


def enterprises_visible_to(user) -> QuerySet[Enterprise]:
    return Enterprise.objects.all() if _signed_in(user) else Enterprise.objects.none()


def invitations_visible_to(user) -> QuerySet[Invitation]:
    """An invitation (the visitor's name and phone): its host, and the operator's staff of its park."""
    if not _signed_in(user):
        return Invitation.objects.none()
    if user.is_superuser:
        return Invitation.objects.all()
    return Invitation.objects.filter(Q(host__user=user) | Q(park__in=_staffed(user)))


def passages_visible_to(user) -> QuerySet[Passage]:
    """A passage: the operator's staff of its park, the person who passed, and a visitor's host."""
    if not _signed_in(user):
        return Passage.objects.none()
    if user.is_superuser:
        return Passage.objects.all()
    return Passage.objects.filter(Q(park__in=_staffed(user)) | Q(employee__user=user) | Q(staff__user=user)
                                  | Q(invitation__host__user=user))


def credentials_of(user) -> QuerySet[PassCredential]:
    """The credentials provisioned to ``user``'s phone (as an employee or staff), newest first."""
    if not _signed_in(user):
        return PassCredential.objects.none()
    return PassCredential.objects.filter(Q(employee__user=user) | Q(staff__user=user))


def charging_sessions_of(user) -> QuerySet[ChargingSession]:
    """The EV charges of ``user`` as an employee (their card or their app's tag), newest first."""
    if not _signed_in(user):
        return ChargingSession.objects.none()
    return ChargingSession.objects.filter(employee__user=user).order_by("-started_at", "-id")


def presence_by_building(*, park: Park) -> list[tuple[int | None, int]]:
    """People in ``park`` now: ``(building id or None for the grounds, count)``, from their latest passages;
    someone in longer than ``PRESENCE_HOURS`` counts as gone.  One query."""
    since = timezone.now() - timedelta(hours=settings.PRESENCE_HOURS)
    rows = (Presence.objects.filter(park=park, inside=True, at__gte=since).values("building_id")
            .annotate(count=Count("id")).order_by("building_id"))
    return [(row["building_id"], row["count"]) for row in rows]


def vehicles_of(user) -> QuerySet[Vehicle]:
    """The vehicles ``user`` registered as an employee."""
    if not _signed_in(user):
        return Vehicle.objects.none()
    return Vehicle.objects.filter(employee__user=user)


def vehicles_visible_to(user) -> QuerySet[Vehicle]:
    """A registered vehicle (a plate tied to a person): its employee, and the operator's staff of its park."""
    if not _signed_in(user):
        return Vehicle.objects.none()
    if user.is_superuser:
        return Vehicle.objects.all()
    return Vehicle.objects.filter(Q(employee__user=user) | Q(park__in=_staffed(user)))


def barrier_events_visible_to(user) -> QuerySet[BarrierEvent]:
    """A vehicle at a barrier (its snapshot and plate): the operator's staff of its park, and the barrier
    controller's account that reported it."""
    if not _signed_in(user):
        return BarrierEvent.objects.none()
    if user.is_superuser:
        return BarrierEvent.objects.all()
    return BarrierEvent.objects.filter(Q(park__in=_staffed(user)) | Q(reported_by=user))


def stays_visible_to(user) -> QuerySet[ParkingStay]:
    """A stay in a car park (a plate, when it came and went): the operator's staff of its park."""
    if not _signed_in(user):
        return ParkingStay.objects.none()
    if user.is_superuser:
        return ParkingStay.objects.all()
    return ParkingStay.objects.filter(park__in=_staffed(user))


def barrier_queue(*, park: Park, slow_after: timedelta = timedelta(seconds=30)) -> QuerySet[BarrierEvent]:
    """The operator's queue of ``park``: vehicles whose plate the reader could not read, and those it has not read
    within ``slow_after`` (a worker down or behind), oldest first."""
    slow = timezone.now() - slow_after
    return (BarrierEvent.objects.filter(park=park)
            .filter(Q(state=BarrierState.UNREADABLE) | Q(state=BarrierState.READING, created_at__lt=slow))
            .order_by("at", "id"))


def _count(queryset: QuerySet, by: str):
    """A correlated ``COUNT(*)`` of ``queryset``'s rows whose ``by`` is the outer row (0 for none)."""
    counted = queryset.filter(**{by: OuterRef("pk")}).order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def parking_areas_with_occupancy(park_ids) -> QuerySet[ParkingArea]:
    """The car parks of ``park_ids`` with ``capacity`` (their spaces), ``occupied`` (vehicles inside now) and
    ``overstays`` annotated, in one query (correlated counts: no join multiplies the rows)."""
    inside = ParkingStay.objects.filter(exited_at__isnull=True)
    return (ParkingArea.objects.filter(park_id__in=park_ids)
            .annotate(capacity=_count(ParkingSpace.objects.all(), "area"), occupied=_count(inside, "area"),
                      overstays=_count(inside.filter(overstay_at__isnull=False), "area"))
            .order_by("park_id", "code"))


def promo_videos_visible_to(user) -> QuerySet[PromoVideo]:
    """An enterprise's promotional video (and its file): the park's operator and the enterprise's working
    employees (what the screens play is public; the videos waiting or rejected are not)."""
    if not _signed_in(user):
        return PromoVideo.objects.none()
    if user.is_superuser:
        return PromoVideo.objects.all()
    return PromoVideo.objects.filter(Q(park__in=_staffed(user)) | Q(
        enterprise__in=Employee.objects.filter(user=user, status=EmployeeStatus.ACTIVE).values("enterprise_id")))


def _working_enterprises(user):
    return Employee.objects.filter(user=user, status=EmployeeStatus.ACTIVE).values("enterprise_id")


def board_posts_visible_to(user) -> QuerySet[BoardPost]:
    """The board of the parks where ``user`` works or operates: published posts for everyone there; closed and
    hidden ones for their own enterprise and the operator."""
    if not _signed_in(user):
        return BoardPost.objects.none()
    if user.is_superuser:
        return BoardPost.objects.all()
    parks = Employee.objects.filter(user=user, status=EmployeeStatus.ACTIVE).values("enterprise__park_id")
    return BoardPost.objects.filter(Q(park__in=_staffed(user)) | Q(enterprise__in=_working_enterprises(user))
                                    | Q(park__in=parks, status=BoardStatus.PUBLISHED))


def board_responses_visible_to(user) -> QuerySet[BoardResponse]:
    """An answer on the board: the enterprise that posted, the one that answered, and the park's operator."""
    if not _signed_in(user):
        return BoardResponse.objects.none()
    if user.is_superuser:
        return BoardResponse.objects.all()
    mine = _working_enterprises(user)
    return BoardResponse.objects.filter(Q(post__park__in=_staffed(user)) | Q(enterprise__in=mine)
                                        | Q(post__enterprise__in=mine))
