"""The watch's rules as pure functions over one meter's summary (no database, no clock): which conditions hold at
``now``, and since when, as the readings date them.

- no water used for ``no_use_hours`` hours of daytime, counted up to the last reading (a meter that says nothing
  proves nothing: silence is the next rule's business, never a welfare alarm);
- water running without a pause for ``running_hours`` hours, up to the last reading;
- no reading at all for ``silent_hours`` hours up to ``now``.

A condition's start is a fact of the readings (the end of the last use, the last pause, the last reading), so the
same ongoing condition found again at the next sweep has the same start, and one found after a late reading moved
that fact is a different one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

NO_USE, RUNNING, SILENT = "no_use", "running", "silent"


@dataclass(frozen=True)
class Rules:
    no_use_hours: int = 12
    day_starts: time = time(6)
    day_ends: time = time(22)
    running_hours: int = 4
    silent_hours: int = 6


@dataclass(frozen=True)
class MeterState:
    """One meter's summary (``gridapp.sensors.models.WaterMeter``), and when the watch began."""

    watched_since: datetime
    first_reading_at: datetime | None = None
    last_reading_at: datetime | None = None
    last_use_at: datetime | None = None
    last_pause_at: datetime | None = None


def daytime_hours(start: datetime, end: datetime, rules: Rules, zone: tzinfo) -> float:
    """Hours of daytime (``rules.day_starts`` to ``rules.day_ends``, local time in ``zone``) between two instants."""
    if end <= start:
        return 0.0
    total = timedelta()
    day: date = start.astimezone(zone).date()
    last: date = end.astimezone(zone).date()
    while day <= last:
        opens = datetime.combine(day, rules.day_starts, zone)
        closes = datetime.combine(day, rules.day_ends, zone)
        if closes <= opens:  # a daytime that crosses midnight: it ends the next day
            closes += timedelta(days=1)
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta():
            total += overlap
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def conditions_present(rules: Rules, state: MeterState, now: datetime, zone: tzinfo) -> dict[str, datetime]:
    """The conditions that hold at ``now``, each with its start."""
    found: dict[str, datetime] = {}
    heard = max(filter(None, (state.last_reading_at, state.watched_since)))  # a watch begun again starts afresh
    if now - heard >= timedelta(hours=rules.silent_hours):
        found[SILENT] = heard
    if state.last_reading_at is None:
        return found
    dry_since = max(filter(None, (state.last_use_at, state.first_reading_at, state.watched_since)))
    if daytime_hours(dry_since, state.last_reading_at, rules, zone) >= rules.no_use_hours:
        found[NO_USE] = dry_since
    # Every reading is flowing or a pause (a meter's first reading is a pause): after the last pause, all flowed.
    run_start = state.last_pause_at or state.first_reading_at
    if (run_start is not None and run_start < state.last_reading_at
            and state.last_reading_at - run_start >= timedelta(hours=rules.running_hours)):
        found[RUNNING] = run_start
    return found
