"""Event statistics as files: a CSV or Excel table, a PNG or SVG chart; a camera's people flow as a chart.

``GET /exports/event-statistics.{csv,xlsx,png,svg}`` takes the query string that ``eventStatistics`` hands out
(``groupBy=street,category&period=month&departmentCode=...``, see ``api.incidents.statistics``) and the same bearer
token as ``/graphql/``; a session cookie does not count.  The figures are the viewer's, as over GraphQL.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.services import AuthError, bearer_authenticate
from api.base.charts import chart_figure, chart_response
from api.base.ids import node_pk_or_none
from api.base.tables import table_csv, table_xlsx
from api.errors import contains_nul, invalid_text_message, json_error, unauthorized_response
from api.incidents.statistics import statistics_compute, statistics_params_parse
from gridapp.incidents.statistics import StatDimension, StatKey, StatPeriod, StatRow
from vision.selectors import MAX_FLOW_HOURS, camera_flow, cameras_visible_to

CHART_BARS = 25  # more bars than a wall screen can label legibly
CHART_SERIES = 8  # more colours than a reader tells apart in a legend: the rest are summed as "Other"
#: Half the width a period's point stands for, so one day (or week, month) is not drawn on an axis of years.
PERIOD_HALF_DAYS = {StatPeriod.DAY: 0.5, StatPeriod.WEEK: 3.5, StatPeriod.MONTH: 15.0}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return json_error(status, code, message)


@require_GET
def statistics_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The viewer's figures as ``fmt``: 401 without a valid bearer token, 400 (``invalid_grouping``,
    ``invalid_filter``) for parameters it cannot take."""
    try:
        user, _token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)
    except AuthError as error:
        return unauthorized_response(error)
    if any(contains_nul(values) for values in request.GET.lists()):
        return _error(400, "invalid_text", invalid_text_message())  # PostgreSQL cannot compare text with NUL
    try:
        group_by, period, filters = statistics_params_parse(request.GET)
    except ValidationError as error:
        return _error(400, error.code, " ".join(error.messages))
    rows, totals = statistics_compute(user, group_by=group_by, period=period, filters=filters)
    response = _RENDERERS[fmt](group_by=group_by, period=period, rows=rows, totals=totals)
    response["Cache-Control"] = "private, no-store"  # the viewer's own figures
    return response


def _filename(group_by: list[str], extension: str) -> str:
    return f"event-statistics-{'-'.join(group_by)}-{timezone.localdate().isoformat()}.{extension}"





# The table: which columns, what each row holds.  A dimension takes a code column and a name column
# (a period only its first day); then the figures, each with its kind for formatting.
def _columns(group_by: list[str], period: str | None) -> list[tuple[str, str]]:
    columns = []
    for name in group_by:
        dimension = StatDimension(name)
        if dimension == StatDimension.PERIOD:
            columns.append((str(StatPeriod(period).label), "text"))
        else:
            columns += [(_("%(dimension)s code") % {"dimension": dimension.label}, "text"),
                        (str(dimension.label), "text")]
    return columns + [
        (_("Cases"), "count"), (_("Open"), "count"), (_("Closed"), "count"), (_("Resolved"), "count"),
        (_("Overdue"), "count"), (_("Overdue rate"), "rate"), (_("Duplicate reports"), "count"),
        (_("Duplicate rate"), "rate"), (_("Median resolution (hours)"), "hours"),
        (_("90th percentile resolution (hours)"), "hours"),
    ]


def _cells(row: StatRow, group_by: list[str]) -> list:
    keys = []
    for name in group_by:
        key = row.keys.get(name)
        if name != StatDimension.PERIOD:
            keys.append(key.code if key else "")
        keys.append(key.label if key else "")
    if not row.keys:
        keys[0] = _("Total")
    return keys + [row.cases, row.open, row.closed, row.resolved, row.overdue, row.overdue_rate, row.duplicates,
                   row.duplicate_rate, row.median_resolution_hours, row.p90_resolution_hours]





def _csv(*, group_by: list[str], period: str | None, rows: list[StatRow], totals: StatRow) -> HttpResponse:
    return table_csv(_columns(group_by, period), [_cells(row, group_by) for row in [*rows, totals]],
                     _filename(group_by, "csv"))


def _xlsx(*, group_by: list[str], period: str | None, rows: list[StatRow], totals: StatRow) -> HttpResponse:
    return table_xlsx(_("Event statistics"), _columns(group_by, period),
                      [_cells(row, group_by) for row in [*rows, totals]], _filename(group_by, "xlsx"))





def _chart(*, fmt: str, group_by: list[str], period: str | None, rows: list[StatRow],
           totals: StatRow) -> HttpResponse:
    return chart_response(fmt, statistics_figure(group_by=group_by, period=period, rows=rows, totals=totals))


def statistics_figure(*, group_by: list[str], period: str | None, rows: list[StatRow], totals: StatRow):
    """The chart of the figures, every dimension drawn, names in the reader's language: over time when grouped by
    period (a line per value of the other dimensions), else bars per value of the first dimension, split by
    the values of the others."""
    dimensions = [StatDimension(name) for name in group_by]
    over_time = StatDimension.PERIOD in dimensions
    axis = StatDimension.PERIOD if over_time else dimensions[0]
    others = [dimension for dimension in dimensions if dimension != axis]

    def draw(axes) -> None:
        if not rows:
            axes.text(0.5, 0.5, _("No events"), ha="center", va="center", fontsize=28, transform=axes.transAxes)
            axes.set_axis_off()
        elif over_time:
            _lines(axes, rows, others, period)
        else:
            _bars(axes, rows, axis, others)
        names = [str(StatPeriod(period).label) if d == StatDimension.PERIOD else str(d.label) for d in dimensions]
        title = _("Cases by %(dimension)s") % {"dimension": " × ".join(names)}
        summary = _("%(cases)d cases, %(overdue)d overdue (%(rate).1f%%)") % {
            "cases": totals.cases, "overdue": totals.overdue, "rate": totals.overdue_rate * 100}
        axes.set_title(f"{title}\n{summary}", loc="left")

    return chart_figure(draw)


def _series_name(row: StatRow, dimensions: list[StatDimension]) -> str:
    return " · ".join(row.keys[dimension].label for dimension in dimensions)


def _top_series(rows: list[StatRow], dimensions: list[StatDimension]) -> list[str]:
    """The names of the ``CHART_SERIES`` combinations of ``dimensions`` with the most cases (ties by name); the
    others are drawn together as "Other"."""
    cases = defaultdict(int)
    for row in rows:
        cases[_series_name(row, dimensions)] += row.cases
    return sorted(cases, key=lambda name: (-cases[name], name))[:CHART_SERIES]


def _lines(axes, rows: list[StatRow], others: list[StatDimension], period: str | None) -> None:
    """Cases (and overdue) per period; split by the other dimensions, one line per value (the largest
    ``CHART_SERIES``, the rest as "Other")."""
    days = sorted({date.fromisoformat(row.keys[StatDimension.PERIOD].code) for row in rows})
    lines: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    if others:
        top = set(_top_series(rows, others))
        for row in rows:
            name = _series_name(row, others)
            lines[name if name in top else _("Other")][date.fromisoformat(row.keys[StatDimension.PERIOD].code)] += \
                row.cases
        order = [*sorted(top, key=lambda name: -sum(lines[name].values())), _("Other")]
        for name in (name for name in order if name in lines):
            axes.plot(days, [lines[name][day] for day in days], marker="o", linewidth=2.5, label=name)
    else:
        for row in rows:
            day = date.fromisoformat(row.keys[StatDimension.PERIOD].code)
            lines[_("Cases")][day] += row.cases
            lines[_("Overdue")][day] += row.overdue
        axes.plot(days, [lines[_("Cases")][day] for day in days], marker="o", linewidth=3, label=_("Cases"))
        axes.plot(days, [lines[_("Overdue")][day] for day in days], marker="o", linewidth=3, color="#c53030",
                  label=_("Overdue"))
    _period_axis(axes, days, period)
    axes.set_ylabel(_("Number of cases"))
    axes.set_ylim(bottom=0)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=12 if others else None)


def _period_axis(axes, days: list[date], period: str | None) -> None:
    """The time axis spans the periods drawn (half a period either side), one tick per period while they fit."""
    from matplotlib.dates import AutoDateLocator

    half = timedelta(days=PERIOD_HALF_DAYS[StatPeriod(period)])
    axes.set_xlim(datetime.combine(days[0], time()) - half, datetime.combine(days[-1], time()) + half)
    if len(days) <= 12:
        axes.set_xticks(days, [day.strftime("%Y-%m" if period == StatPeriod.MONTH else "%Y-%m-%d") for day in days])
    else:
        _date_axis(axes, AutoDateLocator(), None)
    axes.set_xlabel(str(StatPeriod(period).label))


def _date_axis(axes, locator, zone) -> None:
    """Dates and times in figures (2026-11-25, 14:00), not month names in English on a Chinese chart."""
    from matplotlib.dates import ConciseDateFormatter

    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(
        locator, tz=zone, formats=["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%H:%M:%S"],
        zero_formats=["", "%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M"],
        offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))


def _bars(axes, rows: list[StatRow], dimension: StatDimension, others: list[StatDimension]) -> None:
    """Cases per value of ``dimension``, the most on top: beside the overdue when it is the only dimension, else
    stacked by the values of the others (the largest ``CHART_SERIES``, the rest as "Other") with the overdue
    written at the bar's end."""
    totals: dict[StatKey, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row.keys[dimension]][0] += row.cases
        totals[row.keys[dimension]][1] += row.overdue
    shown = sorted(totals, key=lambda key: (-totals[key][0], key.code))[:CHART_BARS][::-1]
    places = list(range(len(shown)))
    if others:
        top = _top_series(rows, others)
        stacks: dict[str, dict[StatKey, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            name = _series_name(row, others)
            stacks[name if name in top else _("Other")][row.keys[dimension]] += row.cases
        left = [0] * len(shown)
        for name in (name for name in [*top, _("Other")] if name in stacks):
            widths = [stacks[name][key] for key in shown]
            axes.barh(places, widths, left=left, height=0.7, label=name,
                      color="#a0aec0" if name == _("Other") else None)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for place, key in zip(places, shown, strict=True):
            cases, overdue = totals[key]
            axes.annotate(_("%(cases)d (%(overdue)d overdue)") % {"cases": cases, "overdue": overdue},
                          xy=(cases, place), xytext=(4, 0), textcoords="offset points", va="center", fontsize=12)
        axes.legend(loc="lower right", fontsize=12, title=" · ".join(str(d.label) for d in others))
    else:
        cases = axes.barh([y + 0.2 for y in places], [totals[key][0] for key in shown], height=0.4,
                          label=_("Cases"), color="#2b6cb0")
        overdue = axes.barh([y - 0.2 for y in places], [totals[key][1] for key in shown], height=0.4,
                            label=_("Overdue"), color="#c53030")
        axes.bar_label(cases, padding=4, fontsize=12)
        axes.bar_label(overdue, padding=4, fontsize=12)
        axes.legend(loc="lower right")
    axes.set_yticks(places, [key.label for key in shown])
    axes.set_xlabel(_("Number of cases"))
    axes.set_ylabel(str(dimension.label))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="x", alpha=0.3)
    if len(totals) > CHART_BARS:
        axes.annotate(_("The %(count)d with the most cases of %(total)d.") % {"count": CHART_BARS,
                                                                              "total": len(totals)},
                      xy=(1, 1.01), xycoords="axes fraction", ha="right", fontsize=12)


_RENDERERS = {
    "csv": _csv,
    "xlsx": _xlsx,
    "png": functools.partial(_chart, fmt="png"),
    "svg": functools.partial(_chart, fmt="svg"),
}


@require_GET
def camera_flow_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """``GET /exports/camera-flow.{png,svg}?camera=<Camera id>&hours=24``: a camera's people-flow series as a
    chart, with its alert threshold.  401 without a valid bearer token, 404 for a camera the viewer may not
    see, 400 for hours outside 1 to a week."""
    try:
        user, _token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)
    except AuthError as error:
        return unauthorized_response(error)
    try:
        hours = int(request.GET.get("hours", "24"))
    except ValueError:
        hours = 0
    camera_pk = node_pk_or_none(request.GET.get("camera", ""), "Camera")
    if not 1 <= hours <= MAX_FLOW_HOURS:
        return _error(400, "invalid_range", _("hours must be 1 to %(max)d.") % {"max": MAX_FLOW_HOURS})
    camera = cameras_visible_to(user).select_related("record").filter(pk=camera_pk).first() if camera_pk else None
    if camera is None:
        return _error(404, "not_found", _("Camera not found."))
    series = camera_flow(camera, hours=hours)
    return chart_response(fmt, flow_figure(name=camera.record.name, hours=hours, points=series.points,
                                           threshold=series.threshold, now=timezone.now()))


def flow_figure(*, name: str, hours: int, points: list, threshold: int | None, now):
    """A camera's people flow over the last ``hours`` before ``now``: the axis spans those hours, however few
    points there are, in local time."""
    def draw(axes) -> None:
        from matplotlib.dates import AutoDateLocator

        if not points:
            axes.text(0.5, 0.5, _("No flow counted"), ha="center", va="center", fontsize=28,
                      transform=axes.transAxes)
            axes.set_axis_off()
        else:
            zone = timezone.get_current_timezone()
            moments = [timezone.localtime(moment, zone) for moment, _count in points]
            axes.plot(moments, [count for _moment, count in points], marker="o", linewidth=2.5, color="#1f6feb",
                      label=_("People"))
            if threshold is not None:
                axes.axhline(threshold, color="#d1242f", linestyle="--", linewidth=2, label=_("Alert threshold"))
            axes.set_xlim(timezone.localtime(now - timedelta(hours=hours), zone), timezone.localtime(now, zone))
            _date_axis(axes, AutoDateLocator(tz=zone), zone)
            # Room above the highest point and the threshold line for the legend.
            axes.set_ylim(0, max([threshold or 0, *(count for _moment, count in points), 1]) * 1.25)
            axes.yaxis.get_major_locator().set_params(integer=True)
            axes.grid(axis="y", alpha=0.3)
            axes.legend(loc="upper left")
        axes.set_title(_("People flow at %(camera)s, last %(hours)d hours") % {"camera": name, "hours": hours},
                       loc="left")

    return chart_figure(draw)
