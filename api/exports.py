"""Event statistics as files: a CSV or Excel table, a PNG or SVG chart; a camera's people flow as a chart.

``GET /exports/event-statistics.{csv,xlsx,png,svg}`` takes the query string that ``eventStatistics`` hands out
(``groupBy=street,category&period=month&departmentCode=...``, see ``api.statistics``) and the same bearer
token as ``/graphql/``; a session cookie does not count.  The figures are the viewer's, as over GraphQL.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import unicodedata
from collections import defaultdict
from datetime import date
from io import BytesIO

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from strawberry import relay

from api.errors import contains_nul, invalid_text_message, json_error
from api.nodes import is_pk
from accounts.services import AuthError, token_authenticate
from api.statistics import statistics_compute, statistics_params_parse
from gridapp.statistics import StatDimension, StatKey, StatPeriod, StatRow
from vision.selectors import MAX_FLOW_HOURS, camera_flow, cameras_visible_to

#: Chinese-capable families, most wanted first; matplotlib's own DejaVu Sans has no hanzi.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK JP")
CHART_BARS = 25  # more bars than a wall screen can label legibly
XLSX_FORMATS = {"text": "@", "count": "0", "rate": "0.0%", "hours": "0.0"}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return json_error(status, code, message)


def bearer_user(request: HttpRequest):
    """The user of the request's bearer token; raises ``AuthError`` as ``/graphql/`` would."""
    scheme, _sep, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not scheme:
        raise AuthError("unauthenticated", _("Log in first: this needs an access token."))
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthError("token_invalid", _("Use the header 'Authorization: Bearer <token>'."))
    user, _token = token_authenticate(raw)
    return user


def unauthorized(error: AuthError) -> JsonResponse:
    response = _error(401, error.code, error.message)
    response["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{error.code}"'
    return response


@require_GET
def statistics_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The viewer's figures as ``fmt``: 401 without a valid bearer token, 400 (``invalid_grouping``,
    ``invalid_filter``) for parameters it cannot take."""
    try:
        user = bearer_user(request)
    except AuthError as error:
        return unauthorized(error)
    if any(contains_nul(values) for values in request.GET.lists()):
        return _error(400, "invalid_text", invalid_text_message())  # PostgreSQL cannot compare text with NUL
    try:
        group_by, period, filters = statistics_params_parse(request.GET)
    except ValidationError as error:
        return _error(400, error.code, " ".join(error.messages))
    # Without a Chinese font a chart is drawn in English: Chinese names would come out as boxes.
    english = fmt in ("png", "svg") and cjk_font() is None
    with translation.override("en") if english else contextlib.nullcontext():
        rows, totals = statistics_compute(user, group_by=group_by, period=period, filters=filters)
        response = _RENDERERS[fmt](group_by=group_by, period=period, rows=rows, totals=totals)
    response["Cache-Control"] = "private, no-store"  # the viewer's own figures
    return response


def _attachment(response: HttpResponse, group_by: list[str], extension: str) -> HttpResponse:
    name = f"event-statistics-{'-'.join(group_by)}-{timezone.localdate().isoformat()}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


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


def _text(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.1f}%"
    return f"{value:.1f}" if kind == "hours" else str(value)


def _csv(*, group_by: list[str], period: str | None, rows: list[StatRow], totals: StatRow) -> HttpResponse:
    columns = _columns(group_by, period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # Excel reads a CSV as UTF-8 (Chinese names) only after a byte-order mark
    writer = csv.writer(response)
    writer.writerow([header for header, _kind in columns])
    for row in [*rows, totals]:
        writer.writerow([_text(value, kind) for value, (_header, kind) in zip(_cells(row, group_by), columns,
                                                                               strict=True)])
    return _attachment(response, group_by, "csv")


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _xlsx(*, group_by: list[str], period: str | None, rows: list[StatRow], totals: StatRow) -> HttpResponse:
    # openpyxl and matplotlib load on the first export, not in every process that loads the URLs.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = _columns(group_by, period)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Event statistics")[:31]
    sheet.append([header for header, _kind in columns])
    for row in [*rows, totals]:
        sheet.append(_cells(row, group_by))
    for cell in (*sheet[1], *sheet[sheet.max_row]):
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, (header, kind) in enumerate(columns, start=1):
        cells = [cell for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index)]
        for cell in cells:
            cell.number_format = XLSX_FORMATS[kind]
        widest = max([_width(header), *(_width(_text(cell.value, kind)) for cell in cells)])
        sheet.column_dimensions[get_column_letter(index)].width = min(widest + 2, 60)
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _attachment(response, group_by, "xlsx")


@functools.cache
def cjk_font() -> str | None:
    """The first installed family of ``CJK_FAMILIES``, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _series(rows: list[StatRow], dimension: str) -> list[tuple[StatKey, int, int]]:
    """Cases and overdue cases per value of ``dimension``, summed over the other dimensions."""
    sums = defaultdict(lambda: [0, 0])
    for row in rows:
        sums[row.keys[dimension]][0] += row.cases
        sums[row.keys[dimension]][1] += row.overdue
    return [(key, cases, overdue) for key, (cases, overdue) in sums.items()]


def chart_response(fmt: str, draw) -> HttpResponse:
    """A 1920 x 1080 chart for the command-centre screen as PNG or SVG: ``draw(axes, font)`` fills it
    (``font``: the installed CJK family, or None)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    font = cjk_font()
    # Fonts are looked up when the figure is drawn, so the settings hold until it is saved.
    with rc_context({"font.family": "sans-serif", "font.sans-serif": [font] if font else ["DejaVu Sans"],
                     "font.size": 15, "axes.titlesize": 22, "axes.spines.top": False, "axes.spines.right": False}):
        figure = Figure(figsize=(16, 9), dpi=120, layout="constrained")
        draw(figure.add_subplot(), font)
        buffer = BytesIO()
        figure.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return HttpResponse(buffer.getvalue(), content_type="image/png" if fmt == "png" else "image/svg+xml")


def _chart(*, fmt: str, group_by: list[str], period: str | None, rows: list[StatRow],
           totals: StatRow) -> HttpResponse:
    dimension = StatDimension(group_by[0])
    series = _series(rows, dimension)

    def draw(axes, font) -> None:
        if not series:
            axes.text(0.5, 0.5, _("No events"), ha="center", va="center", fontsize=28, transform=axes.transAxes)
            axes.set_axis_off()
        elif dimension == StatDimension.PERIOD:
            _lines(axes, series, period)
        else:
            _bars(axes, series, dimension, drawable=font is not None)
        title = (_("Cases by %(dimension)s") % {"dimension": StatPeriod(period).label if
                                                 dimension == StatDimension.PERIOD else dimension.label})
        summary = _("%(cases)d cases, %(overdue)d overdue (%(rate).1f%%)") % {
            "cases": totals.cases, "overdue": totals.overdue, "rate": totals.overdue_rate * 100}
        axes.set_title(f"{title}\n{summary}", loc="left")

    return chart_response(fmt, draw)


def _lines(axes, series: list[tuple[StatKey, int, int]], period: str | None) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    series = sorted(series, key=lambda item: item[0].code)
    days = [date.fromisoformat(key.code) for key, _cases, _overdue in series]
    axes.plot(days, [cases for _key, cases, _overdue in series], marker="o", linewidth=3, label=_("Cases"))
    axes.plot(days, [overdue for _key, _cases, overdue in series], marker="o", linewidth=3, color="#c53030",
              label=_("Overdue"))
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlabel(str(StatPeriod(period).label))
    axes.set_ylabel(_("Number of cases"))
    axes.set_ylim(bottom=0)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left")


def _bars(axes, series: list[tuple[StatKey, int, int]], dimension: StatDimension, *, drawable: bool) -> None:
    """Cases and overdue side by side per value, the most cases on top."""
    shown = sorted(series, key=lambda item: (-item[1], item[0].code))[:CHART_BARS][::-1]
    places = range(len(shown))
    cases = axes.barh([y + 0.2 for y in places], [item[1] for item in shown], height=0.4, label=_("Cases"),
                      color="#2b6cb0")
    overdue = axes.barh([y - 0.2 for y in places], [item[2] for item in shown], height=0.4, label=_("Overdue"),
                        color="#c53030")
    axes.bar_label(cases, padding=4, fontsize=12)
    axes.bar_label(overdue, padding=4, fontsize=12)
    # A name the font cannot draw would be a row of boxes: its code is readable.
    axes.set_yticks(list(places), [key.label if drawable or key.label.isascii() else key.code
                                   for key, _cases, _overdue in shown])
    axes.set_xlabel(_("Number of cases"))
    axes.set_ylabel(str(dimension.label))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower right")
    if len(series) > CHART_BARS:
        axes.annotate(_("The %(count)d with the most cases of %(total)d.") % {"count": CHART_BARS,
                                                                              "total": len(series)},
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
        user = bearer_user(request)
    except AuthError as error:
        return unauthorized(error)
    try:
        hours = int(request.GET.get("hours", "24"))
        global_id = relay.GlobalID.from_id(request.GET.get("camera", ""))
        camera_pk = int(global_id.node_id) if global_id.type_name == "Camera" and is_pk(global_id.node_id) else None
    except (ValueError, TypeError):
        hours, camera_pk = 0, None
    if not 1 <= hours <= MAX_FLOW_HOURS:
        return _error(400, "invalid_range", _("hours must be 1 to %(max)d.") % {"max": MAX_FLOW_HOURS})
    camera = cameras_visible_to(user).select_related("record").filter(pk=camera_pk).first() if camera_pk else None
    if camera is None:
        return _error(404, "not_found", _("Camera not found."))
    series = camera_flow(camera, hours=hours)
    points, threshold = series.points, series.threshold

    def draw(axes, font) -> None:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        if not points:
            axes.text(0.5, 0.5, _("No flow counted"), ha="center", va="center", fontsize=28,
                      transform=axes.transAxes)
            axes.set_axis_off()
        else:
            moments = [timezone.localtime(moment) for moment, _count in points]
            axes.plot(moments, [count for _moment, count in points], marker="o", linewidth=2.5, color="#1f6feb",
                      label=_("People"))
            if threshold is not None:
                axes.axhline(threshold, color="#d1242f", linestyle="--", linewidth=2, label=_("Alert threshold"))
            locator = AutoDateLocator()
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=timezone.get_current_timezone()))
            axes.set_ylim(bottom=0)
            axes.grid(axis="y", alpha=0.3)
            axes.legend(loc="upper left")
        name = camera.record.name if font else camera.record.external_id
        axes.set_title(_("People flow at %(camera)s, last %(hours)d hours") % {"camera": name, "hours": hours},
                       loc="left")

    return chart_response(fmt, draw)
