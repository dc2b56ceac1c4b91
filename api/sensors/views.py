"""A household's daily water use as a chart: ``GET /exports/household-usage.png?household=<Household id>&days=30``
(``&lang=en`` for English; Chinese otherwise) with a bearer token, for whoever may see the household."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.services import AuthError, bearer_authenticate
from api.base.charts import chart_figure, chart_response
from api.base.ids import node_pk_or_none
from api.errors import json_error, unauthorized_response
from api.sensors.queries import MAX_USAGE_DAYS
from gridapp.sensors.models import Household
from gridapp.sensors.selectors import household_daily_usage, households_visible_to


@require_GET
def household_usage_chart(request: HttpRequest) -> HttpResponse:
    try:
        user, _token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)
    except AuthError as error:
        return unauthorized_response(error)
    language = request.GET.get("lang") if request.GET.get("lang") in ("en", "zh-hans") else "zh-hans"
    with translation.override(language):
        try:
            days = int(request.GET.get("days", "30"))
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_USAGE_DAYS:
            return json_error(400, "invalid_range", _("days must be 1 to %(max)d.") % {"max": MAX_USAGE_DAYS})
        pk = node_pk_or_none(request.GET.get("household", ""), "Household")
        household = households_visible_to(user).filter(pk=pk).first() if pk is not None else None
        if household is None:
            return json_error(404, "not_found", _("No such household, or not one you look after."))
        response = chart_response("png", usage_figure(household, days=days))
    response["Cache-Control"] = "private, no-store"
    return response


def usage_figure(household: Household, *, days: int):
    """Bars of the litres used each day, the last ``days`` days; a note instead while the consent does not hold.
    The incidents the watch raised are marked on the days they were raised."""
    series = household_daily_usage(household, days=days)
    first = timezone.localdate() - timedelta(days=days - 1)
    raised = [timezone.localtime(condition.raised_at).date()
              for condition in household.conditions.filter(raised_at__date__gte=first - timedelta(days=1))]

    def draw(axes) -> None:
        if not household.watched:
            axes.text(0.5, 0.5, _("No consent holds: the readings are not shown."), ha="center", va="center",
                      fontsize=28, transform=axes.transAxes)
            axes.set_axis_off()
        else:
            axes.bar([day for day, _litres in series], [litres for _day, litres in series], color="#1f6feb",
                     label=_("Litres used"))
            for index, day in enumerate(sorted(set(raised) & {day for day, _litres in series})):
                axes.axvline(day, color="#d1242f", linestyle="--", linewidth=2,
                             label=_("Incident raised") if index == 0 else None)
            axes.set_ylabel(_("Litres"))
            axes.grid(axis="y", alpha=0.3)
            axes.legend(loc="best")
            axes.figure.autofmt_xdate()
        axes.set_title(_("Daily water use at %(household)s, %(address)s, last %(days)d days") % {
            "household": household.code, "address": household.address, "days": days}, loc="left")

    return chart_figure(draw)
