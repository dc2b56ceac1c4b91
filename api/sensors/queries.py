"""Watched households as the viewer may see them, and one household's water by day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import strawberry
import strawberry_django
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk_or_none
from api.context import viewer
from api.errors import GraphQLCodedError
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from api.sensors.types import DailyUseType, HouseholdType, RefusalCountType, UsageType
from gridapp.sensors.models import Household, ReadingRefusal
from gridapp.sensors.selectors import household_daily_usage, households_visible_to

#: The longest period a household's usage is asked for.
MAX_USAGE_DAYS = 366


def household_of(user, household_id: relay.GlobalID) -> Household:
    pk = node_pk_or_none(household_id, "Household")
    household = households_visible_to(user).filter(pk=pk).first() if pk is not None else None
    if household is None:
        raise GraphQLCodedError(_("No such household, or not one you look after."), "not_found")
    return household


@strawberry.type
class SensorQuery:
    @strawberry_django.connection(CursorConnection[HouseholdType], permission_classes=[IsAuthenticated],
                                  description="Watched households the viewer may see (their grid's workers, those "
                                              "workers' supervisors, the command centre), by code.")
    def households(self, info: strawberry.Info, grid_code: str | None = None,
                   watched: bool | None = None) -> Iterable[Household]:
        households = households_visible_to(viewer(info).user)
        if grid_code:
            households = households.filter(grid__code=grid_code[:40])
        if watched is not None:
            households = households.filter(watched=watched)
        return households.order_by("code")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="A household's water by day over the last `days` (1 to 366), and its meter's "
                                  "refused readings: nothing while its consent does not hold.")
    def household_usage(self, info: strawberry.Info, household_id: relay.GlobalID, days: int = 30) -> UsageType:
        if not 1 <= days <= MAX_USAGE_DAYS:
            raise GraphQLCodedError(_("days must be 1 to %(max)d.") % {"max": MAX_USAGE_DAYS}, "invalid_range")
        household = household_of(viewer(info).user, household_id)
        series = household_daily_usage(household, days=days)
        refused = []
        if household.watched:
            since = timezone.localdate() - timedelta(days=days - 1)
            refused = [RefusalCountType(day=row["day"], code=row["code"], count=row["total"]) for row in
                       ReadingRefusal.objects.filter(serial__in=household.meters.values("serial"), day__gte=since)
                       .values("day", "code").annotate(total=Sum("count")).order_by("-day", "code")]
        return UsageType(household=household, days=[DailyUseType(day=day, litres=litres) for day, litres in series],
                         total_litres=sum(litres for _day, litres in series), refused=refused)
