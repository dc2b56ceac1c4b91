"""The event statistics rollup (PostgreSQL): what the triggers of migration 0007 keep, and reading it at once.

Why: the statistics over every event (the command centre's street x category over a year: 400,000 events)
read each event twice, for its counts and for its group's sorted resolution times, on every request
(`bench/api.py --only stats` times the rollup against reading the events, in the same run).

What: one row per month (of the report time, in ``settings.TIME_ZONE``), street, department and category:
far fewer rows than events (``SELECT count(*) FROM gridapp_event_rollup`` on a ``seed_demo --scale full``
database).  Each holds the counts that do not move with the clock (cases, open,
closed, resolved, escalated as overdue, duplicate reports) and, exactly, the two lists the other figures need:

* the deadlines of its open cases not escalated as overdue: "overdue" is the escalated ones plus those whose
  deadline is before *now*, counted when the figures are read, so the figure is exact at any moment;
* every resolved case's resolution time: medians and 90th percentiles do not add up across rows, so each
  group's are computed from its rows' lists merged, with ``percentile_cont``'s arithmetic.

When: statement-level triggers on ``gridapp_event`` (with transition tables: one pass per statement, however
many rows; every write path: services, bulk inserts, queryset updates, deletes, TRUNCATE) keep it in the
writing transaction.  A reader sees exactly the events its snapshot sees: there is no stale current period to
patch up, and no task to run.

Who reads it: ``gridapp.incidents.statistics`` when the figures cover every event (a viewer who sees the whole district,
no filter), grouped by street, department, category and/or month.  Anything narrower reads the events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connections, transaction

from core.db import binary_cursor
from gridapp.incidents.models import OPEN_STATUSES

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_READ = """
SELECT gridapp_event_rollup_zone(), gridapp_event_rollup_open(), count(*),
       coalesce(string_agg(packed, ''::bytea), ''::bytea),
       coalesce(string_agg(open_deadlines_sent, ''::bytea), ''::bytea),
       coalesce(string_agg(resolution_seconds_sent, ''::bytea), ''::bytea)
  FROM gridapp_event_rollup
 WHERE cases + duplicates > 0
"""
# Each row holds itself encoded (migration 0008: a trigger on the rollup keeps it), so a read only concatenates;
# the three aggregates read the rows in the same order (one aggregation pass), so the lists line up with the rows.
_PACKED = np.dtype([("months", ">i4"), ("streets", ">i8"), ("departments", ">i8"), ("categories", ">i8"),
                    ("cases", ">i4"), ("open", ">i4"), ("closed", ">i4"), ("resolved", ">i4"),
                    ("was_overdue", ">i4"), ("duplicates", ">i4"), ("deadline_counts", ">i4"),
                    ("resolution_counts", ">i4")])


@dataclass(frozen=True)
class RollupCells:
    """The rollup's rows as columns (one entry per month, street, department and category)."""

    months: np.ndarray  # first day of the month, as days since 1970-01-01
    streets: np.ndarray
    departments: np.ndarray
    categories: np.ndarray
    cases: np.ndarray
    open: np.ndarray
    closed: np.ndarray
    resolved: np.ndarray
    was_overdue: np.ndarray
    duplicates: np.ndarray
    deadline_counts: np.ndarray  # how many of ``deadlines`` each row has, in row order
    deadlines: np.ndarray  # microseconds since the epoch
    resolution_counts: np.ndarray
    resolution_seconds: np.ndarray

    def month_start(self, days: int) -> datetime:
        """The month of ``months`` as the aware datetime TruncMonth gives: its first day at midnight, local."""
        from zoneinfo import ZoneInfo

        first = date(1970, 1, 1) + timedelta(days=int(days))
        return datetime(first.year, first.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))

    def late(self, now: datetime) -> np.ndarray:
        """Per row: its cases escalated as overdue, plus its open ones whose deadline is before ``now``."""
        now_us = (now - _EPOCH) // timedelta(microseconds=1)  # exact, as the deadlines are stored
        row_of = np.repeat(np.arange(len(self.cases)), self.deadline_counts)
        return self.was_overdue + np.bincount(row_of[self.deadlines < now_us], minlength=len(self.cases))


def rollup_cells(*, using: str = "default") -> RollupCells | None:
    """The whole rollup in one query (its size: ``SELECT pg_size_pretty(pg_table_size('gridapp_event_rollup'))``
    at full scale), or None when it cannot answer: not PostgreSQL,
    or built for another time zone or other open statuses than the code's (then ``event_rollup_rebuild``)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with binary_cursor(using) as cursor:  # the packed arrays as bytes, not hex text
        cursor.execute(_READ)
        zone, open_statuses, count, packed, deadlines, resolutions = cursor.fetchone()
    if zone != settings.TIME_ZONE or sorted(open_statuses) != sorted(OPEN_STATUSES):
        log.warning("the event statistics rollup was built for %s and open statuses %s: the statistics read the "
                    "events until `manage.py event_rollup_rebuild` runs", zone, open_statuses)
        return None
    rows = np.frombuffer(bytes(packed), dtype=_PACKED)
    cells = RollupCells(**{name: rows[name].astype(rows.dtype[name].newbyteorder("=")) for name in _PACKED.names},
                        deadlines=_values(deadlines, ">i8"), resolution_seconds=_values(resolutions, ">f8"))
    assert len(cells.cases) == count and len(cells.deadlines) == cells.deadline_counts.sum() and len(
        cells.resolution_seconds) == cells.resolution_counts.sum(), "misaligned rollup"
    return cells


def _values(data, kind: str) -> np.ndarray:
    """Big-endian values one after the other, as native numbers."""
    return np.frombuffer(bytes(data), dtype=kind).astype(np.dtype(kind).newbyteorder("="))


def event_rollup_rebuild(*, using: str = "default") -> int:
    """Rebuild the rollup from the events, for the code's time zone and open statuses; returns its rows.

    Who may call: ``manage.py event_rollup_rebuild`` (after changing ``TIME_ZONE`` or ``OPEN_STATUSES``, or
    to repair), tests.  Event writes wait until it commits (a SHARE lock on the events).  Raises nothing of
    its own; on SQLite it does nothing and returns 0.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    statuses = ", ".join(_literal(status) for status in sorted(OPEN_STATUSES))
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("CREATE OR REPLACE FUNCTION gridapp_event_rollup_zone() RETURNS text LANGUAGE sql IMMUTABLE "
                       f"AS $body$ SELECT {_literal(settings.TIME_ZONE)}::text $body$")
        cursor.execute("CREATE OR REPLACE FUNCTION gridapp_event_rollup_open() RETURNS text[] LANGUAGE sql "
                       f"IMMUTABLE AS $body$ SELECT ARRAY[{statuses}]::text[] $body$")
        cursor.execute("SELECT gridapp_event_rollup_rebuild()")
        return cursor.fetchone()[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
