"""Event statistics: the figures of a hand-built data set, who sees which, query counts, GraphQL and the exports.

The same expectations run on SQLite (percentiles in Python) and PostgreSQL (percentiles in SQL): equal numbers
on both backends are the proof that the Python interpolation is ``percentile_cont``'s.
"""

from __future__ import annotations

import csv
import io
import warnings
from datetime import datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image
from strawberry import relay

from gridapp.incidents.models import Event, EventStatus
from gridapp.incidents.services import event_report, event_transition
from gridapp.incidents.statistics import event_statistics, event_statistics_totals, percentile_cont
from tests.factories import CommunityFactory, GridFactory, StreetFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI)
DAY2 = datetime(2025, 3, 2, 7, 30, tzinfo=SHANGHAI)  # 1 March 23:30 in UTC: bucketed by the local day
STATS = """query($groupBy: [StatDimension!]!, $period: StatPeriod, $filter: EventFilter) {
  eventStatistics(groupBy: $groupBy, period: $period, filter: $filter) {
    rows { keys { dimension id code label } cases open closed resolved overdue overdueRate duplicates
           duplicateRate medianResolutionHours p90ResolutionHours }
    totals { keys { code } cases overdue duplicates medianResolutionHours p90ResolutionHours }
    csvUrl xlsxUrl chartUrl
} }"""


def report(user, code: str, lng: float, at: datetime, lat: float = 36.01) -> Event:
    return event_report(reporter=user, category_code=code, lng=lng, lat=lat, at=at).event


def shape(event: Event, **values) -> None:
    """Set times and flags as if the event had lived them (through save(), which derives resolution_seconds)."""
    event.refresh_from_db()
    for name, value in values.items():
        setattr(event, name, value)
    event.save()


@pytest.fixture
def data(users, district, event_categories):
    """Street A (the district's): in worker's grid three resolved cases of 02-05 (1, 2 and 3 hours, the second
    closed), a duplicate report of the first, an open 11-01 case past its deadline; in worker2's grid two
    resolved 02-05 cases (4 hours and escalated as overdue, 10 hours).  Street B: an open 02-05 case on time
    and a rejected 11-01 case.  Day 1 has worker's grid, day 2 the rest."""
    street_b = StreetFactory(code="ZB", name="第二街道", lng=120.50, lat=36.00, size=0.1)
    grid_b = GridFactory(community=CommunityFactory(street=street_b, lng=120.50, lat=36.00, size=0.1),
                         lng=120.50, lat=36.00, size=0.05)
    operator = users["operator"]
    made = {
        "e1": report(operator, "02-05", 120.31, DAY1),
        "e2": report(operator, "02-05", 120.32, DAY1),
        "e3": report(operator, "02-05", 120.33, DAY1),
        "e4": report(operator, "11-01", 120.31, DAY1, lat=36.02),
        "d1": report(operator, "02-05", 120.3101, DAY1),  # about 9 m from e1: a duplicate
        "e5": report(operator, "02-05", 120.36, DAY2),
        "e6": report(operator, "02-05", 120.37, DAY2),
        "e7": report(operator, "02-05", 120.51, DAY2),
        "e8": report(operator, "11-01", 120.52, DAY2),
    }
    assert made["d1"].status == EventStatus.DUPLICATE and made["e7"].grid_id == grid_b.pk
    # One resolution the real way, the rest shaped: the figures only read the columns.
    for action, extra in [("accept", {}), ("dispatch", {"assignee": users["worker"]})]:
        event_transition(actor=operator, event_id=made["e1"].pk, action=action, **extra)
    event_transition(actor=users["worker"], event_id=made["e1"].pk, action="start")
    event_transition(actor=users["worker"], event_id=made["e1"].pk, action="resolve", note="cleaned")
    event_transition(actor=operator, event_id=made["e8"].pk, action="reject", note="not a case")
    future = timezone.now() + timedelta(days=1)
    for name, hours in [("e1", 1), ("e2", 2), ("e3", 3), ("e5", 4), ("e6", 10)]:
        reported_at = made[name].reported_at
        shape(made[name], status=EventStatus.RESOLVED, resolved_at=reported_at + timedelta(hours=hours),
              deadline=future)
    shape(made["e2"], status=EventStatus.CLOSED, closed_at=timezone.now(), deadline=None)
    shape(made["e5"], was_overdue=True)
    shape(made["e4"], deadline=timezone.now() - timedelta(hours=1))
    shape(made["e7"], deadline=future)
    return {"street_b": street_b, **made}


def figures(row) -> dict:
    return {name: getattr(row, name) for name in ("cases", "open", "closed", "resolved", "overdue", "duplicates")}


def by_codes(rows) -> dict:
    return {tuple(key.code for key in row.keys.values()): row for row in rows}


def test_percentile_cont_interpolates_linearly_between_ranks():
    assert percentile_cont([1, 2, 3, 4, 10], 0.5) == 3
    assert percentile_cont([1, 2, 3, 4, 10], 0.9) == pytest.approx(7.6)
    assert percentile_cont([5], 0.9) == 5


def test_street_by_category(data, users, district):
    rows = event_statistics(user=users["operator"], group_by=["street", "category"])
    assert [tuple(row.keys) for row in rows] == [("street", "category")] * 4
    found = by_codes(rows)
    a = district.street.code
    assert list(found) == sorted([(a, "02-05"), (a, "11-01"), ("ZB", "02-05"), ("ZB", "11-01")])
    main = found[(a, "02-05")]
    assert figures(main) == {"cases": 5, "open": 4, "closed": 1, "resolved": 5, "overdue": 1, "duplicates": 1}
    assert main.overdue_rate == pytest.approx(0.2) and main.duplicate_rate == pytest.approx(1 / 6)
    assert main.median_resolution_hours == pytest.approx(3) and main.p90_resolution_hours == pytest.approx(7.6)
    assert main.keys["street"].label == district.street.name and main.keys["street"].id == district.street.pk
    assert main.keys["category"].label == "街头散发广告"  # in the reader's language
    late = found[(a, "11-01")]
    assert figures(late) == {"cases": 1, "open": 1, "closed": 0, "resolved": 0, "overdue": 1, "duplicates": 0}
    assert late.overdue_rate == 1 and late.median_resolution_hours is None and late.p90_resolution_hours is None
    assert figures(found[("ZB", "02-05")]) == {"cases": 1, "open": 1, "closed": 0, "resolved": 0, "overdue": 0,
                                               "duplicates": 0}
    assert figures(found[("ZB", "11-01")]) == {"cases": 1, "open": 0, "closed": 0, "resolved": 0, "overdue": 0,
                                               "duplicates": 0}
    totals = event_statistics_totals(user=users["operator"])
    assert totals.keys == {}
    assert figures(totals) == {"cases": 8, "open": 6, "closed": 1, "resolved": 5, "overdue": 2, "duplicates": 1}
    assert totals.median_resolution_hours == pytest.approx(3) and totals.p90_resolution_hours == pytest.approx(7.6)
    assert totals.duplicate_rate == pytest.approx(1 / 9)


def test_by_day_in_the_local_time_zone(data, users):
    rows = event_statistics(user=users["operator"], group_by=["period"], period="day")
    first, second = rows
    assert (first.keys["period"].code, second.keys["period"].code) == ("2025-03-01", "2025-03-02")
    assert figures(first) == {"cases": 4, "open": 3, "closed": 1, "resolved": 3, "overdue": 1, "duplicates": 1}
    assert first.median_resolution_hours == pytest.approx(2) and first.p90_resolution_hours == pytest.approx(2.8)
    assert figures(second) == {"cases": 4, "open": 3, "closed": 0, "resolved": 2, "overdue": 1, "duplicates": 0}
    assert second.median_resolution_hours == pytest.approx(7) and second.p90_resolution_hours == pytest.approx(9.4)
    months = event_statistics(user=users["operator"], group_by=["period", "category"], period="month")
    assert [(row.keys["period"].code, row.keys["category"].code, row.cases) for row in months] == [
        ("2025-03-01", "02-05", 6), ("2025-03-01", "11-01", 2)]


def test_each_role_gets_the_figures_of_what_it_may_see(data, users, district):
    def cases_by_grid(who):
        return {row.keys["grid"].id: row.cases for row in event_statistics(user=users[who], group_by=["grid"])}

    assert cases_by_grid("worker") == {district.grid.pk: 4}
    assert cases_by_grid("worker2") == {district.grid2.pk: 2}  # nothing of worker's grid
    assert event_statistics_totals(user=users["worker2"]).duplicates == 0
    urban = event_statistics(user=users["urban"], group_by=["department"])
    assert [(row.keys["department"].code, row.cases, row.duplicates) for row in urban] == [("urban", 6, 1)]
    assert urban[0].keys["department"].label == "城市管理局"
    assert sum(cases_by_grid("operator").values()) == 8
    assert event_statistics_totals(user=users["citizen"]).cases == 0
    # A narrowing never widens what the user may see.
    assert event_statistics_totals(user=users["worker2"], events=Event.objects.all()).cases == 2


def test_the_number_of_queries_does_not_grow_with_events_or_groups(users, district, event_categories):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            event_statistics(user=users["operator"], group_by=["street", "category", "grid"])
            event_statistics_totals(user=users["operator"])
        return len(captured)

    report(users["operator"], "02-05", 120.31, DAY1)
    few = queries()
    for n in range(12):
        report(users["operator"], ["02-05", "11-01", "03-01"][n % 3], 120.302 + 0.011 * n, DAY2, lat=36.03)
    # Figures: counts and resolution times for the groups (by grid: from the events), the totals from the
    # rollup on PostgreSQL (one query) or from the events; labels: one per dimension.
    assert queries() == few == 2 + (1 if connection.vendor == "postgresql" else 2) + 3


def test_the_grouping_is_checked(users, gql, token_for):
    token = token_for(users["operator"])
    for group_by, period in [(["PERIOD"], None), (["STREET", "GRID", "CATEGORY", "DEPARTMENT"], None),
                             (["STREET", "STREET"], None), ([], None)]:
        answer = gql(STATS, {"groupBy": group_by, "period": period}, token=token)
        assert answer.error_codes == ["invalid_grouping"], (group_by, answer.errors)
    assert gql(STATS, {"groupBy": ["STREET"]}).error_codes == ["unauthenticated"]


def test_over_graphql_with_a_filter(data, users, district, gql, token_for):
    answer = gql(STATS, {"groupBy": ["STREET", "CATEGORY"], "filter": {"departmentCode": "urban"}},
                 token=token_for(users["operator"]), language="en")
    assert answer.errors == []
    result = answer.data["eventStatistics"]
    main, other = result["rows"]
    assert [key["dimension"] for key in main["keys"]] == ["STREET", "CATEGORY"]
    assert main["keys"][0]["label"] == district.street.name and main["keys"][1]["code"] == "02-05"
    assert main["keys"][0]["id"] == relay.to_base64("Street", district.street.pk)
    assert (main["cases"], main["duplicates"], main["overdueRate"], main["p90ResolutionHours"]) == (
        5, 1, pytest.approx(0.2), pytest.approx(7.6))
    assert other["keys"][0]["code"] == "ZB" and other["medianResolutionHours"] is None
    assert result["totals"] == {"keys": [], "cases": 6, "overdue": 1, "duplicates": 1,
                                "medianResolutionHours": pytest.approx(3), "p90ResolutionHours": pytest.approx(7.6)}
    assert result["csvUrl"] == "/exports/event-statistics.csv?groupBy=street,category&departmentCode=urban"
    assert result["chartUrl"].startswith("/exports/event-statistics.png?")


def export(path: str, token: str | None, language: str = "en"):
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client().get(path, **headers)


def test_the_csv_link_answers_the_same_figures(data, users, district, gql, token_for):
    token = token_for(users["operator"])
    answer = gql(STATS, {"groupBy": ["STREET", "CATEGORY"], "period": "MONTH",
                         "filter": {"reportedAfter": "2025-03-01T00:00:00+08:00"}}, token=token)
    url = answer.data["eventStatistics"]["csvUrl"]
    assert "reportedAfter=2025-03-01T00:00:00%2B08:00" in url
    response = export(url, token)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="event-statistics-street-category-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["Street code", "Street", "Category code", "Category", "Cases"]
    assert table[0][-2:] == ["Median resolution (hours)", "90th percentile resolution (hours)"]
    assert len(table) == 1 + 4 + 1
    main = table[1]
    assert main[:3] == [district.street.code, district.street.name, "02-05"]  # Chinese names survive
    assert main[4:] == ["5", "4", "1", "5", "1", "20.0%", "1", "16.7%", "3.0", "7.6"]
    assert table[-1][0] == "Total" and table[-1][4] == "8" and table[-1][-1] == "7.6"


def test_the_workbook(data, users, district, token_for):
    response = export("/exports/event-statistics.xlsx?groupBy=category,street", token_for(users["operator"]))
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Category code", "Category", "Street code", "Street"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert [cell.value for cell in sheet[2]][:5] == ["02-05", sheet["B2"].value, district.street.code,
                                                     district.street.name, 5]
    rate = sheet.cell(row=2, column=header.index("Overdue rate") + 1)
    assert rate.value == pytest.approx(0.2) and rate.number_format == "0.0%"
    hours = sheet.cell(row=2, column=header.index("Median resolution (hours)") + 1)
    assert hours.value == pytest.approx(3) and hours.number_format == "0.0"
    assert sheet.cell(row=sheet.max_row, column=1).value == "Total" and sheet.cell(row=sheet.max_row, column=1).font.bold
    shown = sum(2 if "\u4e00" <= char <= "\u9fff" else 1 for char in district.street.name)  # Chinese is wide
    assert sheet.column_dimensions["D"].width >= shown


@pytest.mark.parametrize("query", ["groupBy=street,category", "groupBy=period,street&period=day",
                                   "groupBy=category,street,period&period=week"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_charts(data, users, token_for, query, language):
    token = token_for(users["operator"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = export(f"/exports/event-statistics.png?{query}", token, language=language)
        svg = export(f"/exports/event-statistics.svg?{query}", token, language=language)
    assert not [w for w in caught if "missing from font" in str(w.message)]  # no boxes for Chinese names
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png.content))
    image.verify()
    assert image.size == (1920, 1080)
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert ElementTree.fromstring(svg.content).tag.endswith("svg")


def test_a_chart_draws_every_dimension(data, users, token_for):
    token = token_for(users["operator"])

    def png(query: str) -> bytes:
        response = export(f"/exports/event-statistics.png?{query}", token, language="zh-hans")
        assert response.status_code == 200
        return response.content

    assert png("groupBy=street,category") != png("groupBy=street")
    assert png("groupBy=street,category") != png("groupBy=street,department")
    assert png("groupBy=period,category&period=day") != png("groupBy=period&period=day")


@pytest.mark.parametrize(("language", "category"), [("zh-hans", "街头散发广告"), ("en", "Leaflets handed out in the street")])
def test_a_chart_names_streets_and_categories_in_the_readers_language(data, users, district, language, category):
    from django.utils import translation

    from api.exports import statistics_figure

    with translation.override(language):
        rows = event_statistics(user=users["operator"], group_by=["street", "category"])
        totals = event_statistics_totals(user=users["operator"])
        figure = statistics_figure(group_by=["street", "category"], period=None, rows=rows, totals=totals)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == [data["street_b"].name, district.street.name]
    assert category in [text.get_text() for text in axes.get_legend().get_texts()]
    assert axes.get_title(loc="left").startswith("按街道 × 事件类别统计案件" if language == "zh-hans"
                                                  else "Cases by Street × Category")


def test_exports_need_a_token_and_sensible_parameters(users, district, token_for):
    missing = export("/exports/event-statistics.csv?groupBy=street", None)
    assert missing.status_code == 401 and missing.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
    forged = export("/exports/event-statistics.csv?groupBy=street", "not-a-token")
    assert forged.status_code == 401 and forged.json()["errors"][0]["extensions"]["code"] == "token_invalid"
    token = token_for(users["operator"])
    for query, code in [("groupBy=weather", "invalid_grouping"), ("groupBy=period", "invalid_grouping"),
                        ("", "invalid_grouping"), ("groupBy=street&reportedAfter=yesterday", "invalid_filter"),
                        ("groupBy=street&gridId=bogus", "invalid_filter")]:
        refused = export(f"/exports/event-statistics.xlsx?{query}", token)
        assert refused.status_code == 400 and refused.json()["errors"][0]["extensions"]["code"] == code, query


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_two_figure_queries_run_side_by_side_with_the_same_result(
        users, district, event_categories, monkeypatch):
    import threading

    from gridapp.incidents import statistics

    for n, (hours, code) in enumerate([(1, "02-05"), (2, "02-05"), (3, "11-01"), (10, "02-05")]):
        event = report(users["operator"], code, 120.302 + 0.011 * n, DAY1)
        shape(event, resolved_at=event.reported_at + timedelta(hours=hours))
    threads = set()
    original = statistics._side_by_side

    def watched(alias, first, second):
        return original(alias, first, lambda: threads.add(threading.get_ident()) or second())

    monkeypatch.setattr(statistics, "_side_by_side", watched)
    # a filter, so that the events are read (every event by category would come from the rollup)
    rows = event_statistics(user=users["operator"], group_by=["category"],
                            events=Event.objects.filter(category__code__in=["02-05", "11-01"]))
    assert [(row.keys["category"].code, row.resolved, row.median_resolution_hours) for row in rows] == [
        ("02-05", 3, 2.0), ("11-01", 1, 3.0)]
    if connection.vendor == "postgresql":  # the resolution times were read on another thread (and connection)
        assert len(threads) == 1 and threading.get_ident() not in threads
    else:  # SQLite computes them in Python from the same rows
        assert threads == set()
