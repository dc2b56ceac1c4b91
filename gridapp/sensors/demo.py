"""A simulated week of the sensor watch: households whose residents use water as people do (morning, noon, evening,
something now and then, nothing at night), a few of them with an episode the watch must catch (a day without water,
a tap left running, a meter that falls silent), and the readings their meters would send, every 15 minutes.

For the acceptance test (``tests/gridapp/test_sensor_week.py``), the benchmark (``bench/sensors.py``) and the demo
(``seed_demo``).  Not production code: nothing outside those imports it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gridapp.sensors.models import ConditionKind

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Episode:
    """What goes wrong at a household: from ``start`` to ``end`` (no water; water running; the meter silent)."""

    kind: str
    start: datetime
    end: datetime


@dataclass
class Home:
    code: str
    serial: str
    #: Hours (from midnight) the resident uses water each day; a few more are drawn per day.
    habits: tuple[float, ...]
    episode: Episode | None = None
    #: Hours of readings lost in transit (a short gap, under the silent rule), as (start, end).
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)


def week_plan(*, homes: int, start: datetime, days: int = 7, seed: int = 18) -> list[Home]:
    """``homes`` households for ``days`` from ``start`` (a local midnight): 2 % go a day without water, 1 % leave a
    tap running for six hours, 1 % have a meter silent for ten hours, 10 % lose an hour or three of readings."""
    draw = random.Random(seed)
    plan = []
    for n in range(homes):
        home = Home(code=f"sim-{n:04d}", serial=f"SIM-WM-{n:04d}",
                    habits=(7 + draw.choice((0, 0.25, 0.5)), 12 + draw.choice((0, 0.25)),
                            19 - draw.choice((0, 0.25, 0.5))))
        day = 1 + n % (days - 3)  # the episode's day: never the first, room for the visit afterwards
        if n % 100 in (3, 53):
            # last water in the evening, then nothing until the evening after: 15 hours of daytime
            home.episode = Episode(ConditionKind.NO_USE, start + timedelta(days=day, hours=19.5),
                                   start + timedelta(days=day + 1, hours=19.5))
        elif n % 100 == 27:
            home.episode = Episode(ConditionKind.RUNNING, start + timedelta(days=day, hours=9),
                                   start + timedelta(days=day, hours=15))
        elif n % 100 == 71:
            home.episode = Episode(ConditionKind.SILENT, start + timedelta(days=day, hours=10),
                                   start + timedelta(days=day, hours=20))
        if n % 10 == 5:
            lost = start + timedelta(days=draw.randrange(days), hours=draw.randrange(0, 21))
            home.gaps.append((lost, lost + timedelta(hours=draw.choice((1, 2, 3)))))
        plan.append(home)
    return plan


def home_readings(home: Home, *, start: datetime, days: int = 7, seed: int = 18) -> Iterator[tuple[str, datetime,
                                                                                                    float]]:
    """The readings ``home``'s meter sends, in time order: ``(serial, at, litres)``, the counter in litres."""
    draw = random.Random(f"{seed}:{home.code}")
    litres = 1000.0 * draw.randrange(1, 90)
    episode = home.episode
    extra: set[float] = set()
    for slot in range(int(timedelta(days=days) / STEP)):
        at = start + slot * STEP
        hour = (slot % 96) / 4
        if hour == 0:
            extra = {draw.choice((9.0, 10.5, 15.0, 16.25, 17.5, 20.75))}
        dry = episode is not None and episode.kind == ConditionKind.NO_USE and episode.start <= at < episode.end
        running = episode is not None and episode.kind == ConditionKind.RUNNING and episode.start < at <= episode.end
        if running:
            litres += 6.0 + draw.random()  # about 25 litres an hour, all the time
        elif not dry and (hour in home.habits or hour in extra):
            litres += draw.choice((8.0, 15.0, 22.0, 40.0))
        silent = episode is not None and episode.kind == ConditionKind.SILENT and episode.start <= at < episode.end
        if silent or any(lost <= at < until for lost, until in home.gaps):
            continue
        yield home.serial, at, round(litres, 1)


DEMO_GRID = "S01-C01-G01"  # the demo grid worker's grid (seed_demo's DEMO_ASSIGNMENTS)
STREETS = ["登州路", "延安三路", "华阳路", "上海路", "辽宁路", "热河路"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙"
GIVEN_NAMES = ["秀英", "桂兰", "玉珍", "建国", "志强", "淑珍"]


def demo_households_create(*, days: int = 14, now: datetime | None = None) -> int:
    """Twelve watched households in the demo grid worker's grid with two weeks of readings, swept hour by hour as
    the beat would: a day without water and a tap left running in the past (visited, closed), a meter that fell
    silent (its maintenance task waits for the water company), and a resident with no water for two days now,
    whose incident waits for the worker.
    Returns how many households there are (a second call adds nothing)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from gridapp.geography.models import Grid
    from gridapp.incidents.models import Event, EventStatus
    from gridapp.incidents.services import event_transition
    from gridapp.sensors.ingest import readings_ingest
    from gridapp.sensors.models import Household
    from gridapp.sensors.services import consent_record, household_register, watch_sweep

    if Household.objects.filter(code__startswith="demo-").exists():
        return Household.objects.filter(code__startswith="demo-").count()
    grid = Grid.objects.current().filter(code=DEMO_GRID).first()
    users = get_user_model().objects
    worker = users.filter(username="worker").first()
    if grid is None or worker is None:
        return 0
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    plan = week_plan(homes=12, start=start, days=days + 1)
    episodes = {3: (ConditionKind.NO_USE, 4, 19.5, 24), 7: (ConditionKind.RUNNING, 9, 9, 6),
                5: (ConditionKind.SILENT, 11, 10, 10), 10: (ConditionKind.NO_USE, days - 2, 19.5, 96)}
    for n, home in enumerate(plan):
        home.code, home.serial = f"demo-{n + 1:02d}", f"QD-WM-{n + 1:04d}"
        home.gaps = []
        kind, day, hour, hours = episodes.get(n, (None, 0, 0, 0))
        home.episode = (Episode(kind, start + timedelta(days=day, hours=hour),
                                start + timedelta(days=day, hours=hour + hours)) if kind else None)
        surname = SURNAMES[n % len(SURNAMES)]
        household = household_register(
            code=home.code, address=f"{STREETS[n % len(STREETS)]} {12 + n * 7} 号 {1 + n % 3} 单元 {301 + n % 4}",
            lng=grid.centroid_lng, lat=grid.centroid_lat, resident_name=surname + GIVEN_NAMES[n % len(GIVEN_NAMES)],
            resident_phone=f"1380532{n:04d}", contact_name=f"{surname}军", contact_phone=f"1396390{n:04d}",
            emergency_name="社区居委会", emergency_phone="0532-8288" + f"{n:04d}", meter_serial=home.serial,
            meter_installed_at=start)
        consent_record(actor=worker, household_id=household.pk, given_by=household.resident_name, at=start)
    by_step: dict[int, list] = {}  # the gateway sends every three hours, the beat sweeps as they come
    for home in plan:
        for reading in home_readings(home, start=start, days=days + 1):
            if reading[1] <= now:
                by_step.setdefault(int((reading[1] - start) / timedelta(hours=3)), []).append(reading)
    for step in range(int((now - start) / timedelta(hours=3)) + 1):
        at = min(now, start + timedelta(hours=3 * step + 3))
        readings_ingest(readings=by_step.get(step, []), source="gateway", now=at)
        watch_sweep(now=at)
        if now - at < timedelta(hours=36):
            continue  # what came up since yesterday waits for people
        for event in Event.objects.filter(status=EventStatus.DISPATCHED, assignee=worker,
                                          dispatched_at__lte=at - timedelta(hours=1)):
            event_transition(actor=worker, event_id=event.pk, action="resolve", note="已上门看望，老人安好", now=at)
    return len(plan)
