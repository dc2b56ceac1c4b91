"""The one way readings come in, whatever carried them (a gateway's GraphQL batch, MQTT, a CSV file): checked one by
one, kept once per meter and timestamp, in any order.

A reading that cannot be taken is refused with a code and counted (``ReadingRefusal``); the good readings beside it
are kept.  A batch is taken in chunks of ``SENSOR_INGEST_CHUNK``, each in its own transaction, with the meters it
touches locked, so that two paths feeding the same meter at once keep its summary right.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from gridapp.sensors.models import MeterReading, ReadingRefusal, ReadingSource, WaterMeter

#: Why a reading was refused, as the API's ``MeterReadingErrorCode`` names it.
REFUSALS = {
    "unknown_meter": _("No meter has this serial number."),
    "not_watched": _("The meter is not in use, or its household's consent does not hold: the reading is not kept."),
    "invalid_time": _("The time is not an ISO 8601 date and time."),
    "future_timestamp": _("The time is in the future."),
    "invalid_volume": _("The counter is not a number."),
    "negative_volume": _("The counter is negative."),
    "counter_backwards": _("The counter is lower than an earlier reading's (a replaced meter is registered anew)."),
    "conflicting_reading": _("A reading of this meter at this time with another counter is kept already."),
    "before_watch": _("The time is before the meter was installed or the watch began (a meter's clock gone wrong)."),
    "malformed": _("The message is not a reading."),
}

SERIAL_MAX = 40
#: How far around late readings their kept neighbours are fetched at once, and the widest span of late readings
#: fetched so (a wider one, a backlog, is looked up meter by meter).
NEIGHBOURS = timedelta(hours=1)
LATE_SPAN = timedelta(days=2)
#: What the ingest reads of a meter and its household (they are locked and read for every chunk).
METER_FIELDS = ("serial", "active", "installed_at", "first_reading_at", "last_reading_at", "last_litres", "last_use_at",
                "last_pause_at", "household__watched", "household__watched_since")


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    #: ``(index in the batch, code)`` of every refused reading, in the batch's order.
    refused: list[tuple[int, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(code for _index, code in self.refused).items()))

    def merge(self, other: IngestResult, offset: int = 0) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.refused.extend((index + offset, code) for index, code in other.refused)


@dataclass
class _Item:
    index: int
    serial: str
    at: datetime
    litres: float


def reading_time(value) -> datetime | None:
    """``value`` (a datetime or an ISO 8601 string; without an offset: the district's time) as an aware datetime."""
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    value = value if timezone.is_aware(value) else timezone.make_aware(value)
    try:
        value.astimezone(UTC)  # the database keeps UTC: a time at the calendar's edge (year 1) has none
    except OverflowError:
        return None
    return value


def readings_ingest(*, readings: Sequence, source: str, now: datetime | None = None) -> IngestResult:
    """Take ``readings``, each ``(serial, at, litres)`` (``litres``: the meter's cumulative counter), from ``source``.

    Who may call: the gateway mutation (for an account with ``gridapp.submit_readings``), the MQTT bridge and the
    CSV command; each checks its caller first.  Idempotent: a reading already kept (same meter and time) counts as a
    duplicate, whatever order the readings come in.  Never raises for a bad reading: it is refused with a code of
    ``REFUSALS`` and counted."""
    ReadingSource(source)
    now = now or timezone.now()
    result = IngestResult()
    chunk = settings.SENSOR_INGEST_CHUNK
    for start in range(0, len(readings), chunk):
        result.merge(_chunk_ingest(readings[start:start + chunk], source=source, now=now), offset=start)
    return result


def _checked(index: int, reading, now: datetime, refused: list) -> _Item | None:
    try:
        serial, at, litres = reading
    except (TypeError, ValueError):
        refused.append((index, "malformed"))
        return None
    # A NUL is no serial's, and PostgreSQL refuses it in any query: checked here, not raised from the lookup.
    if not isinstance(serial, str) or not serial.strip() or len(serial.strip()) > SERIAL_MAX or "\x00" in serial:
        refused.append((index, "unknown_meter"))
        return None
    at = reading_time(at)
    if at is None:
        refused.append((index, "invalid_time"))
    elif at > now + timedelta(seconds=settings.SENSOR_CLOCK_SKEW_SECONDS):
        refused.append((index, "future_timestamp"))
    elif (litres := _volume(litres)) is None:
        refused.append((index, "invalid_volume"))
    elif litres < 0:
        refused.append((index, "negative_volume"))
    else:
        return _Item(index, serial.strip(), at, litres)
    return None


def _volume(value) -> float | None:
    """``value`` as a finite float; None for anything else (a string, a bool, an int beyond any float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _chunk_ingest(readings: Sequence, *, source: str, now: datetime) -> IngestResult:
    result = IngestResult()
    items = [item for index, reading in enumerate(readings)
             if (item := _checked(index, reading, now, result.refused)) is not None]
    by_serial: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        by_serial[item.serial].append(item)
    refused_serials: dict[int, str] = {}
    with transaction.atomic():
        # Locked in id order (PostgreSQL; SQLite's transactions take the write lock up front): two paths feeding
        # one meter wait for each other instead of both reading its summary.
        meters = {meter.serial: meter for meter in WaterMeter.objects.select_for_update(of=("self",))
                  .select_related("household").only(*METER_FIELDS).filter(serial__in=list(by_serial))
                  .order_by("pk")}
        rows: list[MeterReading | _New] = []
        moved: list[MeterReading] = []
        touched: list[WaterMeter] = []
        groups: dict[WaterMeter, list[_Item]] = {}
        for serial, group in by_serial.items():
            meter = meters.get(serial)
            if meter is None or not meter.active or meter.household is None or not meter.household.watched:
                code = "unknown_meter" if meter is None else "not_watched"
                result.refused.extend((item.index, code) for item in group)
                if meter is not None:
                    refused_serials.update((item.index, serial) for item in group)
                continue
            group.sort(key=lambda item: item.at)
            since = max(filter(None, (meter.installed_at, meter.household.watched_since)), default=None)
            kept = []
            for item in group:  # the same time twice in one batch: the first is kept
                if since is not None and item.at < since:
                    result.refused.append((item.index, "before_watch"))
                    refused_serials[item.index] = serial
                elif kept and kept[-1].at == item.at:
                    if kept[-1].litres == item.litres:
                        result.duplicates += 1
                    else:
                        result.refused.append((item.index, "conflicting_reading"))
                        refused_serials[item.index] = serial
                else:
                    kept.append(item)
            groups[meter] = kept
        around = _kept_around(groups)
        for meter, kept in groups.items():
            nearby = around.get(meter.pk)
            if nearby:
                known = {reading.at: reading.litres for reading in nearby}
                fresh = []
                for item in kept:
                    litres = known.get(item.at)
                    if litres is None:
                        fresh.append(item)
                    elif litres == item.litres:
                        result.duplicates += 1
                    else:
                        result.refused.append((item.index, "conflicting_reading"))
                        refused_serials[item.index] = meter.serial
                kept = fresh
            if not kept:
                continue
            if meter.last_reading_at is None or kept[0].at > meter.last_reading_at:
                new, backwards = _append(meter, kept, source)
            else:  # a reading missing among those kept: late, or filling a gap
                new, backwards, again, successors = _insert(meter, kept, source, nearby or [])
                result.duplicates += again
                moved.extend(successors)
            result.refused.extend((item.index, "counter_backwards") for item in backwards)
            refused_serials.update((item.index, meter.serial) for item in backwards)
            result.accepted += len(new)
            rows.extend(new)
            if new:
                touched.append(meter)
        _readings_write(rows)
        if moved:
            MeterReading.objects.bulk_update(moved, ["used", "flowing"], batch_size=500)
        for meter in touched:
            if getattr(meter, "_recount", False):
                _summary_recount(meter)
        _summaries_write(touched)
        _refusals_count(result.refused, refused_serials, source=source, now=now)
    result.refused.sort()
    return result


def _kept_around(groups: dict[WaterMeter, list[_Item]]) -> dict[int, list[_Kept]]:
    """The readings kept already around the late readings of ``groups`` (those no later than their meter's last),
    by meter id, in time order: within ``NEIGHBOURS`` of them, in one query for the chunk, so that a batch sent
    again or a little late costs that query and no more.  When the late readings span more than ``LATE_SPAN`` (a
    backlog), each meter's are read on their own, without the margin (their neighbours are then asked for apart)."""
    late = {meter.pk: [item.at for item in kept if item.at <= meter.last_reading_at]
            for meter, kept in groups.items() if meter.last_reading_at is not None}
    late = {pk: ats for pk, ats in late.items() if ats}
    if not late:
        return {}
    first, last = min(min(ats) for ats in late.values()), max(max(ats) for ats in late.values())
    if last - first > LATE_SPAN:
        return {pk: _kept_between(pk, min(ats), max(ats)) for pk, ats in late.items()}
    found: dict[int, list[_Kept]] = defaultdict(list)
    rows = (MeterReading.objects.filter(meter_id__in=list(late), at__gte=first - NEIGHBOURS, at__lte=last + NEIGHBOURS)
            .order_by("meter_id", "at").values_list("meter_id", *_Kept._fields))
    for meter_id, *kept in rows.iterator(chunk_size=5000):
        found[meter_id].append(_Kept(*kept))
    return found


def _kept_between(meter_id: int, first: datetime, last: datetime) -> list[_Kept]:
    return [_Kept(*kept) for kept in MeterReading.objects.filter(meter_id=meter_id, at__gte=first, at__lte=last)
            .order_by("at").values_list(*_Kept._fields)]


class _New(NamedTuple):
    """A reading to write, in the columns ``_readings_write`` reads (a ``MeterReading`` has them too)."""

    meter_id: int
    at: datetime
    litres: float
    used: float | None
    flowing: bool
    source: str


class _Kept(NamedTuple):
    """A reading kept already, as the late path reads it (plain values: most are only compared)."""

    id: int
    at: datetime
    litres: float
    used: float | None
    flowing: bool

    def model(self, meter: WaterMeter) -> MeterReading:
        return MeterReading(pk=self.id, meter=meter, at=self.at, litres=self.litres, used=self.used,
                            flowing=self.flowing)


def _readings_write(rows: list[MeterReading | _New]) -> None:
    """Insert ``rows`` with one statement run for each: a week of a district's meters is hundreds of thousands of
    rows, and ``bulk_create`` spends more on preparing each field of each object than the database on storing it
    (``bench/sensors.py`` measures both)."""
    if not rows:
        return
    columns = "meter_id, at, litres, used, flowing, source"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY: PostgreSQL's own bulk load, inside the transaction
            with cursor.cursor.copy(f"COPY {MeterReading._meta.db_table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((row.meter_id, row.at, row.litres, row.used, row.flowing, row.source))
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(f"INSERT INTO {MeterReading._meta.db_table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)",
                               [(row.meter_id, adapt(row.at), row.litres, row.used, row.flowing, row.source)
                                for row in rows])


def _summaries_write(meters: list[WaterMeter]) -> None:
    """The summaries of ``meters`` in one statement run for each (``bulk_update``'s CASE over hundreds of rows costs
    more than the readings' own insert)."""
    if not meters:
        return
    ops = connection.ops
    table = WaterMeter._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET first_reading_at = %s, last_reading_at = %s, last_litres = %s, last_use_at = %s, "
            f"last_pause_at = %s WHERE id = %s",
            [(ops.adapt_datetimefield_value(meter.first_reading_at), ops.adapt_datetimefield_value(meter.last_reading_at),
              meter.last_litres, ops.adapt_datetimefield_value(meter.last_use_at),
              ops.adapt_datetimefield_value(meter.last_pause_at), meter.pk) for meter in meters])


def _interval(meter_gap: timedelta, before: tuple[datetime, float] | None, at: datetime,
              litres: float) -> tuple[float | None, bool]:
    """``used`` and ``flowing`` of a reading at ``at`` after ``before`` (time, counter), if any."""
    if before is None:
        return None, False
    used = litres - before[1]
    return used, used > 0 and at - before[0] <= meter_gap


def _gap() -> timedelta:
    return timedelta(minutes=settings.SENSOR_RUN_GAP_MINUTES)


def _append(meter: WaterMeter, items: list[_Item], source: str) -> tuple[list[_New], list[_Item]]:
    """Readings all later than the meter's last: the common case, the summary follows in memory."""
    gap = _gap()
    before = (meter.last_reading_at, meter.last_litres) if meter.last_reading_at else None
    new, backwards = [], []
    for item in items:
        if before is not None and item.litres < before[1]:
            backwards.append(item)
            continue
        used, flowing = _interval(gap, before, item.at, item.litres)
        new.append(_New(meter.pk, item.at, item.litres, used, flowing, source))
        if used is not None and used > 0:
            meter.last_use_at = item.at
        if not flowing:
            meter.last_pause_at = item.at
        before = (item.at, item.litres)
    if new:
        meter.first_reading_at = meter.first_reading_at or new[0].at
        meter.last_reading_at, meter.last_litres = new[-1].at, new[-1].litres
    return new, backwards


def _insert(meter: WaterMeter, items: list[_Item], source: str, nearby: list[_Kept]):
    """Readings reaching back among those kept (late, resent, or a gap filled): merged with their neighbours in time,
    whose ``used`` and ``flowing`` change with them, and the summary with them."""
    gap = _gap()
    first, last = items[0].at, items[-1].at
    kept = MeterReading.objects.filter(meter=meter)
    # ``nearby``: the readings kept around these, in time order (``_kept_around``); the neighbours beyond it are
    # asked for only when it does not reach them
    around = [reading.model(meter) for reading in nearby if first <= reading.at <= last]
    before = next((reading.model(meter) for reading in reversed(nearby) if reading.at < first), None)
    if before is None and meter.first_reading_at is not None and meter.first_reading_at < first:
        before = kept.filter(at__lt=first).order_by("-at").first()
    after = next((reading.model(meter) for reading in nearby if reading.at > last), None)
    if after is None and meter.last_reading_at is not None and meter.last_reading_at > last:
        after = kept.filter(at__gt=last).order_by("at").first()
    timeline: dict[datetime, MeterReading] = {reading.at: reading for reading in around}
    for neighbour in (before, after):
        if neighbour is not None:
            timeline[neighbour.at] = neighbour
    new, backwards, again = [], [], 0
    ordered = sorted(timeline)
    for item in items:
        if item.at in timeline:
            again += 1
            continue
        position = bisect.bisect(ordered, item.at)
        earlier = timeline[ordered[position - 1]] if position else None
        later = timeline[ordered[position]] if position < len(ordered) else None
        if (earlier is not None and item.litres < earlier.litres) or (later is not None and item.litres > later.litres):
            backwards.append(item)
            continue
        reading = MeterReading(meter=meter, at=item.at, litres=item.litres, source=source)
        timeline[item.at] = reading
        ordered.insert(position, item.at)
        new.append(reading)
    successors = []
    for position, at in enumerate(ordered):
        reading = timeline[at]
        previous = timeline[ordered[position - 1]] if position else None
        if previous is None and reading is before:
            continue  # the reading before the batch keeps its own predecessor
        used, flowing = _interval(gap, (previous.at, previous.litres) if previous else None, at, reading.litres)
        if reading.pk is None:
            reading.used, reading.flowing = used, flowing
        elif (reading.used, reading.flowing) != (used, flowing):
            reading.used, reading.flowing = used, flowing
            successors.append(reading)
    if new:
        _summary_merge(meter, timeline, ordered)
    return new, backwards, again, successors


def _summary_merge(meter: WaterMeter, timeline: dict[datetime, MeterReading], ordered: list[datetime]) -> None:
    """The meter's summary after readings landed in ``timeline`` (the time-ordered ``ordered``: the new readings with
    their neighbours).  Readings outside it did not change, so the summary follows from it and the old summary,
    except when the last use or pause was inside it and is not any more: then it is counted again from the table
    once the rows are written."""
    start, end = ordered[0], ordered[-1]
    meter.first_reading_at = min(filter(None, (meter.first_reading_at, start)))
    if meter.last_reading_at is None or end >= meter.last_reading_at:
        meter.last_reading_at, meter.last_litres = end, timeline[end].litres
    for name, holds in (("last_use_at", lambda reading: (reading.used or 0) > 0),
                        ("last_pause_at", lambda reading: not reading.flowing)):
        old = getattr(meter, name)
        if old is not None and old > end:
            continue  # later than anything that changed
        found = next((at for at in reversed(ordered) if holds(timeline[at])), None)
        if found is not None:
            setattr(meter, name, found)
        elif old is not None and old >= start:
            meter._recount = True


def _summary_recount(meter: WaterMeter) -> None:
    """The meter's summary from its readings (after a late reading: the new rows are written by now)."""
    readings = MeterReading.objects.filter(meter=meter)
    first = readings.order_by("at").values_list("at", flat=True).first()
    last = readings.order_by("-at").values_list("at", "litres").first()
    meter.first_reading_at = first
    meter.last_reading_at, meter.last_litres = last if last else (None, None)
    meter.last_use_at = readings.filter(used__gt=0).order_by("-at").values_list("at", flat=True).first()
    meter.last_pause_at = readings.filter(flowing=False).order_by("-at").values_list("at", flat=True).first()


def refusals_count(*, code: str, source: str, count: int = 1, serial: str = "", now: datetime | None = None) -> None:
    """Add ``count`` refusals for ``code`` (a code of ``REFUSALS``) to the day's tally of ``source`` and ``serial``
    (empty: no meter to name, as for an unknown serial).

    Who may call: this module, and a path that refuses a message before it is readings at all (the MQTT bridge's
    unreadable payloads).  Raises ``ValueError`` for a ``source`` that is no ``ReadingSource`` or a code not in
    ``REFUSALS``."""
    ReadingSource(source)
    if code not in REFUSALS:
        raise ValueError(f"no refusal code {code!r}")
    day = timezone.localdate(now or timezone.now())
    row = ReadingRefusal.objects.filter(day=day, source=source, code=code, serial=serial[:SERIAL_MAX])
    if row.update(count=F("count") + count):
        return
    try:
        with transaction.atomic():  # a savepoint: another process may create the day's row first
            ReadingRefusal.objects.create(day=day, source=source, code=code, serial=serial[:SERIAL_MAX], count=count)
    except IntegrityError:
        row.update(count=F("count") + count)


def _refusals_count(refused: Iterable[tuple[int, str]], serials: dict[int, str], *, source: str,
                    now: datetime) -> None:
    tally = Counter((code, serials.get(index, "")) for index, code in refused)
    for (code, serial), count in tally.items():
        refusals_count(code=code, source=source, count=count, serial=serial, now=now)


def refusal_message(code: str) -> str:
    return str(REFUSALS.get(code, code))
