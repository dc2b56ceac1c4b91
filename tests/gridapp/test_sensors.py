"""The sensor watch: the rules as pure functions; the one ingest service (idempotent, any order, bad readings refused
with a code and counted, the good ones kept); the sweep raising one incident per ongoing condition, routed to the
grid's worker, closed when use resumes after the visit; consent that, withdrawn, stops the watch."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridapp.incidents.models import Event, EventStatus
from gridapp.incidents.services import event_transition
from gridapp.sensors import rules
from gridapp.sensors.ingest import readings_ingest
from gridapp.sensors.models import ConditionKind, MeterReading, ReadingRefusal, WatchCondition, WaterMeter
from gridapp.sensors.selectors import household_daily_usage, readings_visible_to
from gridapp.sensors.services import consent_record, consent_withdraw, household_register, watch_sweep

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 2, 0, 0, tzinfo=ZONE)


def at(day: int, hour: float) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour)


# --- the rules, without a database --------------------------------------------------------------------------------

def test_daytime_hours_count_only_the_day():
    day = rules.Rules(day_starts=time(6), day_ends=time(22))
    assert rules.daytime_hours(at(0, 20), at(1, 8), day, ZONE) == 4.0  # 20-22 and 06-08
    assert rules.daytime_hours(at(0, 23), at(1, 5), day, ZONE) == 0.0
    assert rules.daytime_hours(at(0, 6), at(2, 6), day, ZONE) == 32.0


def test_no_use_counts_daytime_up_to_the_last_reading_never_silence():
    rule = rules.Rules(no_use_hours=12, silent_hours=6)
    used_last_evening = rules.MeterState(watched_since=at(-5, 0), first_reading_at=at(-5, 0),
                                         last_use_at=at(0, 20), last_pause_at=at(1, 10), last_reading_at=at(1, 10))
    assert rules.conditions_present(rule, used_last_evening, at(1, 10), ZONE) == {}  # 2 + 4 daytime hours
    dry = rules.MeterState(watched_since=at(-5, 0), first_reading_at=at(-5, 0), last_use_at=at(0, 20),
                           last_pause_at=at(1, 16), last_reading_at=at(1, 16))
    assert rules.conditions_present(rule, dry, at(1, 16), ZONE) == {rules.NO_USE: at(0, 20)}
    # the meter fell silent at 08:00: eight hours later it is a meter's problem, not a welfare alarm
    silent = rules.MeterState(watched_since=at(-5, 0), first_reading_at=at(-5, 0), last_use_at=at(0, 20),
                              last_pause_at=at(1, 8), last_reading_at=at(1, 8))
    assert rules.conditions_present(rule, silent, at(1, 16), ZONE) == {rules.SILENT: at(1, 8)}
    # a watch given again (consent withdrawn, then given at noon) counts the silence from its start
    again = rules.MeterState(watched_since=at(1, 12), first_reading_at=at(-5, 0), last_use_at=at(0, 20),
                             last_pause_at=at(1, 8), last_reading_at=at(1, 8))
    assert rules.conditions_present(rule, again, at(1, 16), ZONE) == {}


def test_running_needs_every_interval_flowing_since_the_last_pause():
    rule = rules.Rules(running_hours=4)
    running = rules.MeterState(watched_since=at(0, 0), first_reading_at=at(0, 0), last_use_at=at(0, 14),
                               last_pause_at=at(0, 10), last_reading_at=at(0, 14))
    assert rules.conditions_present(rule, running, at(0, 14), ZONE) == {rules.RUNNING: at(0, 10)}
    paused = rules.MeterState(watched_since=at(0, 0), first_reading_at=at(0, 0), last_use_at=at(0, 14),
                              last_pause_at=at(0, 14), last_reading_at=at(0, 14))
    assert rules.conditions_present(rule, paused, at(0, 14), ZONE) == {}


# --- ingest and the sweep ------------------------------------------------------------------------------------------

@pytest.fixture
def home(users, event_categories):
    household = household_register(
        code="hh-1", address="山东路 1 号 2 单元 301", lng=120.301, lat=36.001, resident_name="王秀英",
        resident_phone="13800000001", contact_name="王强", contact_phone="13800000002", emergency_name="李梅",
        emergency_phone="13800000003", meter_serial="WM-1",
        meter_installed_at=at(-1, 0))
    consent_record(actor=users["worker"], household_id=household.pk, given_by="王秀英", at=at(0, 0))
    household.refresh_from_db()
    return household


def day_of_use(day: int, start: float = 0.0, *, serial: str = "WM-1", step_minutes: int = 15) -> list[tuple]:
    """A day of 15-minute readings: water at 07:00, 12:00 and 19:00 (20 litres each), counting on from ``start``."""
    readings, litres = [], start
    for slot in range(24 * 60 // step_minutes):
        hour = slot * step_minutes / 60
        if hour in (7.0, 12.0, 19.0):
            litres += 20
        readings.append((serial, at(day, hour), litres))
    return readings


def test_readings_are_kept_once_in_any_order_and_the_summary_follows(home):
    day = day_of_use(0)
    first = readings_ingest(readings=day[:40], source="gateway", now=at(1, 0))
    assert (first.accepted, first.duplicates, first.refused) == (40, 0, [])
    # the rest arrives shuffled, with the first batch sent again
    rest = day[40:][::-1] + day[:40]
    again = readings_ingest(readings=rest, source="mqtt", now=at(1, 0))
    assert (again.accepted, again.duplicates, again.refused) == (56, 40, [])
    meter = WaterMeter.objects.get(serial="WM-1")
    assert (meter.first_reading_at, meter.last_reading_at, meter.last_litres) == (at(0, 0), at(0, 23.75), 60)
    assert (meter.last_use_at, meter.last_pause_at) == (at(0, 19), at(0, 23.75))
    kept = list(MeterReading.objects.filter(meter=meter).order_by("at").values_list("used", flat=True))
    assert kept[0] is None and sum(kept[1:]) == 60 and kept.count(20) == 3
    assert household_daily_usage(home, days=2, today=at(1, 0).date()) == [(at(0, 0).date(), 60.0),
                                                                         (at(1, 0).date(), 0.0)]


def test_a_late_reading_between_two_others_splits_their_interval(home):
    readings_ingest(readings=[("WM-1", at(0, 6), 100), ("WM-1", at(0, 6.5), 130)], source="gateway", now=at(1, 0))
    late = readings_ingest(readings=[("WM-1", at(0, 6.25), 100)], source="csv", now=at(1, 0))
    assert late.accepted == 1
    used = list(MeterReading.objects.order_by("at").values_list("used", "flowing"))
    assert used == [(None, False), (0.0, False), (30.0, True)]
    meter = WaterMeter.objects.get()
    assert (meter.last_use_at, meter.last_pause_at) == (at(0, 6.5), at(0, 6.25))


def test_bad_readings_are_refused_with_a_code_and_counted_and_the_good_ones_kept(home):
    readings_ingest(readings=[("WM-1", at(0, 6), 500.0)], source="gateway", now=at(1, 0))
    batch = [("WM-1", at(0, 7), 510.0), ("WM-1", at(0, 8), -1.0), ("WM-1", at(3, 0), 520.0),
             ("NOPE", at(0, 8), 1.0), ("WM-1", at(0, 9), 400.0), ("WM-1", "yesterday", 1.0),
             ("WM-1", at(0, 10), float("nan")), ("WM-1", at(0, 11), 530.0), "garbage"]
    result = readings_ingest(readings=batch, source="gateway", now=at(1, 0))
    assert result.accepted == 2
    assert result.refused == [(1, "negative_volume"), (2, "future_timestamp"), (3, "unknown_meter"),
                              (4, "counter_backwards"), (5, "invalid_time"), (6, "invalid_volume"), (8, "malformed")]
    # the same time again with another counter; a time before the meter was installed (its clock reset)
    odd = readings_ingest(readings=[("WM-1", at(0, 7), 999.0), ("WM-1", at(0, 11.5), 531.0),
                                    ("WM-1", at(0, 11.5), 532.0), ("WM-1", datetime(2000, 1, 1, tzinfo=ZONE), 0.0)],
                          source="gateway", now=at(1, 0))
    assert (odd.accepted, odd.refused) == (1, [(0, "conflicting_reading"), (2, "conflicting_reading"),
                                               (3, "before_watch")])
    tally = {(row.code, row.serial): row.count for row in ReadingRefusal.objects.all()}
    assert tally[("counter_backwards", "WM-1")] == 1 and tally[("unknown_meter", "")] == 1
    assert tally[("conflicting_reading", "WM-1")] == 2 and tally[("before_watch", "WM-1")] == 1
    assert sorted(MeterReading.objects.values_list("litres", flat=True)) == [500.0, 510.0, 530.0, 531.0]


def test_no_water_use_raises_one_incident_for_the_grid_worker_closed_when_use_resumes_after_the_visit(home, users):
    readings_ingest(readings=day_of_use(0), source="gateway", now=at(1, 0))
    # day 1: not a drop after last night's 19:00 (the meter keeps reporting)
    quiet = [("WM-1", at(1, slot / 4), 60.0) for slot in range(0, 24 * 4)]
    for hour in (8, 10, 12):
        readings_ingest(readings=quiet[:hour * 4 + 1], source="gateway", now=at(1, hour))
        watch_sweep(now=at(1, hour))
    assert not WatchCondition.objects.exists()  # 3 + 6 daytime hours by noon
    readings_ingest(readings=quiet, source="gateway", now=at(2, 0))
    result = watch_sweep(now=at(1, 16))
    assert result.raised == 1
    condition = WatchCondition.objects.get()
    assert (condition.kind, condition.started_at) == (ConditionKind.NO_USE, at(0, 19))
    event = condition.event
    assert (event.category.code, event.status, event.assignee) == ("13-02", EventStatus.DISPATCHED, users["worker"])
    assert "王秀英" not in event.description and "hh-1" in event.description
    for hour in (17, 20, 23):  # the same condition: still one incident
        assert watch_sweep(now=at(1, hour)).raised == 0
    # use resumes the next morning, before anyone has been: the incident waits for the visit
    litres = 60.0
    readings_ingest(readings=[("WM-1", at(2, 7), litres + 10), ("WM-1", at(2, 7.25), litres + 10)],
                    source="gateway", now=at(2, 8))
    assert watch_sweep(now=at(2, 8)).closed == 0
    event.refresh_from_db()
    assert event.status == EventStatus.DISPATCHED
    event_transition(actor=users["worker"], event_id=event.pk, action="resolve", note="上门看望，老人外出探亲已回",
                     now=at(2, 9))
    assert watch_sweep(now=at(2, 9.1)).closed == 1
    event.refresh_from_db()
    condition.refresh_from_db()
    assert event.status == EventStatus.CLOSED and condition.cleared_at == at(2, 8) and condition.closed_at
    assert Event.objects.count() == 1


def test_water_running_raises_a_possible_leak_and_a_silent_meter_a_maintenance_task(home, users):
    running = [("WM-1", at(0, 8 + slot / 4), 100.0 + 5 * slot) for slot in range(0, 4 * 5 + 1)]  # 08:00-13:00
    readings_ingest(readings=running, source="mqtt", now=at(1, 0))
    watch_sweep(now=at(0, 13))
    leak = WatchCondition.objects.get()
    assert (leak.kind, leak.started_at, leak.event.category.code) == ("running", at(0, 8), "13-05")
    assert leak.event.assignee == users["worker"]
    # then nothing at all: six hours later the meter is a device problem, not the resident's
    watch_sweep(now=at(0, 19))
    silent = WatchCondition.objects.get(kind=ConditionKind.SILENT)
    assert (silent.started_at, silent.event.category.code, silent.event.status) == (at(0, 13), "06-08",
                                                                                     EventStatus.REPORTED)
    assert silent.event.assignee is None and silent.event.department.code == "water"


def test_withdrawn_consent_stops_the_watch_and_hides_the_readings(home, users, supervisors):
    readings_ingest(readings=day_of_use(0), source="gateway", now=at(1, 0))
    for viewer, sees in (("worker", True), ("worker2", False), ("operator", True), ("urban", False),
                         ("citizen", False)):
        assert readings_visible_to(users[viewer]).exists() is sees, viewer
    assert readings_visible_to(supervisors["community"]).count() == 96
    consent_withdraw(actor=users["worker"], household_id=home.pk, withdrawn_by="王强", at=at(1, 1))
    assert not readings_visible_to(users["operator"]).exists()
    home.refresh_from_db()
    assert household_daily_usage(home, days=3) == []
    refused = readings_ingest(readings=day_of_use(1, 60.0), source="gateway", now=at(2, 0))
    assert refused.accepted == 0 and {code for _i, code in refused.refused} == {"not_watched"}
    assert watch_sweep(now=at(3, 0)).raised == 0


@pytest.mark.parametrize(("seed", "reach"), [(1, None), (2, None), (3, timedelta(minutes=20))])
def test_any_order_of_arrival_keeps_the_same_readings_and_summary_as_the_order_of_time(home, seed, reach,
                                                                                       monkeypatch):
    """``reach``: how far the chunk's one query looks around late readings (short: their neighbours are found
    beyond it, one meter at a time, as for a backlog)."""
    import random

    from gridapp.sensors import ingest

    if reach is not None:
        monkeypatch.setattr(ingest, "NEIGHBOURS", reach)
        monkeypatch.setattr(ingest, "LATE_SPAN", reach)

    readings = [r for r in day_of_use(0) + day_of_use(1, 60.0) if not at(0, 10) <= r[1] < at(0, 13)]  # a gap
    readings_ingest(readings=readings, source="gateway", now=at(2, 0))
    meter = WaterMeter.objects.get()
    fields = ("first_reading_at", "last_reading_at", "last_litres", "last_use_at", "last_pause_at")
    in_order = ([getattr(meter, name) for name in fields],
                list(MeterReading.objects.order_by("at").values_list("at", "used", "flowing")))
    MeterReading.objects.all().delete()
    WaterMeter.objects.update(**dict.fromkeys(fields))
    draw = random.Random(seed)
    shuffled = readings + draw.sample(readings, 30)  # some sent twice
    draw.shuffle(shuffled)
    while shuffled:  # in batches of any size, in any order
        size = draw.randint(1, 40)
        batch, shuffled = shuffled[:size], shuffled[size:]
        assert readings_ingest(readings=batch, source="mqtt", now=at(2, 0)).refused == []
    meter.refresh_from_db()
    assert ([getattr(meter, name) for name in fields],
            list(MeterReading.objects.order_by("at").values_list("at", "used", "flowing"))) == in_order


def test_a_batch_of_100000_readings_keeps_the_good_and_counts_the_bad(home):
    """A gateway's backlog in one call (the CSV command and the bridge call the same): taken in chunks, each bad
    reading refused with its code and counted, every good one kept."""
    start = at(0, 0)  # the watch began
    batch = [("WM-1", start + timedelta(minutes=i), 1000.0 + i // 10) for i in range(100_000)]
    for i in range(0, 100_000, 100):  # one reading in a hundred is bad, of four kinds
        batch[i + 7] = [("WM-1", "soon", 1.0), ("WM-1", at(0, 1), -3.0), ("WM-X", at(0, 1), 1.0),
                        ("WM-1", at(400, 0), 1.0)][i // 100 % 4]
    result = readings_ingest(readings=batch, source="csv", now=at(100, 0))
    assert result.accepted == 99_000 and result.duplicates == 0
    assert result.counts() == {"future_timestamp": 250, "invalid_time": 250, "negative_volume": 250,
                               "unknown_meter": 250}
    assert MeterReading.objects.count() == 99_000
    assert sum(ReadingRefusal.objects.values_list("count", flat=True)) == 1000
