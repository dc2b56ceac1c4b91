"""The statistics rollup (PostgreSQL) gives exactly the figures of the events themselves.

Generated events over thirteen months (month edges in local time, equal resolution times, the current
month still filling), then every way of writing them: a bulk insert, the lifecycle through the services
(resolve, reopen), escalation, queryset updates of many rows, deletes.  After each, every grouping the rollup
serves is computed both ways, at several moments (overdue depends on the clock), and must be equal to the last
bit; a rebuild from the events must hold the same rows as the triggers kept.
"""

from __future__ import annotations

import io
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Department
from gridapp.incidents import statistics
from gridapp.incidents.models import Event, EventCategory, EventSource, EventStatus
from gridapp.incidents.rollup import event_rollup_rebuild, rollup_cells
from gridapp.incidents.services import event_transition, events_escalate
from gridapp.incidents.statistics import event_statistics, event_statistics_totals
from tests.factories import CommunityFactory, GridFactory, StreetFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup is PostgreSQL's")

SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUPINGS = [list(dims) for size in (1, 2, 3)
             for dims in itertools.permutations(["street", "department", "category", "period"], size)
             if list(dims) == sorted(dims, key=["street", "period", "department", "category"].index)]
STATUSES = [status.value for status in EventStatus]


@pytest.fixture
def generated(users, district, event_categories):
    """600 events in one bulk insert, over three streets, every status, thirteen months up to now."""
    rng = np.random.default_rng(12)
    grids = [district.grid, district.grid2, district.other_community_grid]
    for n, lng in enumerate((120.6, 120.8)):
        street = StreetFactory(code=f"R{n}", lng=lng, lat=36.0, size=0.1)
        grids.append(GridFactory(community=CommunityFactory(street=street, lng=lng, lat=36.0, size=0.1),
                                 lng=lng, lat=36.0, size=0.05))
    categories = list(EventCategory.objects.filter(photo_required=False).order_by("code")[:6])
    assert len(categories) == 6
    departments = list(Department.objects.order_by("code")[:3])
    now = timezone.now()
    start = now - timedelta(days=395)
    events = []
    for n in range(600):
        grid = grids[rng.integers(len(grids))]
        status = STATUSES[rng.integers(len(STATUSES))]
        if n % 50 == 0:  # 16:30 UTC on a month's last day: already the next month in Shanghai
            last = (datetime(2025, 1 + n // 50 % 12, 1, tzinfo=SHANGHAI) - timedelta(days=1)).astimezone(ZoneInfo("UTC"))
            reported = last.replace(hour=16, minute=30)
        else:
            reported = start + timedelta(seconds=float(rng.uniform(0, (now - start).total_seconds())))
        resolved = None
        if status in {"resolved", "verified", "closed"} or (status == "duplicate" and n % 3 == 0):
            # every fifth an exact whole hour: equal resolution times must be removed one at a time
            hours = float(rng.integers(1, 6)) if n % 5 == 0 else float(rng.exponential(30))
            resolved = reported + timedelta(hours=hours)
        deadline = None if n % 7 == 0 else reported + timedelta(hours=float(rng.uniform(1, 24 * 60)))
        event = Event(case_number=None if status == "duplicate" else f"G{n:05d}", category=categories[n % 6],
                      status=status, source=EventSource.BACK_OFFICE, lng=120.31, lat=36.01, grid=grid,
                      community=grid.community, street_id=grid.community.street_id,
                      department=departments[rng.integers(len(departments))], reported_at=reported,
                      resolved_at=resolved, deadline=deadline, was_overdue=bool(n % 11 == 0))
        event.derive_resolution_seconds()
        events.append(event)
    Event.objects.bulk_create(events)
    return {"now": now, "start": start, "grid": district.grid}  # worker's grid


def both_ways(monkeypatch, user, group_by, period="month", now=None):
    """The figures from the rollup (checked to be its answer: one query besides the labels) and from the events."""
    with CaptureQueriesContext(connection) as captured:
        rows = (event_statistics(user=user, group_by=group_by, period=period, now=now) if group_by
                else [event_statistics_totals(user=user, now=now)])
    assert len(captured) == 1 + len(set(group_by) - {"period"}), [query["sql"][:80] for query in captured.captured_queries]
    with monkeypatch.context() as patched:
        patched.setattr(statistics, "rollup_cells", lambda **_kwargs: None)
        direct = (event_statistics(user=user, group_by=group_by, period=period, now=now) if group_by
                  else [event_statistics_totals(user=user, now=now)])
    return rows, direct


def assert_same_everywhere(monkeypatch, user, moments):
    for now in moments:
        for group_by in [[], *GROUPINGS]:
            rows, direct = both_ways(monkeypatch, user, group_by, now=now)
            assert rows == direct, (group_by, now)
            assert rows and (not group_by or len(rows) > 1)


def rollup_rows() -> dict:
    """The rollup's rows that count anything, each list sorted (they are multisets)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT month, street_id, department_id, category_id, cases, open, closed, resolved, "
                       "was_overdue, duplicates, open_deadlines, resolution_seconds FROM gridapp_event_rollup")
        found = {}
        for *key_and_counts, deadlines, resolutions in cursor.fetchall():
            if key_and_counts[4] + key_and_counts[9] == 0:
                assert not deadlines and not resolutions and not any(key_and_counts[4:]), key_and_counts
                continue
            found[tuple(key_and_counts[:4])] = (*key_and_counts[4:], sorted(deadlines), sorted(resolutions))
    return found


def assert_rebuild_agrees():
    kept = rollup_rows()
    event_rollup_rebuild()
    assert rollup_rows() == kept


def moments(generated) -> list[datetime]:
    """Before everything, exactly at a deadline (not yet overdue), now, and in two months."""
    deadline = Event.objects.filter(status=EventStatus.DISPATCHED, deadline__isnull=False).order_by("id").first().deadline
    return [generated["start"] - timedelta(days=1), deadline, generated["now"], generated["now"] + timedelta(days=60)]


def test_a_bulk_insert_gives_the_same_figures_both_ways(generated, users, monkeypatch):
    assert_same_everywhere(monkeypatch, users["operator"], moments(generated))
    assert_rebuild_agrees()


def test_the_lifecycle_escalation_bulk_updates_and_deletes_keep_it_exact(generated, users, monkeypatch):
    operator, worker = users["operator"], users["worker"]
    # the lifecycle through the services: accept, dispatch, start, resolve; then close and reopen
    reported = list(Event.objects.filter(status=EventStatus.REPORTED, grid=generated["grid"]).order_by("id")[:6])
    assert len(reported) >= 3
    for event in reported:
        event_transition(actor=operator, event_id=event.pk, action="accept")
        event_transition(actor=operator, event_id=event.pk, action="dispatch", assignee=worker)
        event_transition(actor=worker, event_id=event.pk, action="start")
        event_transition(actor=worker, event_id=event.pk, action="resolve", note="done")
    assert_same_everywhere(monkeypatch, operator, moments(generated))
    closed = list(Event.objects.filter(status=EventStatus.CLOSED, resolution_seconds__isnull=False).order_by("id")[:8])
    for event in closed:
        event_transition(actor=operator, event_id=event.pk, action="reopen", note="it came back")
    assert Event.objects.filter(pk__in=[e.pk for e in closed], resolved_at__isnull=True).count() == len(closed)
    assert_same_everywhere(monkeypatch, operator, moments(generated))
    # escalation (one event at a time through save), then many rows in one statement each
    assert events_escalate(now=generated["now"]) > 0
    Event.objects.filter(status=EventStatus.IN_PROGRESS).update(deadline=generated["now"] - timedelta(hours=1))
    Event.objects.filter(status=EventStatus.ACCEPTED, was_overdue=False).update(was_overdue=True)
    Event.objects.filter(status=EventStatus.VERIFIED).update(status=EventStatus.CLOSED)
    Event.objects.filter(status=EventStatus.ON_HOLD).update(reported_at=generated["now"])  # into this month
    Event.objects.filter(resolved_at__isnull=False, status=EventStatus.RESOLVED).update(
        resolved_at=generated["now"], resolution_seconds=7200.0)  # equal values, many at once
    Event.objects.filter(status=EventStatus.REJECTED, case_number__isnull=False).delete()
    Event.objects.filter(status=EventStatus.VOID).update(description="an update that counts nothing")
    assert_same_everywhere(monkeypatch, operator, moments(generated))
    # Equal values in one row, then some of them leave: exactly that many must go, not every equal one.
    same = Event.objects.filter(status=EventStatus.CLOSED).order_by("id").first()
    closed = list(Event.objects.filter(status=EventStatus.CLOSED).order_by("-id").values_list("id", flat=True)[:6])
    resolved_at = same.reported_at + timedelta(hours=2)
    Event.objects.filter(pk__in=closed).update(
        street_id=same.street_id, department_id=same.department_id, category_id=same.category_id,
        reported_at=same.reported_at, resolved_at=resolved_at, resolution_seconds=7200.0)
    Event.objects.filter(pk__in=closed[:2]).update(status=EventStatus.VOID, resolved_at=None, resolution_seconds=None)
    waiting = list(Event.objects.filter(status=EventStatus.DISPATCHED, was_overdue=False).order_by("id")
                   .values_list("id", flat=True)[:6])
    Event.objects.filter(pk__in=waiting).update(
        street_id=same.street_id, department_id=same.department_id, category_id=same.category_id,
        reported_at=same.reported_at, deadline=generated["now"] + timedelta(days=1))
    Event.objects.filter(pk__in=waiting[:2]).update(was_overdue=True)
    assert_same_everywhere(monkeypatch, operator, moments(generated))
    assert_rebuild_agrees()


def test_every_other_reading_comes_from_the_events(generated, users, monkeypatch):
    """A viewer who sees part of the district, a filter, a finer grouping: the rollup is not asked."""
    asked = []
    original = statistics.rollup_cells
    monkeypatch.setattr(statistics, "rollup_cells", lambda **kwargs: asked.append(1) or original(**kwargs))
    event_statistics(user=users["worker"], group_by=["street"])
    event_statistics(user=users["operator"], group_by=["grid"])
    event_statistics(user=users["operator"], group_by=["period"], period="day")
    event_statistics(user=users["operator"], group_by=["street"], events=Event.objects.filter(status="closed"))
    assert asked == []
    event_statistics(user=users["operator"], group_by=["street"], events=Event.objects.all())
    assert asked == [1]


def test_another_time_zone_reads_the_events_until_the_rollup_is_rebuilt(generated, users, settings, monkeypatch):
    settings.TIME_ZONE = "UTC"
    assert rollup_cells() is None  # built for Asia/Shanghai: its months are not UTC's
    call_command("event_rollup_rebuild", stdout=io.StringIO())
    assert rollup_cells() is not None
    assert_same_everywhere(monkeypatch, users["operator"], [generated["now"]])


def test_truncating_the_events_empties_the_rollup(generated):
    assert rollup_rows()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's deferred foreign-key checks, now
        cursor.execute("TRUNCATE gridapp_event CASCADE")
    assert rollup_rows() == {}
