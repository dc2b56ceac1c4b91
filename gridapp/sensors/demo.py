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
