"""Charts for the command centre's and the operators' screens: one figure size, one style, the Chinese font every
machine has (from a pinned PyPI package), PNG or SVG."""

from __future__ import annotations

import functools
from io import BytesIO

from django.http import HttpResponse


@functools.cache
def chart_font() -> str:
    """The family the charts draw text in: Noto Sans SC (SIL OFL 1.1, the files of notofonts/noto-cjk) from the
    pinned PyPI package ``pylopdf-fonts-zh-cn``, registered with matplotlib by its path, so that every machine
    ``make install`` set up draws Chinese names as themselves rather than as boxes, whatever fonts its system
    has."""
    from matplotlib import font_manager
    from pylopdf_fonts_zh_cn import sans_path

    path = str(sans_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def chart_figure(draw):
    """A 1920 x 1080 figure for the command-centre screen, ``draw(axes)`` filling it, its text in
    ``chart_font`` (DejaVu Sans for a sign the Chinese font lacks)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(_CHART_STYLE | {"font.sans-serif": [chart_font(), "DejaVu Sans"]}):
        figure = Figure(figsize=(16, 9), dpi=120, layout="constrained")
        draw(figure.add_subplot())
    return figure


_CHART_STYLE = {"font.family": "sans-serif", "font.size": 15, "axes.titlesize": 22, "axes.spines.top": False,
                "axes.spines.right": False}


def chart_response(fmt: str, figure) -> HttpResponse:
    """``figure`` as PNG or SVG."""
    from matplotlib import rc_context

    buffer = BytesIO()
    # Fonts are looked up when the figure is drawn, so the settings hold until it is saved.
    with rc_context(_CHART_STYLE | {"font.sans-serif": [chart_font(), "DejaVu Sans"]}):
        figure.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return HttpResponse(buffer.getvalue(), content_type="image/png" if fmt == "png" else "image/svg+xml")
