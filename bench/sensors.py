"""The sensor watch's readings per second through each path they come in by, against a bare insert of the same rows
in the same run.

The readings are the simulated week of ``gridapp.sensors.demo`` (``--homes`` households, ``--days`` days, one reading
per meter every 15 minutes, a few meters with gaps or silent for hours), ending at yesterday's midnight.  Every path
starts on empty tables (the readings truncated, the meters' summaries and the refusals' tallies cleared) and takes the
same readings, checked afterwards: all kept, none refused.

1. bare: the same rows (``used``/``flowing`` worked out beforehand) written as the service writes them (COPY on
   PostgreSQL, one INSERT run for each row on SQLite: ``gridapp.sensors.ingest._readings_write``), an hour at a time
   in time order, one transaction an hour, without the checks, the neighbours or the summaries: the floor;
2. gateway: ``readings_ingest`` as gateways send, one call per hour for all meters, in time order;
3. bad network: the same hours shuffled, 10% of each held back to the next hour, 300 readings of the hour before sent
   again (duplicates) with each;
4. CSV: ``manage.py meter_readings_import`` (in process) over a CSV file of the week written beforehand;
5. GraphQL: ``submitMeterReadings`` over HTTP to a uvicorn process (one worker), batches of SENSOR_BATCH_MAX in time
   order, posted one after another with an operator's token;
6. MQTT: ``manage.py meter_bridge`` as a process of its own; each meter's hour published as one JSON message (QoS 1)
   to Mosquitto at 127.0.0.1:1883, timed until every row is stored.  Published at most 200 messages ahead of what
   is stored, so that the broker's queue for the bridge (Mosquitto's ``max_queued_messages``, 1,000) never drops one.

``--subset-days N`` measures paths 5 and 6 over the first N days only (the ratio is then to the bare insert's rate over
the same hours).  Target, on path 2: a week of 1,000 households, 672,000 readings, ingested in under 60 s (at the
measured rate; the interval resamples the hours).

    .venv/bin/python bench/sensors.py [--homes 1000] [--days 7] [--paths bare,gateway,network,csv,graphql,mqtt]
                                      [--subset-days N] [--sqlite]

PostgreSQL by default (a scratch database of this run, dropped at the end); ``--sqlite``: the embedded SQLite
database, in a temporary ONEGRID_VAR_DIR.
"""

from __future__ import annotations

import argparse
import bisect
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

PATHS = ("bare", "gateway", "network", "csv", "graphql", "mqtt")
TARGET_READINGS, TARGET_SECONDS = 672_000, 60.0
HOUR = timedelta(hours=1)
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
AHEAD = 200  # MQTT messages published beyond those stored
SUBMIT = ("mutation($input: SubmitMeterReadingsInput!) { submitMeterReadings(input: $input) { errors { code } "
          "accepted duplicates refusedCounts { code count } } }")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    parser.add_argument("--subset-days", type=int, default=None, help="days measured over GraphQL and MQTT")
    parser.add_argument("--sqlite", action="store_true", help="the embedded SQLite database instead of PostgreSQL")
    args = parser.parse_args()
    args.paths = [path for path in PATHS if path in args.paths.split(",")]
    with ExitStack() as stack:
        var = stack.enter_context(tempfile.TemporaryDirectory(prefix="onegrid-bench-sensors-"))
        env = dict(os.environ, ONEGRID_VAR_DIR=var, DEBUG="0", LOG_LEVEL="WARNING",
                   DJANGO_SETTINGS_MODULE="config.settings")
        env.pop("REDIS_URL", None)
        if args.sqlite:
            env.pop("DATABASE_URL", None)
            print(f"SQLite in {var}: migrating ...", flush=True)
        else:
            from bench.scratch import scratch_database

            env["DATABASE_URL"] = stack.enter_context(scratch_database("sensors"))
            print(f"scratch database {env['DATABASE_URL'].rsplit('/', 1)[1]}: migrating ...", flush=True)
        os.environ.clear()
        os.environ.update(env)
        common.manage(env, "migrate", "-v", "0")
        sys.exit(0 if run(args, env, Path(var)) else 1)


def run(args, env: dict, var: Path) -> bool:
    import django

    django.setup()
    from django.db import connection

    world = _world(args)
    hours, total = world["hours"], sum(map(len, world["hours"]))
    subset = len(hours) if args.subset_days is None else min(len(hours), args.subset_days * 24)
    print(_version())
    print(f"{connection.vendor}, {args.homes:,} households, {args.days} days from {world['start']:%Y-%m-%d}: "
          f"{total:,} readings ({world['missing']:,} lost in gaps and silences), made in {world['made']:.1f} s\n")
    runs = {"bare": _bare, "gateway": _gateway, "network": _network, "csv": _csv, "graphql": _graphql,
            "mqtt": _mqtt}
    found: dict[str, dict] = {}
    for path in args.paths:
        _tables_reset()
        found[path] = runs[path](world, env=env, var=var, hours=subset if path in ("graphql", "mqtt") else len(hours))
        _check(world, found[path]["hours"], summaries=path != "bare")
        print(f"{chr(13) if sys.stdout.isatty() else ''}{found[path]['label']}: {found[path]['seconds']:.1f} s"
              + " " * 30, flush=True)
    print(f"\n{'path':<60} {'readings':>9} {'seconds':>8} {'readings/s':>11} {'/ bare':>7}")
    for result in found.values():
        count = sum(map(len, hours[:result["hours"]]))
        rate = count / result["seconds"]
        ratio = "-"
        if "bare" in found:
            bare = found["bare"]["per_hour"][:result["hours"]]
            ratio = f"{rate / (count / sum(bare)):.2f}x"
        note = "" if result["hours"] == len(hours) else f" (first {result['hours'] // 24} days)"
        print(f"{result['label'] + note:<60} {count:>9,} {result['seconds']:>8.1f} {rate:>11,.0f} {ratio:>7}")
    if "gateway" not in found:
        return True
    seconds, counts = np.array(found["gateway"]["per_hour"]), np.array([len(hour) for hour in hours])
    scaled = seconds.sum() / counts.sum() * TARGET_READINGS
    low, high = common.interval(np.arange(len(hours)), lambda picks: seconds[picks.astype(int)].sum()
                                / counts[picks.astype(int)].sum() * TARGET_READINGS)
    outcome = common.verdict((low, high), TARGET_SECONDS)
    print(f"\ntarget: a week of 1,000 households, one reading per 15 minutes ({TARGET_READINGS:,} readings), ingested "
          f"in under {TARGET_SECONDS:.0f} s through the service hour by hour\n   {total:,} readings in "
          f"{seconds.sum():.1f} s; {TARGET_READINGS:,} at this rate: {scaled:.1f} s (95% interval {low:.1f}-"
          f"{high:.1f} s, the hours resampled) -> {outcome}")
    return outcome == "PASS"


def _version() -> str:
    """The commit measured, and whether the code of the paths differs from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "log", "-1", "--format=%h %ci"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--", "gridapp/sensors", "api/sensors",
                              "gridapp/management/commands"], capture_output=True, text=True).stdout.split("\n")
    changed = [line[3:] for line in changed if line.strip()]
    return f"code at {head or 'no commit'}" + (f", changed since: {', '.join(changed)}" if changed else "")


def _world(args) -> dict:
    """A grid, the plan's households with meters and consents (in bulk, as an import would), an operator's token,
    and the week's readings by hour, each hour in time order."""
    from django.utils import timezone

    from accounts.models import Role, User
    from accounts.services import token_issue
    from gridapp.geography.models import Community, Generation, Grid, Street
    from gridapp.sensors.demo import home_readings, week_plan
    from gridapp.sensors.models import Household, HouseholdConsent, WaterMeter

    started = time.perf_counter()
    start = datetime.combine(timezone.localdate() - timedelta(days=args.days), datetime.min.time(),
                             tzinfo=timezone.get_current_timezone())
    area = {"boundary": {"type": "Polygon", "coordinates": [[[120.3, 36.0], [120.31, 36.0], [120.31, 36.01],
                                                             [120.3, 36.01], [120.3, 36.0]]]},
            "min_lng": 120.3, "min_lat": 36.0, "max_lng": 120.31, "max_lat": 36.01,
            "generation_low": Generation.objects.create(description="bench")}
    street = Street.objects.create(code="BS", name="基准街道", **area)
    community = Community.objects.create(code="BC", name="基准社区", street=street, **area)
    grid = Grid.objects.create(code="BG", name="基准网格", community=community, centroid_lng=120.305,
                               centroid_lat=36.005, **area)
    plan = week_plan(homes=args.homes, start=start, days=args.days)
    Household.objects.bulk_create([Household(
        code=home.code, address=f"模拟路 {n} 号", lng=120.305, lat=36.005, grid=grid, resident_name=f"居民{n}",
        contact_name="子女", contact_phone="13800000000", emergency_name="邻居", emergency_phone="13800000001",
        watched=True, watched_since=start) for n, home in enumerate(plan)])
    households = dict(Household.objects.values_list("code", "pk"))
    WaterMeter.objects.bulk_create([WaterMeter(serial=home.serial, household_id=households[home.code],
                                               installed_at=start) for home in plan])
    HouseholdConsent.objects.bulk_create([HouseholdConsent(household_id=households[home.code], given_by="本人",
                                                           given_at=start) for home in plan])
    hours: list[list] = [[] for _ in range(args.days * 24)]
    for home in plan:
        for reading in home_readings(home, start=start, days=args.days):
            hours[(reading[1] - start) // HOUR].append(reading)
    for hour in hours:
        hour.sort(key=lambda reading: (reading[1], reading[0]))
    operator = User.objects.create_user("bench-operator", role=Role.OPERATOR)
    return {"start": start, "hours": hours, "meters": dict(WaterMeter.objects.values_list("serial", "pk")),
            "missing": args.homes * args.days * 96 - sum(map(len, hours)), "token": token_issue(user=operator)[0],
            "made": time.perf_counter() - started}


def _tables_reset() -> None:
    """No readings, no refusals, the meters as never read; the tables vacuumed."""
    from django.db import connection

    from gridapp.sensors.models import MeterReading, ReadingRefusal, WaterMeter

    table = MeterReading._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {table} RESTART IDENTITY")
        else:
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
    ReadingRefusal.objects.all().delete()
    WaterMeter.objects.update(first_reading_at=None, last_reading_at=None, last_litres=None, last_use_at=None,
                              last_pause_at=None)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {WaterMeter._meta.db_table}" if connection.vendor == "postgresql" else "VACUUM")


def _check(world: dict, hours: int, *, summaries: bool) -> None:
    """Every reading of the first ``hours`` kept once, none refused, the meters' last readings (``summaries``) where
    the readings leave them."""
    from gridapp.sensors.models import MeterReading, ReadingRefusal, WaterMeter

    expected = world["hours"][:hours]
    kept = MeterReading.objects.count()
    last = {reading[0]: reading[1] for hour in expected for reading in hour}
    found = dict(WaterMeter.objects.exclude(last_reading_at=None).values_list("serial", "last_reading_at"))
    if kept != sum(map(len, expected)) or ReadingRefusal.objects.exists() or (summaries and found != last):
        raise SystemExit(f"\nwrong outcome: {kept:,} readings kept of {sum(map(len, expected)):,}, refusals "
                         f"{list(ReadingRefusal.objects.values_list('code', 'count'))}, summaries right: "
                         f"{found == last}")


def _progress(label: str, done: int, total: int, seconds: float) -> None:
    """One line rewritten on a terminal; a line a time into a file."""
    tty = sys.stdout.isatty()
    print(f"{chr(13) if tty else '   '}{label}: {done:,} of {total:,} readings, {seconds:.1f} s",
          end="" if tty else "\n", flush=True)


def _timed_hours(label: str, world: dict, hours: int, once) -> dict:
    """``once(hour)`` for each hour, timed: the seconds of each."""
    per_hour, done, total = [], 0, sum(map(len, world["hours"][:hours]))
    for hour in range(hours):
        started = time.perf_counter()
        once(hour)
        per_hour.append(time.perf_counter() - started)
        done += len(world["hours"][hour])
        if hour % 24 == 23 or hour == hours - 1:
            _progress(label, done, total, sum(per_hour))
    return {"label": label, "seconds": sum(per_hour), "per_hour": per_hour, "hours": hours}


def _bare(world: dict, *, hours: int, **_) -> dict:
    from django.conf import settings
    from django.db import transaction

    from gridapp.sensors.ingest import _New, _readings_write

    gap, before, rows = timedelta(minutes=settings.SENSOR_RUN_GAP_MINUTES), {}, []
    for hour in world["hours"]:  # used and flowing as the service works them out
        rows.append([])
        for serial, at, litres in hour:
            previous = before.get(serial)
            used = None if previous is None else litres - previous[1]
            flowing = used is not None and used > 0 and at - previous[0] <= gap
            rows[-1].append((world["meters"][serial], at, litres, used, flowing))
            before[serial] = (at, litres)

    def once(hour: int) -> None:
        with transaction.atomic():  # the service's own writer (COPY, or one INSERT run for each row): the floor
            _readings_write([_New(pk, at, litres, used, flowing, "gateway")
                             for pk, at, litres, used, flowing in rows[hour]])

    return _timed_hours("1. bare insert, the service's writer, an hour a transaction", world, hours, once)


def _gateway(world: dict, *, hours: int, **_) -> dict:
    from gridapp.sensors.ingest import readings_ingest

    def once(hour: int) -> None:
        result = readings_ingest(readings=world["hours"][hour], source="gateway",
                                 now=world["start"] + (hour + 1) * HOUR)
        assert not result.refused and not result.duplicates, (hour, result.counts())

    return _timed_hours("2. service, one call an hour (gateway)", world, hours, once)


def _network(world: dict, *, hours: int, **_) -> dict:
    from gridapp.sensors.ingest import readings_ingest

    draw, held, batches = random.Random(2026), [], []
    for hour in range(hours):
        own = list(world["hours"][hour])
        draw.shuffle(own)
        late = len(own) // 10 if hour < hours - 1 else 0
        batch = own[late:] + held + (draw.sample(world["hours"][hour - 1], min(300, len(world["hours"][hour - 1])))
                                      if hour else [])
        held = own[:late]
        draw.shuffle(batch)
        batches.append(batch)

    def once(hour: int) -> None:
        result = readings_ingest(readings=batches[hour], source="gateway", now=world["start"] + (hour + 1) * HOUR)
        assert not result.refused, (hour, result.counts())

    result = _timed_hours("3. service, shuffled, 10% late, 300 sent twice", world, hours, once)
    result["sent"] = sum(map(len, batches))
    return result


class _Progress(io.StringIO):
    """The CSV command's standard error (a line a chunk: ``5000 rows read: ...``) as the bench's progress."""

    def __init__(self, total: int):
        super().__init__()
        self.total, self.shown, self.started = total, 0, time.perf_counter()

    def write(self, text: str) -> int:
        done = int(text.split()[0]) if text[:1].isdigit() else 0
        if done and (done == self.total or done // 100_000 > self.shown // 100_000):
            _progress("4. CSV", done, self.total, time.perf_counter() - self.started)
            self.shown = done
        return len(text)


def _csv(world: dict, *, var: Path, hours: int, **_) -> dict:
    from django.core.management import call_command

    path = var / "week.csv"
    with open(path, "w", encoding="utf-8") as file:
        file.write("meter,at,litres\n")
        for hour in world["hours"][:hours]:
            file.writelines(f"{serial},{at.isoformat()},{litres}\n" for serial, at, litres in hour)
    out, progress = io.StringIO(), _Progress(sum(map(len, world["hours"][:hours])))
    started = time.perf_counter()
    call_command("meter_readings_import", str(path), stdout=out, stderr=progress)
    seconds = time.perf_counter() - started
    assert out.getvalue().startswith(f"accepted {sum(map(len, world['hours'][:hours]))}, duplicates 0, refused 0"), \
        out.getvalue()
    return {"label": "4. CSV, meter_readings_import", "seconds": seconds, "hours": hours}


def _graphql(world: dict, *, env: dict, var: Path, hours: int, **_) -> dict:
    import httpx
    from django.conf import settings
    from django.db import connection

    connection.close()  # SQLite: the server writes, this process only reads
    size = settings.SENSOR_BATCH_MAX
    bodies = [[json.dumps({"query": SUBMIT, "variables": {"input": {"readings": [
        {"meter": serial, "at": at.isoformat(), "litres": litres} for serial, at, litres in hour[first:first + size]
    ]}}}).encode() for first in range(0, len(hour), size)] for hour in world["hours"][:hours]]
    port = common.free_port()
    with open(var / "uvicorn.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-access-log", "--log-level", "warning",
                                   *settings.UVICORN_ARGS], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        common.wait_for(f"http://127.0.0.1:{port}/healthz")
        headers = {"Authorization": f"Bearer {world['token']}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=300) as client:
            def once(hour: int) -> None:
                for body in bodies[hour]:
                    answer = client.post("/graphql/", content=body).json()
                    payload = (answer.get("data") or {}).get("submitMeterReadings")
                    if not payload or payload["errors"] or payload["refusedCounts"]:
                        raise SystemExit(f"\nhour {hour}: {answer}\n{(var / 'uvicorn.log').read_text()[-3000:]}")

            return _timed_hours(f"5. GraphQL, batches of {size:,}, one uvicorn worker", world,
                                hours, once)
    finally:
        server.terminate()
        server.wait(10)


def _mqtt(world: dict, *, env: dict, var: Path, hours: int, **_) -> dict:
    import paho.mqtt.client as mqtt
    from django.db.models import Max

    from gridapp.sensors.models import MeterReading, ReadingRefusal

    tag = secrets.token_hex(4)
    prefix, bridge_id = f"bench-{tag}/meters", f"bench-{tag}"
    messages, stored_after = [], [0]  # (topic, payload); readings stored once each message is
    for hour in world["hours"][:hours]:
        by_meter: dict[str, list] = {}
        for serial, at, litres in hour:
            by_meter.setdefault(serial, []).append({"at": at.isoformat(), "litres": litres})
        for serial, readings in by_meter.items():
            messages.append((f"{prefix}/{serial}/readings", json.dumps(readings).encode()))
            stored_after.append(stored_after[-1] + len(readings))
    total = stored_after[-1]
    log = open(var / "bridge.log", "wb")
    bridge = subprocess.Popen([sys.executable, "manage.py", "meter_bridge", "--url", f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
                               "--prefix", prefix, "--client-id", bridge_id, "--linger", "0.2"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    gateway = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{tag}-gateway")
    gateway.connect(MQTT_HOST, MQTT_PORT)
    gateway.loop_start()

    def alive() -> None:
        if bridge.poll() is not None:
            raise SystemExit(f"\nthe bridge ended:\n{(var / 'bridge.log').read_text()[-3000:]}")

    try:
        deadline = time.monotonic() + 60
        while not ReadingRefusal.objects.filter(source="mqtt", code="unknown_meter").exists():  # listening yet?
            alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"\nthe bridge did not listen:\n{(var / 'bridge.log').read_text()[-3000:]}")
            gateway.publish(f"{prefix}/PROBE/readings", b'{"at": "2026-01-01T00:00:00+08:00", "litres": 1}', qos=1)
            time.sleep(0.3)
        time.sleep(1)  # the probes' last flush
        ReadingRefusal.objects.all().delete()
        label = "6. MQTT bridge, a message per meter and hour"

        def stored() -> int:  # the readings' ids count from 1 on truncated tables; cheap where count() is not
            return MeterReading.objects.aggregate(last=Max("id"))["last"] or 0

        started = time.perf_counter()
        last_seen, moved = 0, time.monotonic()
        for index, (topic, payload) in enumerate(messages):
            while index % 10 == 0 and index - bisect.bisect_right(stored_after, stored()) > AHEAD:
                alive()
                time.sleep(0.02)
            gateway.publish(topic, payload, qos=1)
            if index % 20_000 == 0:
                _progress(label, stored(), total, time.perf_counter() - started)
        while (seen := stored()) < total or MeterReading.objects.count() < total:
            alive()
            if seen != last_seen:
                last_seen, moved = seen, time.monotonic()
            elif time.monotonic() - moved > 30:  # lost: the broker's log says whether it dropped messages
                raise SystemExit(f"\nno progress for 30 s at {seen:,} of {total:,} readings (see Mosquitto's log "
                                 f"for 'Outgoing messages are being dropped for client {bridge_id}'):\n"
                                 f"{(var / 'bridge.log').read_text()[-3000:]}")
            time.sleep(0.02)
        return {"label": label, "seconds": time.perf_counter() - started, "hours": hours}
    finally:
        gateway.disconnect()
        gateway.loop_stop()
        bridge.terminate()
        bridge.wait(30)
        log.close()
        ending = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=bridge_id, clean_session=True)
        ending.connect(MQTT_HOST, MQTT_PORT)  # the bridge's persistent session ends with the bench
        ending.loop_start()
        ending.disconnect()
        ending.loop_stop()


if __name__ == "__main__":
    main()
