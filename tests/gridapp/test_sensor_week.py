"""Acceptance: a simulated week of 1,000 watched households, readings every 15 minutes arriving hour by hour as
gateways send them (with gaps, batches sent twice, batches late and out of order, a share of the homes over MQTT
through the real broker and the bridge process), the watch sweeping every hour, the grid worker visiting the
residents the incidents send them to and the water company fixing the meters: exactly the expected incidents are
raised, each once, and each closes when normal use resumes after the visit."""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Department, Role
from gridapp.incidents.models import Event, EventStatus
from gridapp.incidents.services import event_transition
from gridapp.sensors.demo import home_readings, week_plan
from gridapp.sensors.ingest import readings_ingest
from gridapp.sensors.models import (
    ConditionKind,
    Household,
    HouseholdConsent,
    MeterReading,
    ReadingRefusal,
    WatchCondition,
    WaterMeter,
)
from gridapp.sensors.services import CATEGORIES, watch_sweep
from tests.factories import UserFactory
from tests.mqtt import MQTT_URL, eventually, mqtt_client
from tests.stack import Process

pytestmark = [pytest.mark.django_db(transaction=True)]

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, tzinfo=ZONE)
HOMES = int(os.environ.get("SENSOR_WEEK_HOMES", "1000"))
DAYS = 7


def homes_register(plan) -> None:
    """The plan's households in ``worker``'s grid (the district fixture's first grid), each with its meter and a
    consent from the start of the week: written in bulk, as an import would."""
    from gridapp.geography.locator import district_locator

    grid_id = district_locator().locate_wgs84(120.301, 36.001).grid_id
    Household.objects.bulk_create([Household(
        code=home.code, address=f"模拟路 {n} 号", lng=120.301, lat=36.001, grid_id=grid_id,
        resident_name=f"居民{n}", contact_name="子女", contact_phone="13800000000", emergency_name="邻居",
        emergency_phone="13800000001", watched=True, watched_since=START) for n, home in enumerate(plan)])
    households = dict(Household.objects.values_list("code", "pk"))
    WaterMeter.objects.bulk_create([WaterMeter(serial=home.serial, household_id=households[home.code],
                                               installed_at=START) for home in plan])
    HouseholdConsent.objects.bulk_create([HouseholdConsent(household_id=households[home.code], given_by="本人",
                                                           given_at=START) for home in plan])


def visits_make(now: datetime, worker, fixer) -> None:
    """The people's side: the grid worker records a visit an hour after being sent; the water company takes each
    maintenance task, and fixes the meter an hour after it was raised."""
    an_hour_ago = now - timedelta(hours=1)
    for event in Event.objects.filter(status=EventStatus.DISPATCHED, assignee=worker, dispatched_at__lte=an_hour_ago):
        event_transition(actor=worker, event_id=event.pk, action="resolve", note="已上门看望", now=now)
    for event in Event.objects.filter(status=EventStatus.REPORTED, category__code=CATEGORIES[ConditionKind.SILENT],
                                      reported_at__lte=an_hour_ago):
        event_transition(actor=fixer, event_id=event.pk, action="accept", now=now)
        event_transition(actor=fixer, event_id=event.pk, action="dispatch", assignee=fixer, now=now)
        event_transition(actor=fixer, event_id=event.pk, action="resolve", note="网关重启，水表恢复上报", now=now)


def over_mqtt(home) -> bool:
    """The homes whose gateway publishes to the broker (one in 25, two of them with a day without water)."""
    return int(home.code.rsplit("-", 1)[1]) % 25 == 3


def test_a_simulated_week_raises_each_expected_incident_once_and_closes_it_when_use_resumes(users, event_categories,
                                                                                            broker, tmp_path):
    plan = week_plan(homes=HOMES, start=START, days=DAYS)
    homes_register(plan)
    prefix = f"test-{uuid.uuid4().hex[:8]}/meters"
    client_id = f"test-week-bridge-{uuid.uuid4().hex[:8]}"
    bridge = Process("bridge", [sys.executable, "manage.py", "meter_bridge", "--url", MQTT_URL, "--prefix", prefix,
                                "--client-id", client_id, "--linger", "0.05"], tmp_path)
    gateway = mqtt_client(broker, f"test-week-gateway-{uuid.uuid4().hex[:8]}")
    try:
        bridge.start()

        def subscribed() -> bool:  # a reading of no meter's is counted once the bridge listens
            gateway.publish(f"{prefix}/PROBE/readings", b'{"at": "2026-11-01T00:00:00+08:00", "litres": 1}', qos=1)
            time.sleep(0.3)
            return ReadingRefusal.objects.filter(source="mqtt", code="unknown_meter").exists()

        eventually(subscribed, what="the bridge listening", logs=(bridge,))
        week_run(plan, users, prefix, gateway, bridge)
    finally:
        bridge.stop()
        gateway.disconnect()
        gateway.loop_stop()
        mqtt_client(broker, client_id, clean_session=True).disconnect()  # the bridge's session ends with the test
    expected = {home.code: home.episode for home in plan if home.episode is not None}
    conditions = list(WatchCondition.objects.select_related("household", "event__category"))
    assert {c.household.code: c.kind for c in conditions} == {code: e.kind for code, e in expected.items()}
    assert len(conditions) == len(expected) == Event.objects.count()
    over_the_broker = {c.household.code for c in conditions if over_mqtt(c.household)}
    assert over_the_broker == {code for code in expected if over_mqtt(Household(code=code))} and over_the_broker
    for condition in conditions:
        episode = expected[condition.household.code]
        assert condition.event.category.code == CATEGORIES[condition.kind]
        assert episode.start - timedelta(hours=1) <= condition.started_at <= episode.start, condition.household.code
        assert condition.raised_at <= episode.end, condition.household.code
        assert condition.event.status == EventStatus.CLOSED and condition.closed_at is not None
        assert condition.cleared_at >= episode.end - timedelta(minutes=15)


def week_run(plan, users, prefix, gateway, bridge) -> None:
    """The week, hour by hour: the gateways' batches in, the sweep, the people's visits."""
    fixer = UserFactory(username="water-fixer", role=Role.DEPARTMENT_STAFF, department=Department.objects.get(
        code="water"))
    by_hour: dict[int, list] = defaultdict(list)  # the readings each hour's batches carry
    published: dict[int, dict[str, list]] = defaultdict(dict)  # and each hour's messages, by meter
    for home in plan:
        for reading in home_readings(home, start=START, days=DAYS):
            hour = int((reading[1] - START) / timedelta(hours=1))
            if over_mqtt(home):
                published[hour].setdefault(home.serial, []).append({"at": reading[1].isoformat(),
                                                                     "litres": reading[2]})
            else:
                by_hour[hour].append(reading)
    mqtt_meters = [home.serial for home in plan if over_mqtt(home)]
    over_the_broker = MeterReading.objects.filter(meter__serial__in=mqtt_meters)
    taken = 0
    draw = random.Random(2026)
    held_back: list = []
    sent = kept = 0
    began = time.monotonic()
    for hour in range(DAYS * 24):
        now = START + timedelta(hours=hour + 1)
        batch = by_hour[hour] + held_back
        held_back = []
        draw.shuffle(batch)  # gateways send in no particular order
        if hour % 5 == 2 and hour < DAYS * 24 - 1:  # a gateway is late: part of the hour comes with the next
            held_back, batch = batch[:400], batch[400:]
        batch += draw.sample(by_hour[hour - 1], min(300, len(by_hour[hour - 1]))) if hour else []  # sent twice
        for serial, readings in published[hour].items():
            draw.shuffle(readings)
            gateway.publish(f"{prefix}/{serial}/readings", json.dumps(readings).encode(), qos=1)
            if hour % 7 == 3:  # a message the broker's gateway sent twice
                gateway.publish(f"{prefix}/{serial}/readings", json.dumps(readings[:2]).encode(), qos=1)
        result = readings_ingest(readings=batch, source="gateway", now=now)
        taken += sum(map(len, published[hour].values()))
        eventually(lambda taken=taken: over_the_broker.count() == taken, what=f"hour {hour}'s readings over MQTT",
                   logs=(bridge,), every=0.02)  # the bridge's homes are swept with the rest
        assert result.refused == []
        sent += len(batch)
        kept += result.accepted
        watch_sweep(now=now)
        visits_make(now, users["worker"], fixer)
    elapsed = time.monotonic() - began
    total = sum(len(readings) for readings in by_hour.values())
    assert kept == MeterReading.objects.exclude(meter__serial__in=mqtt_meters).count() == total
    assert set(over_the_broker.values_list("source", flat=True)) == {"mqtt"}
    print(f"\n{HOMES} homes, {total} readings ({sent} sent) and {taken} over MQTT in {elapsed:.1f} s", flush=True)
