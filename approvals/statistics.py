"""How applications fare, per kind and period: how many, decided how, how long it took (median and 90th
percentile, from the first submission to the decision), how often they were returned, and the share of
materials nobody had to provide ("no proof needed": proven by a certificate or government data at the latest
submission).  One SQL query over the applications the caller may see; the figures are grouped here."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from approvals.models import Application, ApplicationStatus, MaterialOutcome

PERIODS = ("month", "year")
AUTOMATIC = (MaterialOutcome.CERTIFICATE, MaterialOutcome.SOURCE)


@dataclass(frozen=True)
class ApplicationStatRow:
    kind: str  # the application kind's code; "" in the totals
    kind_name: str
    period: date | None  # the first day of the month or year; None without a period, and in the totals
    submitted: int
    approved: int
    rejected: int
    withdrawn: int
    open: int
    returned: int  # applications returned for correction at least once
    median_hours: float | None  # first submission to decision, decided ones only
    p90_hours: float | None
    materials: int
    automatic: int

    @property
    def no_proof_rate(self) -> float | None:
        return self.automatic / self.materials if self.materials else None

    @property
    def return_rate(self) -> float | None:
        return self.returned / self.submitted if self.submitted else None


def application_statistics(applications: QuerySet[Application], *, since: datetime | None = None,
                           until: datetime | None = None, period: str | None = None,
                           ) -> tuple[list[ApplicationStatRow], ApplicationStatRow]:
    """Rows per application kind (and ``period``: ``month`` or ``year``) over the submitted applications among
    ``applications`` (the caller's visible ones) whose first submission falls in ``[since, until)``, and the
    totals row."""
    if period not in (None, *PERIODS):
        raise ValueError(f"period: one of {PERIODS}")
    submitted = applications.filter(case__isnull=False)
    if since is not None:
        submitted = submitted.filter(case__opened_at__gte=since)
    if until is not None:
        submitted = submitted.filter(case__opened_at__lt=until)
    latest = Q(checks__submission=F("submissions"))
    rows = (submitted.annotate(
        returns=Count("case__history", filter=Q(case__history__action="return"), distinct=True),
        material_count=Count("checks", filter=latest, distinct=True),
        automatic_count=Count("checks", filter=latest & Q(checks__outcome__in=AUTOMATIC), distinct=True),
    ).order_by().values_list("kind__code", "kind__name", "case__opened_at", "decided_at", "status", "returns",
                              "material_count", "automatic_count"))
    groups: dict[tuple, list] = defaultdict(list)
    names: dict[str, str] = {}
    everything = []
    for code, name, opened, decided, status, returns, materials, automatic in rows:
        names[code] = name
        entry = (opened, decided, status, returns, materials, automatic)
        groups[(code, _period_start(opened, period))].append(entry)
        everything.append(entry)
    result = [_row(code, names[code], start, entries) for (code, start), entries in
              sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or date.min))]
    return result, _row("", "", None, everything)


def _period_start(moment: datetime, period: str | None) -> date | None:
    if period is None:
        return None
    local = timezone.localtime(moment).date()
    return local.replace(day=1) if period == "month" else local.replace(month=1, day=1)


def _row(code: str, name: str, start: date | None, entries: list) -> ApplicationStatRow:
    statuses = [entry[2] for entry in entries]
    hours = sorted((decided - opened).total_seconds() / 3600 for opened, decided, *_rest in entries
                   if decided is not None)
    return ApplicationStatRow(
        kind=code, kind_name=name, period=start, submitted=len(entries),
        approved=statuses.count(ApplicationStatus.APPROVED), rejected=statuses.count(ApplicationStatus.REJECTED),
        withdrawn=statuses.count(ApplicationStatus.WITHDRAWN),
        open=sum(1 for status in statuses if status not in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
                                                             ApplicationStatus.WITHDRAWN)),
        returned=sum(1 for entry in entries if entry[3]),
        median_hours=statistics.median(hours) if hours else None,
        p90_hours=_p90(hours), materials=sum(entry[4] for entry in entries),
        automatic=sum(entry[5] for entry in entries))


def _p90(hours: list[float]) -> float | None:
    if not hours:
        return None
    if len(hours) == 1:
        return hours[0]
    return statistics.quantiles(hours, n=10, method="inclusive")[-1]
