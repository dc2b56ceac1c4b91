"""A campaign's ledger as files: ``GET /exports/campaign-ledger.{csv,xlsx,pdf}?campaign=<Campaign id>`` with a bearer
token, over the cases the viewer may see; the PDF is A4 in the viewer's language, Chinese drawn in the platform's
CJK font (embedded)."""

from __future__ import annotations

from io import BytesIO

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.services import AuthError, bearer_authenticate
from api.base.charts import chart_font
from api.base.ids import node_pk_or_none
from api.base.tables import attachment, table_csv, table_xlsx
from api.errors import json_error, unauthorized_response
from core.i18n import localized
from gridapp.campaigns.models import Campaign, CaseOutcome, CaseStatus
from gridapp.campaigns.selectors import Ledger, campaign_ledger, cases_visible_to

#: Rows of the PDF's case list (the open cases), the rest counted below it.
PDF_MAX_CASES = 40


def _columns() -> list[tuple[str, str]]:
    return [(_("Type"), "text"), (_("Status"), "text"), (_("Place"), "text"), (_("Grid"), "text"),
            (_("Cases"), "count"), (_("Area (m²)"), "area")]


def _rows(ledger: Ledger) -> list[list]:
    rows = [[line.type_label, str(CaseStatus(line.status).label), line.place or "", line.grid or "", line.cases,
             float(line.area_m2)] for line in ledger.by_grid]
    total = sum(line.cases for line in ledger.lines), float(sum(line.area_m2 for line in ledger.lines))
    return [*rows, [_("Total"), "", "", "", *total]]


@require_GET
def campaign_ledger_export(request: HttpRequest, fmt: str) -> HttpResponse:
    try:
        user, _token = bearer_authenticate(request.META.get("HTTP_AUTHORIZATION"), required=True)
    except AuthError as error:
        return unauthorized_response(error)
    pk = node_pk_or_none(request.GET.get("campaign", ""), "Campaign")
    campaign = Campaign.objects.filter(pk=pk).first() if pk is not None else None
    if campaign is None:
        return json_error(404, "not_found", _("Campaign not found."))
    ledger = campaign_ledger(campaign, cases_visible_to(user))
    name = f"campaign-{campaign.code}-{timezone.localdate():%Y%m%d}"
    if fmt == "csv":
        response = table_csv(_columns(), _rows(ledger), f"{name}.csv")
    elif fmt == "xlsx":
        response = table_xlsx(_("Campaign ledger"), _columns(), _rows(ledger), f"{name}.xlsx")
    else:
        response = attachment(HttpResponse(ledger_pdf(ledger), content_type="application/pdf"), f"{name}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response


def ledger_pdf(ledger: Ledger, fmt: str = "pdf") -> bytes:
    """The ledger report as an A4 PDF (or ``fmt``: png to look at it): the work done, the figures by type and
    status, the open cases."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    campaign = ledger.campaign
    done = [[line.type_label, CaseOutcome(line.status).label, str(line.cases), f"{line.area_m2:.1f}"]
            for line in ledger.outcomes]
    status = [[line.type_label, CaseStatus(line.status).label, str(line.cases), f"{line.area_m2:.1f}"]
              for line in ledger.lines]
    cases = [[case.number, case.case_type.name, case.place.name if case.place_id else "", case.site,
              f"{case.area_m2}", case.responsible_unit, CaseStatus(case.status).label]
             for case in ledger.open_cases[:PDF_MAX_CASES]]
    with rc_context({"font.family": "sans-serif", "font.sans-serif": [chart_font(), "DejaVu Sans"],
                     "pdf.fonttype": 42, "font.size": 9}):
        figure = Figure(figsize=(8.27, 11.69))  # A4, portrait
        figure.text(0.07, 0.95, _("Ledger of %(campaign)s (%(code)s)") % {
            "campaign": localized(campaign.name, campaign.name_en), "code": campaign.code}, fontsize=15)
        figure.text(0.07, 0.925, _("As of %(time)s; %(recurred)d recurred, %(open)d open.") % {
            "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"), "recurred": ledger.recurred,
            "open": len(ledger.open_cases)}, fontsize=9, color="#555555")
        top = 0.9
        for title, header, rows, widths in (
                (_("Work done"), [_("Type"), _("Outcome"), _("Cases"), _("Area (m²)")], done, None),
                (_("By type and status"), [_("Type"), _("Status"), _("Cases"), _("Area (m²)")], status, None),
                (_("Open cases"), [_("Number"), _("Type"), _("Place"), _("Household or site"), _("Area (m²)"),
                                   _("Responsible unit"), _("Status")], cases,
                 [0.18, 0.1, 0.08, 0.2, 0.09, 0.22, 0.13])):
            height = 0.018 * (len(rows) + 1)
            figure.text(0.07, top, title, fontsize=12)
            axes = figure.add_axes((0.07, top - 0.01 - height, 0.86, height))
            axes.set_axis_off()
            if rows:
                table = axes.table(cellText=rows, colLabels=header, loc="upper left", cellLoc="left",
                                   colWidths=widths)
                table.auto_set_font_size(False)
                table.set_fontsize(8.5)
            else:
                axes.text(0, 0.5, _("none"), fontsize=9)
            top -= height + 0.045
        if len(ledger.open_cases) > PDF_MAX_CASES:
            figure.text(0.07, max(0.03, top), _("… and %(more)d more open cases (the CSV or XLSX has them all).") % {
                "more": len(ledger.open_cases) - PDF_MAX_CASES}, fontsize=9)
        buffer = BytesIO()
        figure.savefig(buffer, format=fmt, metadata={"CreationDate": None} if fmt == "pdf" else None, dpi=100)
    return buffer.getvalue()

