"""Event statistics: counts, rates and resolution times per street, community, grid, department, category or period.

A selector: it reads, over exactly the events ``events_visible_to(user)`` returns, so a grid worker gets their
grids' figures, department staff their department's, the command centre everything.

Figures over every event (a viewer who sees the whole district, no filter) grouped by street, department,
category and/or month come from the rollup on PostgreSQL (``gridapp.incidents.rollup``: one query, the same figures).
Otherwise the counts are conditional aggregates of one GROUP BY query.  The resolution-time percentiles join
that query on PostgreSQL (``percentile_cont``); SQLite has no ordered-set aggregates, so in the embedded mode
(small data) a second query fetches the resolution times and Python interpolates them exactly as
``percentile_cont`` does.  Labels take one query per dimension, for the ids present.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Aggregate, Count, F, FloatField, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department
from core.i18n import localized
from gridapp.geography.models import Community, Grid, Street
from gridapp.incidents.models import OPEN_STATUSES, Event, EventCategory, EventStatus
from gridapp.incidents.rollup import rollup_cells
from gridapp.incidents.selectors import event_overdue, events_visible_to


class StatDimension(models.TextChoices):
    STREET = "street", gettext_lazy("Street")
    COMMUNITY = "community", gettext_lazy("Community")
    GRID = "grid", gettext_lazy("Grid")
    DEPARTMENT = "department", gettext_lazy("Department")
    CATEGORY = "category", gettext_lazy("Category")
    PERIOD = "period", gettext_lazy("Period")


class StatPeriod(models.TextChoices):
    DAY = "day", gettext_lazy("Day")
    WEEK = "week", gettext_lazy("Week")
    MONTH = "month", gettext_lazy("Month")


MAX_DIMENSIONS = 3
PERCENTILES = (0.5, 0.9)  # the median and the 90th percentile of resolution times
_TRUNC = {StatPeriod.DAY: TruncDay, StatPeriod.WEEK: TruncWeek, StatPeriod.MONTH: TruncMonth}
_PLACES = {StatDimension.STREET: Street, StatDimension.COMMUNITY: Community, StatDimension.GRID: Grid}
_CASE = ~Q(status=EventStatus.DUPLICATE)
_RESOLVED = _CASE & Q(resolution_seconds__isnull=False)
#: The dimensions the rollup keeps (a period only by month); ``gridapp.incidents.rollup``.
_ROLLUP_DIMENSIONS = {StatDimension.STREET: "streets", StatDimension.DEPARTMENT: "departments",
                      StatDimension.CATEGORY: "categories", StatDimension.PERIOD: "months"}


@dataclass(frozen=True)
class StatKey:
    """One group's value in one dimension; ``id`` is None for a period, whose code and label are its ISO date."""

    id: int | None
    code: str
    label: str


@dataclass(frozen=True)
class StatRow:
    """The figures of one group (``keys`` maps each dimension to its value; empty for the totals)."""

    keys: Mapping[str, StatKey]
    cases: int
    open: int
    closed: int
    resolved: int
    overdue: int
    duplicates: int
    median_resolution_hours: float | None
    p90_resolution_hours: float | None

    @property
    def overdue_rate(self) -> float:
        return self.overdue / self.cases if self.cases else 0.0

    @property
    def duplicate_rate(self) -> float:
        reports = self.cases + self.duplicates
        return self.duplicates / reports if reports else 0.0


class _Percentiles(Aggregate):
    """PostgreSQL's ``percentile_cont(ARRAY[fractions]) WITHIN GROUP (ORDER BY expression)``: one sort per group
    for all the fractions, each interpolated linearly; a list of floats, or None for a group without values."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY%(fractions)r::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())

    def __init__(self, expression, *, fractions: Sequence[float], **extra):
        super().__init__(expression, fractions=[float(fraction) for fraction in fractions], **extra)


def percentile_cont(ordered: Sequence[float], fraction: float) -> float:
    """What PostgreSQL's ``percentile_cont`` gives for ``ordered`` (sorted, not empty), with the same arithmetic."""
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def stat_grouping_check(*, group_by: Sequence[str], period: str | None) -> None:
    """Refuse a grouping the statistics cannot answer; raises ``ValidationError`` with code ``invalid_grouping``.

    One to three distinct dimensions; grouping by period needs a period (day, week or month).
    """
    def refuse(message: str):
        raise ValidationError(message, code="invalid_grouping")

    if not group_by:
        refuse(_("Group by at least one dimension."))
    if unknown := [name for name in group_by if name not in StatDimension.values]:
        refuse(_("Unknown dimension: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    if len(group_by) > MAX_DIMENSIONS:
        refuse(_("Group by at most %(count)d dimensions.") % {"count": MAX_DIMENSIONS})
    if len(set(group_by)) != len(group_by):
        refuse(_("Group by each dimension once."))
    if period is not None and period not in StatPeriod.values:
        refuse(_("The period is day, week or month."))
    if StatDimension.PERIOD in group_by and period is None:
        refuse(_("Grouping by period needs a period: day, week or month."))


def event_statistics(*, user, group_by: Sequence[str], period: str | None = None,
                     events: QuerySet[Event] | None = None, now: datetime | None = None) -> list[StatRow]:
    """The figures per group of ``group_by`` (in that order of dimensions), sorted by the groups' codes.

    Anyone may call it: the figures cover ``events`` (a narrowing, e.g. a filter; all by default) intersected
    with what ``user`` may see.  Periods are calendar days, ISO weeks or months in ``settings.TIME_ZONE``,
    by report time.  Costs one query for the figures when the rollup answers, else two (run side by side on
    PostgreSQL outside a transaction), and one per dimension for labels.  Raises ``ValidationError`` (code
    ``invalid_grouping``) for a grouping ``stat_grouping_check`` refuses.
    """
    stat_grouping_check(group_by=group_by, period=period)
    events = _visible(user, events)
    figures = _rollup_figures(events, group_by, period, now)
    if figures is None:
        columns = [name if name == StatDimension.PERIOD else f"{name}_id" for name in group_by]
        if StatDimension.PERIOD in group_by:
            events = events.annotate(period=_TRUNC[period]("reported_at", tzinfo=timezone.get_default_timezone()))
        figures = _figures(events, columns, now)
    labels = {name: _labels(name, {group[i] for group in figures}) for i, name in enumerate(group_by)}
    rows = [_row({name: labels[name][value] for name, value in zip(group_by, group, strict=True)}, found)
            for group, found in figures.items()]
    return sorted(rows, key=lambda row: tuple(key.code for key in row.keys.values()))


def event_statistics_totals(*, user, events: QuerySet[Event] | None = None, now: datetime | None = None) -> StatRow:
    """The figures over all of ``events`` that ``user`` may see, as one row with no keys.

    The same rules and costs as ``event_statistics``; raises nothing.  Medians do not add up, hence queries
    of their own rather than a sum of the groups.
    """
    events = _visible(user, events)
    figures = _rollup_figures(events, [], None, now)
    if figures is None:
        figures = _figures(events, [], now)
    return _row({}, figures.get((), _empty()))


def _visible(user, events: QuerySet[Event] | None) -> QuerySet[Event]:
    visible = events_visible_to(user)
    return visible if events is None else events & visible


def _empty() -> dict:
    return {"cases": 0, "open": 0, "closed": 0, "resolved": 0, "overdue": 0, "duplicates": 0, "percentiles": None}


def _figures(events: QuerySet, columns: list[str], now: datetime | None) -> dict[tuple, dict]:
    """Each group's counts and resolution percentiles.

    The counts come from one row per group and status, folded here: grouping by status is cheaper for
    PostgreSQL than six filtered counts per row.  The percentiles come from a second query over the resolved
    cases (PostgreSQL's ordered-set aggregate, fed in order by the covering index; Python on SQLite).
    Both read the ``gridapp_event_statistics`` index alone when grouping by street and category.
    """
    late = Q(was_overdue=True) | event_overdue(now)
    # Counting columns of the covering index keeps the query on the index alone.
    by_status = _grouped(events, [*columns, "status"], n=Count("category"), late=Count("category", filter=late),
                         resolved=Count("resolution_seconds"))
    resolved = events.filter(_RESOLVED)
    if connections[events.db].vendor == "postgresql":
        in_order = _Percentiles(F("resolution_seconds"), fractions=PERCENTILES)
        by_status, found = _side_by_side(
            events.db, lambda: list(by_status),
            (lambda: list(_grouped(resolved, columns, percentiles=in_order))) if columns
            else (lambda: [resolved.order_by().aggregate(percentiles=in_order)]))
        percentiles = {tuple(row[column] for column in columns): row["percentiles"] for row in found}
    else:
        percentiles = {group: [percentile_cont(seconds, fraction) for fraction in PERCENTILES]
                       for group, seconds in _resolution_seconds(resolved, columns).items()}
    figures: dict[tuple, dict] = {}
    for row in by_status:
        found = figures.setdefault(tuple(row[column] for column in columns), _empty())
        if row["status"] == EventStatus.DUPLICATE:
            found["duplicates"] += row["n"]
            continue
        found["cases"] += row["n"]
        found["overdue"] += row["late"]
        found["resolved"] += row["resolved"]
        found["open"] += row["n"] if row["status"] in OPEN_STATUSES else 0
        found["closed"] += row["n"] if row["status"] == EventStatus.CLOSED else 0
    for group, values in percentiles.items():
        if group in figures:
            figures[group]["percentiles"] = values
    return figures


def _rollup_figures(events: QuerySet, group_by: Sequence[str], period: str | None,
                    now: datetime | None) -> dict[tuple, dict] | None:
    """``_figures`` from the rollup, when it can answer: every event (``events`` unfiltered: the viewer sees
    all and nothing narrows them), grouped by its dimensions only, a period only by month; else None.

    The counts add up over the rollup's rows; overdue adds the open deadlines before ``now``; each group's
    percentiles come from its rows' resolution times merged, partitioned at the ranks ``percentile_cont``
    reads (the same values, the same arithmetic: the same figures to the last bit).
    """
    if (events.query.where or events.query.is_sliced or events.query.distinct or events.query.combinator
            or any(name not in _ROLLUP_DIMENSIONS for name in group_by)
            or (StatDimension.PERIOD in group_by and period != StatPeriod.MONTH)):
        return None
    cells = rollup_cells(using=events.db)
    if cells is None:
        return None
    columns = [getattr(cells, _ROLLUP_DIMENSIONS[name]) for name in group_by]
    if columns:
        keys, group_of = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        group_of = group_of.ravel()
    else:
        keys, group_of = np.zeros((1, 0), dtype=np.int64), np.zeros(len(cells.cases), dtype=np.int64)
    count = len(keys)

    def total(values: np.ndarray) -> list[int]:
        return np.bincount(group_of, weights=values, minlength=count).astype(np.int64).tolist()

    sums = {name: total(getattr(cells, name)) for name in ("cases", "open", "closed", "resolved", "duplicates")}
    sums["overdue"] = total(cells.late(now or timezone.now()))
    # Each group's resolution times side by side: the rows put in group order (a few thousand), their times
    # gathered in that order (one pass over the times, no sort).
    counts = cells.resolution_counts
    rows = np.argsort(group_of, kind="stable")
    taken = counts[rows]
    times = cells.resolution_seconds[np.arange(taken.sum()) + np.repeat((np.cumsum(counts) - counts)[rows]
                                                                        - (np.cumsum(taken) - taken), taken)]
    ends = np.cumsum(total(counts)).tolist()
    period_at = group_by.index(StatDimension.PERIOD) if StatDimension.PERIOD in group_by else None
    figures = {}
    for index, key in enumerate(keys.tolist()):
        if period_at is not None:
            key[period_at] = cells.month_start(key[period_at])
        found = {name: values[index] for name, values in sums.items()}
        start = ends[index - 1] if index else 0
        found["percentiles"] = _percentiles(times[start:ends[index]])
        figures[tuple(key)] = found
    return figures


def _percentiles(times: np.ndarray) -> list[float] | None:
    """``percentile_cont`` at ``PERCENTILES`` of unordered ``times``: only the ranks it reads are put in order."""
    if not len(times):
        return None
    positions = [fraction * (len(times) - 1) for fraction in PERCENTILES]
    ranks = sorted({rank for position in positions for rank in (math.floor(position), math.ceil(position))})
    ordered = np.partition(times, ranks)
    return [float(percentile_cont(ordered, fraction)) for fraction in PERCENTILES]


def _grouped(events: QuerySet, columns: list[str], **aggregates):
    """``events`` grouped by ``columns`` (no default ordering: it would join the GROUP BY), lazily."""
    return events.values(*columns).order_by().annotate(**aggregates)


def _side_by_side(alias: str, first: Callable[[], list], second: Callable[[], list]) -> tuple[list, list]:
    """Run two queries at once, the second on a connection of its own (PostgreSQL has a core per query to
    give).  Inside a transaction another connection could not see its writes: then one after the other."""
    if connections[alias].in_atomic_block:
        return first(), second()

    def evaluate() -> list:
        try:
            return second()
        finally:
            connections.close_all()  # this thread's connection, back to the pool

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(evaluate)
        return first(), pending.result()


def _resolution_seconds(resolved: QuerySet, columns: list[str]) -> dict[tuple, list[float]]:
    """Each group's resolution times in seconds, sorted (SQLite only: the embedded mode's data is small)."""
    seconds = defaultdict(list)
    for *group, resolution_seconds in resolved.values_list(*columns, "resolution_seconds").order_by():
        seconds[tuple(group)].append(resolution_seconds)
    return {group: sorted(times) for group, times in seconds.items()}


def _row(keys: dict[str, StatKey], found: dict) -> StatRow:
    median, p90 = [seconds / 3600 for seconds in found["percentiles"]] if found.get("percentiles") else [None, None]
    return StatRow(keys=keys, cases=found["cases"], open=found["open"], closed=found["closed"],
                   resolved=found["resolved"], overdue=found["overdue"], duplicates=found["duplicates"],
                   median_resolution_hours=median, p90_resolution_hours=p90)


def _labels(dimension: str, values: set) -> dict:
    """Each value's key in ``dimension``: one query for the names of the ids present."""
    if dimension == StatDimension.PERIOD:
        return {value: StatKey(None, value.date().isoformat(), value.date().isoformat()) for value in values}
    if dimension == StatDimension.CATEGORY:
        return {category.pk: StatKey(category.pk, category.code, category.display_name())
                for category in EventCategory.objects.filter(pk__in=values).only("code", "name", "name_en")}
    if dimension == StatDimension.DEPARTMENT:
        return {pk: StatKey(pk, code, localized(name, name_en)) for pk, code, name, name_en
                in Department.objects.filter(pk__in=values).values_list("pk", "code", "name", "name_en")}
    return {pk: StatKey(pk, code, name)
            for pk, code, name in _PLACES[dimension].objects.filter(pk__in=values).values_list("pk", "code", "name")}
