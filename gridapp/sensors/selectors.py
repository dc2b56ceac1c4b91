"""Who sees the watched households and their readings (personal data), and the readings summed per day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from gridapp.geography import selectors as geography
from gridapp.sensors.models import Household, MeterReading, WatchCondition


def households_visible_to(user) -> QuerySet[Household]:
    """A watched household (a resident living alone, their contacts, their water): the grid workers of its grid,
    the supervisors of its community or street, and the command centre.  Department staff do not: they see the
    incidents routed to them, not the homes behind them."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Household.objects.none()
    if user.sees_whole_district:
        return Household.objects.all()
    return Household.objects.filter(Q(grid_id__in=geography.grid_ids_of_worker(user))
                                    | Q(grid_id__in=geography.grid_ids_supervised_by(user)))


def households_kept_by(user) -> QuerySet[Household]:
    """The households whose consent ``user`` may record or withdraw: those they see, except for a read-only role
    (the auditor)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Household.objects.none()
    if user.sees_whole_district and not user.commands_district:
        return Household.objects.none()
    return households_visible_to(user)


def readings_visible_to(user) -> QuerySet[MeterReading]:
    """Readings of the households ``user`` sees, while their consent holds: a withdrawn consent hides them all."""
    return MeterReading.objects.filter(meter__household__in=households_visible_to(user).filter(watched=True)
                                       .values("pk"))


def conditions_visible_to(user) -> QuerySet[WatchCondition]:
    return WatchCondition.objects.filter(household__in=households_visible_to(user).values("pk"))


def household_daily_usage(household: Household, *, days: int, today: date | None = None) -> list[tuple[date, float]]:
    """Litres used per day (the district's days) over the last ``days`` days up to ``today``, every day listed (0
    where nothing was used or heard), or nothing while the consent does not hold."""
    if not household.watched:
        return []
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    zone = timezone.get_default_timezone()
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    used = dict(MeterReading.objects.filter(meter__household=household, at__gte=start, at__lt=end, used__gt=0)
                .annotate(day=TruncDate("at", tzinfo=zone)).values("day").annotate(litres=Sum("used"))
                .values_list("day", "litres"))
    return [(first + timedelta(days=offset), float(used.get(first + timedelta(days=offset)) or 0.0))
            for offset in range(days)]
