"""Print a campaign's ledger report: what its cases came to by type, by status, by place and by grid, and the cases
still open.  The demo campaign by default."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from core.i18n import localized
from gridapp.campaigns.models import Campaign, CaseOutcome, CaseStatus
from gridapp.campaigns.selectors import campaign_ledger

DEMO_CAMPAIGN = "hill-parks"


class Command(BaseCommand):
    help = "Print a campaign's ledger report (the demo campaign, hill-parks, by default)."

    def add_arguments(self, parser):
        parser.add_argument("campaign", nargs="?", default=DEMO_CAMPAIGN, help="the campaign's code")
        parser.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])

    def handle(self, *args, campaign: str, language: str, **options):
        found = Campaign.objects.filter(code=campaign).first()
        if found is None:
            known = ", ".join(Campaign.objects.values_list("code", flat=True)) or _("none")
            raise CommandError(f"no campaign {campaign!r} (campaigns: {known})")
        with translation.override(language):
            self.stdout.write(ledger_text(campaign_ledger(found)))


def ledger_text(ledger) -> str:
    """The report as text, in the active language."""
    campaign = ledger.campaign
    out = [_("Ledger of %(campaign)s (%(code)s)") % {"campaign": localized(campaign.name, campaign.name_en),
                                                      "code": campaign.code}, "", _("Work done:")]
    for line in ledger.outcomes:
        out.append("  " + _("%(type)s %(outcome)s: %(cases)d, %(area)s m²") % {
            "type": line.type_label, "outcome": CaseOutcome(line.status).label, "cases": line.cases,
            "area": f"{line.area_m2:.1f}"})
    out += ["", _("By type and status:")]
    out += ["  " + _("%(type)s, %(status)s: %(cases)d, %(area)s m²") % {
        "type": line.type_label, "status": CaseStatus(line.status).label, "cases": line.cases,
        "area": f"{line.area_m2:.1f}"} for line in ledger.lines]
    out += ["", _("By place:")]
    elsewhere = _("outside the places")
    out += [f"  {line.place or elsewhere}: {line.type_label}, {CaseStatus(line.status).label}: "
            f"{line.cases}, {line.area_m2:.1f} m²" for line in ledger.by_place]
    out += ["", _("Open cases:")]
    out += [f"  {case.number} {case.case_type.name} {case.site} {case.area_m2} m² {case.responsible_unit} "
            f"({CaseStatus(case.status).label})" for case in ledger.open_cases] or ["  " + _("none")]
    return "\n".join(out) + "\n"
