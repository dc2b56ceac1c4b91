"""Who sees which campaign cases, and the ledger's figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from gridapp.campaigns.models import FINISHED, Campaign, CampaignCase, CaseStatus
from gridapp.geography import selectors as geography


def cases_visible_to(user) -> QuerySet[CampaignCase]:
    """A campaign case (a household's or a site's illegal structure, its responsible unit): the district-wide roles
    and department staff; grid workers and supervisors those of their grids."""
    if user is None or not user.is_authenticated or not user.is_active:
        return CampaignCase.objects.none()
    if user.sees_whole_district or user.is_department_staff:
        return CampaignCase.objects.all()
    return CampaignCase.objects.filter(Q(grid_id__in=geography.grid_ids_of_worker(user))
                                       | Q(grid_id__in=geography.grid_ids_supervised_by(user)))


def case_photos_visible(user, photos: QuerySet) -> QuerySet:
    """A case's photos: whoever sees the case (the file service's rule for ``campaign_photo``)."""
    return photos.filter(case__in=cases_visible_to(user).values("pk"))


@dataclass(frozen=True)
class LedgerLine:
    """Cases of one type (and one place or grid, where the line says) in one status: how many, how many m²."""

    type_code: str
    type_label: str
    status: str
    cases: int
    area_m2: Decimal
    place: str | None = None
    grid: str | None = None


@dataclass(frozen=True)
class Ledger:
    campaign: Campaign
    #: By type and status.
    lines: list[LedgerLine]
    #: By type and what the work achieved (demolished, rectified), look-back passed included, recurrences not.
    outcomes: list[LedgerLine]
    by_place: list[LedgerLine]
    by_grid: list[LedgerLine]
    open_cases: list[CampaignCase]
    recurred: int


def _lines(rows, **names) -> list[LedgerLine]:
    return [LedgerLine(type_code=row["case_type__code"], type_label=row["case_type__name"],
                       status=row.get("status") or row.get("outcome", ""), cases=row["cases"],
                       area_m2=row["area"] or Decimal("0"), place=row.get("place__name"), grid=row.get("grid__code"))
            for row in rows]


def campaign_ledger(campaign: Campaign, cases: QuerySet[CampaignCase] | None = None) -> Ledger:
    """The ledger report of ``campaign`` (of ``cases``, the viewer's, when given): counts and m² by type and status,
    by type and outcome, by place and by grid, and the open cases.  Six queries."""
    cases = (cases if cases is not None else CampaignCase.objects.all()).filter(campaign=campaign)
    counted = {"cases": Count("id"), "area": Sum("area_m2")}
    keys = ("case_type__code", "case_type__name")
    lines = _lines(cases.values(*keys, "status").annotate(**counted).order_by("case_type__code", "status"))
    outcomes = _lines(cases.filter(status__in=FINISHED).values(*keys, "outcome").annotate(**counted)
                      .order_by("case_type__code", "outcome"))
    by_place = _lines(cases.values(*keys, "status", "place__name").annotate(**counted)
                      .order_by("place__name", "case_type__code", "status"))
    by_grid = _lines(cases.values(*keys, "status", "grid__code").annotate(**counted)
                     .order_by("grid__code", "case_type__code", "status"))
    open_cases = list(cases.exclude(status__in=FINISHED).select_related("case_type", "place", "grid")
                      .order_by("number")[:500])
    recurred = cases.filter(status=CaseStatus.RECURRED).count()
    return Ledger(campaign=campaign, lines=lines, outcomes=outcomes, by_place=by_place, by_grid=by_grid,
                  open_cases=open_cases, recurred=recurred)
