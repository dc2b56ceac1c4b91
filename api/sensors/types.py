"""Watched households (personal data: their grid's workers, those workers' supervisors and the command centre see
them), their consent, their meter and the conditions the watch found, each with its incident."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Annotated

import strawberry
from django.db.models import Prefetch
from strawberry import relay

from api.context import viewer
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Restricted
from core.restriction import visible
from gridapp.incidents.models import Event
from gridapp.sensors.models import ConditionKind, Household, WatchCondition

if TYPE_CHECKING:
    from api.incidents.types import EventType

ConditionKindEnum = strawberry.enum(ConditionKind, name="WatchConditionKind")


@strawberry.type(name="HouseholdConsent")
class ConsentInfo:
    given_by: str
    relation: str = strawberry.field(description="The giver's relation to the resident (本人: the resident).")
    given_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str


@strawberry.type(name="WaterMeter")
class MeterInfo:
    serial: str
    installed_at: datetime | None
    last_reading_at: datetime | None = strawberry.field(description="Null while the consent does not hold.")


@strawberry.type(name="WatchCondition", description="A condition the watch found: from when the readings date it, "
                                                    "until they were normal again, and its one incident.")
class ConditionInfo:
    kind: ConditionKindEnum
    started_at: datetime
    raised_at: datetime
    cleared_at: datetime | None = strawberry.field(description="When the readings were normal again.")
    closed_at: datetime | None
    event: Annotated[EventType, strawberry.lazy("api.incidents.types")] | None = strawberry.field(
        description="Its incident, if the viewer may see it.")


@strawberry.type(name="HouseholdRules", description="The watch's rules for this household.")
class RulesInfo:
    no_use_hours: int = strawberry.field(description="No water for this many hours of daytime: a welfare visit.")
    day_starts: time
    day_ends: time
    running_hours: int = strawberry.field(description="Water running without a pause this long: a possible leak.")
    silent_hours: int = strawberry.field(description="A meter silent this long: a maintenance task.")


@django_type(Household, name="Household", description="The home of an elderly person living alone, watched through "
                                                      "its water meter while consent holds.")
class HouseholdType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    code: str
    address: str
    lng: float
    lat: float
    resident_name: str
    resident_phone: str
    contact_name: str
    contact_phone: str
    emergency_name: str
    emergency_phone: str
    watched: bool = field(description="A consent holds: the watch runs, the readings show.")
    watched_since: datetime | None

    @field(select_related=["grid"], only=["grid__code"])
    def grid_code(self, root: Household) -> str:
        return root.grid.code

    @field(only=["no_use_hours", "day_starts", "day_ends", "running_hours", "silent_hours"])
    def rules(self, root: Household) -> RulesInfo:
        return RulesInfo(no_use_hours=root.no_use_hours, day_starts=root.day_starts, day_ends=root.day_ends,
                         running_hours=root.running_hours, silent_hours=root.silent_hours)

    @field(prefetch_related=["consents"], description="Every consent, the current one first.")
    def consents(self, root: Household) -> list[ConsentInfo]:
        return [ConsentInfo(given_by=c.given_by, relation=c.relation, given_at=c.given_at,
                            withdrawn_at=c.withdrawn_at, withdrawn_by=c.withdrawn_by)
                for c in sorted(root.consents.all(), key=lambda c: (c.withdrawn_at is None, c.given_at), reverse=True)]

    @field(prefetch_related=["meters"], only=["watched"], description="The meter in use, if any.")
    def meter(self, root: Household) -> MeterInfo | None:
        meter = next((m for m in root.meters.all() if m.active), None)
        if meter is None:
            return None
        return MeterInfo(serial=meter.serial, installed_at=meter.installed_at,
                         last_reading_at=meter.last_reading_at if root.watched else None)

    @field(prefetch_related=[lambda info: Prefetch(
        "conditions", to_attr="condition_list",
        # each condition's incident through the incidents' own rule, in one query per list
        queryset=WatchCondition.objects.order_by("-raised_at", "-id").prefetch_related(
            Prefetch("event", queryset=visible(Event, viewer(info).user))))],
           description="What the watch found, newest first, with the incidents raised.")
    def conditions(self, root: Household, info: strawberry.Info) -> list[ConditionInfo]:
        found = (root.condition_list if hasattr(root, "condition_list") else  # a household a mutation returned
                 list(root.conditions.order_by("-raised_at", "-id").prefetch_related(
                     Prefetch("event", queryset=visible(Event, viewer(info).user)))))
        return [ConditionInfo(kind=ConditionKind(c.kind), started_at=c.started_at, raised_at=c.raised_at,
                              cleared_at=c.cleared_at, closed_at=c.closed_at, event=c.event) for c in found]

    @field(only=["id"], description="The daily usage chart (PNG; ?days=30&lang=en), with the same bearer token.")
    def usage_chart_url(self, root: Household) -> str:
        return f"/exports/household-usage.png?household={relay.to_base64('Household', root.pk)}"


@strawberry.type(name="DailyWaterUse")
class DailyUseType:
    day: date
    litres: float


@strawberry.type(name="ReadingRefusalCount")
class RefusalCountType:
    day: date | None
    code: str
    count: int


@strawberry.type(name="HouseholdUsage", description="A household's water by day, while its consent holds.")
class UsageType:
    household: HouseholdType
    days: list[DailyUseType] = strawberry.field(description="Every day of the period, oldest first (empty while the "
                                                            "consent does not hold).")
    total_litres: float
    refused: list[RefusalCountType] = strawberry.field(description="Readings of its meter refused, per day and why.")
