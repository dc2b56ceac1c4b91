"""The command-centre charts: Chinese drawn in a real Chinese font shipped with the install (not boxes), time
axes that span what is drawn, not years around one point."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib.dates import num2date
from PIL import Image

from api.base.charts import chart_figure, chart_font
from api.exports import flow_figure, statistics_figure
from gridapp.incidents.statistics import StatKey, StatRow


def _pixels(text: str, family: list[str]) -> tuple[np.ndarray, list[str]]:
    """``text`` drawn alone in ``family`` as the charts draw, and the warnings matplotlib gave doing so."""
    from matplotlib import rc_context

    with warnings.catch_warnings(record=True) as caught, rc_context({"font.sans-serif": family}):
        warnings.simplefilter("always")
        figure = chart_figure(lambda axes: (axes.set_axis_off(),
                                            axes.text(0.5, 0.5, text, fontsize=120, ha="center", va="center")))
        figure.set_size_inches(4, 2)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=50)
    return np.asarray(Image.open(buffer).convert("L")), [str(w.message) for w in caught]


def test_chinese_is_drawn_in_the_shipped_font_not_as_boxes():
    from matplotlib import font_manager, rc_context

    family = chart_font()
    assert family == "Noto Sans SC"
    with rc_context({"font.family": "sans-serif", "font.sans-serif": [family]}):
        used = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert used.endswith("pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf")

    rain, warned = _pixels("暴雨", [family])
    assert not [message for message in warned if "missing from font" in message]
    tofu, warned_tofu = _pixels("暴雨", ["DejaVu Sans"])  # what a machine without a Chinese font draws
    assert [message for message in warned_tofu if "missing from font" in message]
    assert (rain < 128).sum() > 200  # ink
    assert (rain != tofu).mean() > 0.02  # real glyphs, not the boxes
    storm, storm_warned = _pixels("暴", [family])
    wet, _warned = _pixels("雨", [family])
    assert (storm != wet).mean() > 0.01  # two characters, two shapes (missing glyphs all draw the same box)
    box_a, _w = _pixels("暴", ["DejaVu Sans"])
    box_b, _w = _pixels("雨", ["DejaVu Sans"])
    assert (box_a != box_b).mean() == 0  # the tofu the comparison above tells apart


def _row(keys: dict, cases: int, overdue: int = 0) -> StatRow:
    return StatRow(keys=keys, cases=cases, open=cases, closed=0, resolved=0, overdue=overdue, duplicates=0,
                   median_resolution_hours=None, p90_resolution_hours=None)


@pytest.mark.parametrize(("period", "most_days"), [("day", 1.01), ("week", 7.01), ("month", 30.01)])
def test_one_period_is_drawn_on_an_axis_of_that_period_not_years(period, most_days):
    day = StatKey(None, "2025-03-03", "2025-03-03")
    street = StatKey(1, "S01", "香港中路街道")
    rows = [_row({"period": day, "street": street}, 3, 1)]
    for group_by, found in [(["period"], [_row({"period": day}, 3, 1)]), (["period", "street"], rows)]:
        figure = statistics_figure(group_by=group_by, period=period, rows=found, totals=_row({}, 3, 1))
        low, high = figure.axes[0].get_xlim()
        assert 0 < high - low <= most_days  # matplotlib alone widens a single date to years
        assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == [
            "2025-03" if period == "month" else "2025-03-03"]


def test_a_flow_chart_spans_the_hours_asked_for_with_one_point():
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    figure = flow_figure(name="香港中路摄像头", hours=24, points=[(now - timedelta(hours=2), 7)], threshold=12, now=now)
    axes = figure.axes[0]
    low, high = (num2date(value) for value in axes.get_xlim())
    assert (low, high) == (now - timedelta(hours=24), now)
    assert axes.get_ylim()[1] > 12  # the threshold line below the top, the legend above it
