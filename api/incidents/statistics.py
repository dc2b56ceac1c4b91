"""Event statistics over GraphQL, and the query string its exports share (``api/exports.py``).

The figures come from ``gridapp.incidents.statistics.event_statistics`` over the viewer's events, so a grid worker
gets their grids' figures, department staff their department's, the command centre everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import urlencode

import strawberry
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from graphql import GraphQLError
from strawberry import relay

from api.base.ids import node_pk
from api.context import viewer
from api.errors import GraphQLCodedError
from api.incidents.filters import EventFilter, events_filtered
from api.incidents.types import EventSourceEnum, EventStatusEnum
from api.permissions import IsAuthenticated
from gridapp.incidents.models import Event
from gridapp.incidents.statistics import (
    StatDimension,
    StatKey,
    StatPeriod,
    StatRow,
    event_statistics,
    event_statistics_totals,
    stat_grouping_check,
)

StatDimensionEnum = strawberry.enum(StatDimension, name="StatDimension")
StatPeriodEnum = strawberry.enum(StatPeriod, name="StatPeriod")
EXPORT_FORMATS = ("csv", "xlsx", "png", "svg")
#: The relay type of each dimension's ids (a period has none).
_NODE_TYPES = {StatDimension.STREET: "Street", StatDimension.COMMUNITY: "Community", StatDimension.GRID: "Grid",
               StatDimension.DEPARTMENT: "Department", StatDimension.CATEGORY: "EventCategory"}


@strawberry.type(name="StatKey", description="A group's value in one dimension.")
class StatKeyType:
    dimension: StatDimensionEnum
    id: relay.GlobalID | None = strawberry.field(description="The street, community, grid, department or "
                                                             "category; null for a period.")
    code: str = strawberry.field(description="The code; for a period its first day (ISO date).")
    label: str = strawberry.field(description="The name in the reader's language; for a period its first day.")


@strawberry.type(name="EventStatRow", description="The figures of one group, or of all of them (no keys).")
class EventStatRowType:
    keys: list[StatKeyType] = strawberry.field(description="In the order of `groupBy`.")
    cases: int = strawberry.field(description="Cases (duplicate reports are counted apart).")
    open: int
    closed: int
    resolved: int = strawberry.field(description="Cases with a resolution that holds (not returned).")
    overdue: int = strawberry.field(description="Cases escalated as overdue, or open past their deadline now.")
    overdue_rate: float = strawberry.field(description="overdue / cases; 0 without cases.")
    duplicates: int = strawberry.field(description="Duplicate reports linked to a case.")
    duplicate_rate: float = strawberry.field(description="duplicates / (cases + duplicates).")
    median_resolution_hours: float | None = strawberry.field(description="From report to resolution.")
    p90_resolution_hours: float | None = strawberry.field(description="90% of cases were resolved within it.")

    @classmethod
    def from_row(cls, row: StatRow) -> EventStatRowType:
        return cls(
            keys=[_key(StatDimension(name), key) for name, key in row.keys.items()], cases=row.cases, open=row.open,
            closed=row.closed, resolved=row.resolved, overdue=row.overdue, overdue_rate=row.overdue_rate,
            duplicates=row.duplicates, duplicate_rate=row.duplicate_rate,
            median_resolution_hours=row.median_resolution_hours, p90_resolution_hours=row.p90_resolution_hours)


def _key(dimension: StatDimension, key: StatKey) -> StatKeyType:
    node_type = _NODE_TYPES.get(dimension)
    return StatKeyType(dimension=dimension, id=relay.GlobalID(node_type, str(key.id)) if node_type else None,
                       code=key.code, label=key.label)


@strawberry.type(name="EventStatistics")
class EventStatisticsType:
    rows: list[EventStatRowType]
    user: strawberry.Private[object]
    events: strawberry.Private[QuerySet]
    csv_url: str = strawberry.field(description="The same figures as a CSV download (send the bearer token).")
    xlsx_url: str = strawberry.field(description="The same figures as an Excel workbook.")
    chart_url: str = strawberry.field(description="A PNG chart over the first dimension (`.svg` for vector).")

    @strawberry.field(description="The same figures over all the events at once (a query of its own: ask for it "
                                  "only when it is shown).")
    def totals(self) -> EventStatRowType:
        return EventStatRowType.from_row(event_statistics_totals(user=self.user, events=self.events))


def statistics_events(user, filters: EventFilter | None) -> QuerySet[Event]:
    """The events ``filters`` narrows to (the selector intersects them with what ``user`` may see).

    Duplicate reports always stay in: they are figures of their own, whatever ``includeDuplicates`` says.
    """
    if filters is None:
        return Event.objects.all()
    return events_filtered(Event.objects.all(), dataclasses.replace(filters, include_duplicates=True), user)


def statistics_compute(user, *, group_by: list[str], period: str | None,
                       filters: EventFilter | None) -> tuple[list[StatRow], StatRow]:
    """The groups' figures and the totals; raises ``ValidationError`` (``invalid_grouping``) for a bad grouping."""
    events = statistics_events(user, filters)
    rows = event_statistics(user=user, group_by=group_by, period=period, events=events)
    return rows, event_statistics_totals(user=user, events=events)


@strawberry.type
class StatisticsQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description=(
        "Counts, rates and resolution times of the events the viewer may see, grouped by one to three dimensions "
        "(a period dimension needs `period`); `filter` narrows the events as for `events`, duplicate reports "
        "always included. Errors: `invalid_grouping`."))
    def event_statistics(self, info: strawberry.Info, group_by: list[StatDimensionEnum],
                         period: StatPeriodEnum | None = None,
                         filter: EventFilter | None = None) -> EventStatisticsType:
        names = [dimension.value for dimension in group_by]
        period_name = period.value if period is not None else None
        user = viewer(info).user
        events = statistics_events(user, filter)
        try:
            rows = event_statistics(user=user, group_by=names, period=period_name, events=events)
        except ValidationError as error:
            raise GraphQLCodedError(" ".join(error.messages), "invalid_grouping") from None
        query = statistics_query_string(group_by=names, period=period_name, filters=filter)
        return EventStatisticsType(
            rows=[EventStatRowType.from_row(row) for row in rows], user=user, events=events,
            csv_url=f"{export_path('csv')}?{query}", xlsx_url=f"{export_path('xlsx')}?{query}",
            chart_url=f"{export_path('png')}?{query}")


def export_path(fmt: str) -> str:
    return reverse(f"event-statistics-{fmt}")


# The export endpoints take the GraphQL arguments as a query string: groupBy=street,category&period=month&...
# Each filter parameter: the EventFilter field, how to read it and how to write it.
@dataclasses.dataclass(frozen=True)
class _Param:
    field: str
    parse: Callable[[str], object]
    format: Callable[[object], str] = str


def _boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(text)
    return text == "true"


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _node_id(type_name: str) -> Callable[[str], relay.GlobalID]:
    """An id of ``type_name`` in the query string, refused now rather than inside the query."""
    return lambda text: relay.GlobalID(type_name, str(node_pk(text, type_name)))


_FILTER_PARAMS: Mapping[str, _Param] = {
    "status": _Param("status", lambda text: [EventStatusEnum(name) for name in text.split(",")],
                     lambda statuses: ",".join(status.value for status in statuses)),
    "open": _Param("open", _boolean, lambda value: "true" if value else "false"),
    "overdue": _Param("overdue", _boolean, lambda value: "true" if value else "false"),
    "categoryCode": _Param("category_code", str),
    "departmentCode": _Param("department_code", str),
    "gridId": _Param("grid_id", _node_id("Grid")),
    "communityId": _Param("community_id", _node_id("Community")),
    "streetId": _Param("street_id", _node_id("Street")),
    "source": _Param("source", EventSourceEnum, lambda source: source.value),
    "reportedAfter": _Param("reported_after", _moment, datetime.isoformat),
    "reportedBefore": _Param("reported_before", _moment, datetime.isoformat),
    "assignedToMe": _Param("assigned_to_me", _boolean, lambda value: "true" if value else "false"),
    "reportedByMe": _Param("reported_by_me", _boolean, lambda value: "true" if value else "false"),
    "search": _Param("search", str),
}


def statistics_query_string(*, group_by: list[str], period: str | None, filters: EventFilter | None) -> str:
    """The export endpoints' query string for these arguments (``statistics_params_parse`` reads it back)."""
    params = {"groupBy": ",".join(group_by)}
    if period is not None:
        params["period"] = period
    for name, param in _FILTER_PARAMS.items():
        value = getattr(filters, param.field, None)
        if value is not None and value is not strawberry.UNSET and value != []:
            params[name] = param.format(value)
    return urlencode(params, safe=",:")


def statistics_params_parse(params: Mapping[str, str]) -> tuple[list[str], str | None, EventFilter]:
    """Read an export's query string into a grouping, a period and a filter.

    Raises ``ValidationError``: code ``invalid_grouping`` for groupBy or period, ``invalid_filter`` for the rest.
    """
    group_by = [name.strip() for name in params.get("groupBy", "").split(",") if name.strip()]
    period = params.get("period") or None
    stat_grouping_check(group_by=group_by, period=period)
    values = {}
    for name, param in _FILTER_PARAMS.items():
        if (text := params.get(name)) is None:
            continue
        try:
            values[param.field] = param.parse(text.strip())
        except (ValueError, GraphQLError):
            raise ValidationError(_("The parameter %(name)s has a value it cannot take: %(value)s.") % {
                "name": name, "value": text[:100]}, code="invalid_filter") from None
    return group_by, period, EventFilter(**values)
