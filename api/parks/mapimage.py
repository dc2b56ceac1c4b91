"""The operator's map drawn for a screen: buildings with the people inside and their enterprises, car parks with
their occupancy, chargers by state, open security events, lamp posts and what they play; names in the viewer's
language, Chinese drawn in the platform's CJK font."""

from __future__ import annotations

import math

from django.utils import timezone
from django.utils.translation import gettext as _

from api.base.charts import chart_figure
from core.i18n import localized
from parks.map import ParkMap

CHARGER_COLOURS = {"free": "#2e7d32", "busy": "#1565c0", "faulty": "#c62828", "offline": "#9e9e9e"}


def _offset(point, n: int, step: float = 0.00012):
    """Several things at one building's point, fanned out so that none hides another."""
    x, y = point
    return x + step * ((n % 3) - 1), y - step * (1 + n // 3)


def park_map_figure(found: ParkMap):
    """The map of ``found`` as a 1920 x 1080 figure."""
    def draw(axes) -> None:
        placed = []
        anchors = {}
        for layer in found.buildings:
            b = layer.building
            if b.longitude is None or b.latitude is None:
                continue
            anchors[b.pk] = (b.longitude, b.latitude)
            axes.scatter([b.longitude], [b.latitude], s=900, marker="s", color="#eceff1", edgecolor="#455a64",
                         zorder=2)
            tenants = "、".join(localized(e.name, e.name_en)[:14] for e in layer.enterprises[:2])
            axes.annotate(_("%(building)s · %(people)d people") % {
                "building": localized(b.name, b.name_en), "people": layer.people} + (f"\n{tenants}" if tenants else ""),
                (b.longitude, b.latitude), xytext=(0, 22), textcoords="offset points", ha="center", fontsize=12,
                zorder=5)
            placed.append((b.longitude, b.latitude))
        for area in found.parking:
            point = ((area.longitude, area.latitude) if area.longitude is not None
                     else anchors.get(area.building_id))
            if point is None:
                continue
            full = area.capacity and area.occupied >= area.capacity
            axes.scatter([point[0]], [point[1]], s=500, marker="P", color="#f9a825" if not full else "#c62828",
                         zorder=3)
            axes.annotate(_("%(name)s %(occupied)d/%(capacity)d") % {
                "name": localized(area.name, area.name_en), "occupied": area.occupied, "capacity": area.capacity},
                point, xytext=(0, -26), textcoords="offset points", ha="center", fontsize=11, zorder=5)
            placed.append(point)
        for n, layer in enumerate(found.chargers):
            anchor = anchors.get(layer.charger.building_id)
            if anchor is None:
                continue
            point = _offset(anchor, n)
            axes.scatter([point[0]], [point[1]], s=160, marker="o", color=CHARGER_COLOURS[layer.state], zorder=4)
            placed.append(point)
        for event in found.security:
            if event.longitude is None:
                continue
            axes.scatter([event.longitude], [event.latitude], s=420, marker="^", color="#d32f2f", zorder=4)
            axes.annotate(event.algorithm, (event.longitude, event.latitude), xytext=(0, 14),
                          textcoords="offset points", ha="center", fontsize=10, color="#d32f2f", zorder=5)
            placed.append((event.longitude, event.latitude))
        for layer in found.lamp_posts:
            p = layer.post
            if p.longitude is None:
                continue
            axes.scatter([p.longitude], [p.latitude], s=260, marker="*", color="#fbc02d", edgecolor="#5d4037",
                         zorder=4)
            if layer.playlist.videos:
                axes.annotate(layer.playlist.videos[0].title[:12], (p.longitude, p.latitude), xytext=(0, -18),
                              textcoords="offset points", ha="center", fontsize=9, color="#5d4037", zorder=5)
            placed.append((p.longitude, p.latitude))
        for state, colour in CHARGER_COLOURS.items():
            axes.scatter([], [], s=120, color=colour, label={"free": _("Charger free"), "busy": _("Charger busy"),
                                                             "faulty": _("Charger faulty"),
                                                             "offline": _("Charger offline")}[state])
        axes.scatter([], [], s=200, marker="^", color="#d32f2f", label=_("Open security event"))
        axes.scatter([], [], s=200, marker="*", color="#fbc02d", edgecolor="#5d4037", label=_("Lamp post"))
        axes.scatter([], [], s=200, marker="P", color="#f9a825", label=_("Car park (vehicles/spaces)"))
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=11, frameon=False)
        if placed:
            xs, ys = [x for x, _y in placed], [y for _x, y in placed]
            pad = max(max(xs) - min(xs), max(ys) - min(ys), 0.002) * 0.25
            axes.set_xlim(min(xs) - pad, max(xs) + pad)
            axes.set_ylim(min(ys) - pad, max(ys) + pad)
        else:
            axes.text(0.5, 0.5, _("Nothing on this park's map has coordinates yet."), ha="center", va="center",
                      fontsize=22, transform=axes.transAxes)
        # a degree of longitude is shorter than one of latitude away from the equator: draw metres as metres
        middle = sum(axes.get_ylim()) / 2
        axes.set_aspect(1 / max(0.2, math.cos(math.radians(middle))), adjustable="box")
        for spine in axes.spines.values():
            spine.set_visible(False)
        axes.set_xticks([])
        axes.set_yticks([])
        at = timezone.localtime(found.at)
        axes.set_title(_("%(park)s: %(people)d people in the park, %(events)d open security events, %(time)s") % {
            "park": localized(found.park.name, found.park.name_en), "people": found.people,
            "events": len(found.security), "time": at.strftime("%Y-%m-%d %H:%M")})

    return chart_figure(draw)
