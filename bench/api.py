"""The incident API at full scale: 1.6 M base records and 400,000 events on PostgreSQL.

Measured in one run, against the same database:

* the mobile home screen (``myTasks``, first 20, with grid, category, deadline
  and thumbnail link), over HTTP through a real ASGI server (uvicorn, 2
  worker processes) loaded by ``wrk``: requests/s and latency percentiles, and
  side by side the same answer from a hand-written Django JSON view
  (bench/urls.py), the baseline of GraphQL's overhead (target <= 1.5x), and a
  view that does nothing (the ceiling of the server on this machine);
* the command centre's list of 10,000 open events with nested grid and
  category (``eventLayer``): p50 and the number of SQL queries;
* the statistics by street x category over all events.

    .venv/bin/python bench/api.py [--database onegrid_bench] [--duration 10] [--connections 16]

Without ``--database``, a scratch database is created, seeded with
``seed_demo --scale full`` (several minutes) and dropped at the end; with it,
an existing seeded database is used as it is.  Needs PostgreSQL, Redis and
``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"

HOME = ("query Home { myTasks(first: 20) { edges { node { id caseNumber status deadline isOverdue thumbnailUrl "
        "grid { code name } category { code name } } } } }")
LAYER = ("query Layer($filter: EventFilter) { eventLayer(filter: $filter, first: 10000) { count "
         "ids lngs lats statuses overdue gridIndex categoryIndex gridCodes gridNames categoryCodes categoryNames } }")
STATS = "{ eventStatistics(groupBy: [STREET, CATEGORY]) { rows { cases overdueRate medianResolutionHours } } }"
STATS_TOTALS = "{ eventStatistics(groupBy: [STREET]) { totals { cases p90ResolutionHours } } }"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="an existing database seeded with seed_demo --scale full")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--only", default="home,layer,stats", help="which parts to run (comma-separated)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    scratch = args.database is None
    database = args.database or f"onegrid_bench_api_{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=f"{PG}/{database}", REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
               ONEGRID_VAR_DIR=os.environ.get("ONEGRID_VAR_DIR", tempfile.mkdtemp(prefix="onegrid-bench-api-")),
               DEBUG="0", DJANGO_SETTINGS_MODULE="bench.settings", LOG_LEVEL="WARNING")
    os.environ.update(env)
    if scratch:
        _psql(f"CREATE DATABASE {database}")
    try:
        if scratch:
            _manage(env, "migrate", "-v", "0")
            _manage(env, "seed_demo", "--scale", "full")
        run(env, args)
    finally:
        if scratch:
            _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def run(env: dict, args) -> None:
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User
    from accounts.services import token_issue
    from gridapp.models import Event

    events = Event.objects.count()
    worker = User.objects.get(username="worker")
    operator = User.objects.get(username="operator")
    worker_token = token_issue(user=worker, ttl_seconds=3600)[0]
    operator_token = token_issue(user=operator, ttl_seconds=3600)[0]
    connection.close()
    print(f"database: {events:,} events; server: uvicorn x{args.workers}; load: wrk, {args.connections} connections, "
          f"{args.duration} s per run")

    parts = set(args.only.split(","))
    if "home" in parts:
        _home(env, args, worker_token)

    from django.test import Client

    client = Client()

    def post(query, token, variables=None) -> tuple[float, dict]:
        """Milliseconds the server took (the request through Django's full stack), and the answer."""
        started = time.perf_counter()
        response = client.post("/graphql/", json.dumps({"query": query, "variables": variables or {}}),
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        elapsed = (time.perf_counter() - started) * 1000
        body = json.loads(response.content)
        assert not body.get("errors"), body["errors"]
        return elapsed, body["data"]

    if "layer" in parts:
        _layer(post, operator_token)
    if "stats" in parts:
        _stats(post, operator_token)


def _home(env: dict, args, worker_token: str) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz")
        graphql_url = f"{base}/graphql/?" + urllib.parse.urlencode({"query": HOME})
        baseline_url = f"{base}/bench/home"
        same = _get(graphql_url, worker_token) == _get(baseline_url, worker_token)
        tasks = len(_get(baseline_url, worker_token)["data"]["myTasks"]["edges"])
        print(f"\n1. Mobile home screen (my tasks, first 20; the worker has {tasks} on the first page); "
              f"same JSON from both: {same}")
        results = {"graphql": [], "baseline": []}
        for _round in range(2):  # interleaved, so drift on a shared machine hits both
            for name, url in (("graphql", graphql_url), ("baseline", baseline_url)):
                results[name].append(_wrk(url, worker_token, args))
        for name in ("graphql", "baseline"):
            best = max(results[name], key=lambda r: r["rps"])
            print(f"   {name:<9} {best['rps']:8.0f} req/s   p50 {best['p50']:6.1f} ms   p99 {best['p99']:6.1f} ms")
        ping = _wrk(f"{base}/bench/ping", worker_token, args)
        print(f"   (the ceiling: a view that does nothing, same server and load: {ping['rps']:.0f} req/s, "
              f"p50 {ping['p50']:.1f} ms)")
        graphql = max(results["graphql"], key=lambda r: r["rps"])
        baseline = max(results["baseline"], key=lambda r: r["rps"])
        ratio = baseline["rps"] / graphql["rps"]
        print(f"   GraphQL costs {ratio:.2f}x the hand-written view per request "
              f"({'PASS' if ratio <= 1.5 else 'FAIL'} <= 1.5x); "
              f"{'PASS' if graphql['rps'] >= 1000 and graphql['p99'] <= 50 else 'FAIL'} >= 1,000 req/s at p99 <= 50 ms")
    finally:
        server.terminate()
        server.wait(10)


def _layer(post, operator_token: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print("\n2. Command centre: 10,000 open events with grid and category (eventLayer)")
    variables = {"filter": {"open": True}}
    post(LAYER, operator_token, variables)
    timings = []
    for _ in range(15):
        elapsed, data = post(LAYER, operator_token, variables)
        timings.append(elapsed)
    with CaptureQueriesContext(connection) as captured:
        post(LAYER, operator_token, variables)
    queries = [q["sql"] for q in captured.captured_queries if "authtoken" not in q["sql"]]
    p50 = statistics.median(timings)
    print(f"   {data['eventLayer']['count']:,} events: p50 {p50:.0f} ms, min {min(timings):.0f} ms; "
          f"{len(queries)} SQL queries besides the token check "
          f"({'PASS' if p50 <= 150 and len(queries) <= 2 else 'FAIL'} p50 <= 150 ms and <= 2 queries)")



def _stats(post, operator_token: str) -> None:
    print("\n3. Statistics by street x category over every event")
    post(STATS, operator_token)
    timings = []
    for _ in range(7):
        elapsed, data = post(STATS, operator_token)
        timings.append(elapsed)
    p50 = statistics.median(timings)
    cases = sum(row["cases"] for row in data["eventStatistics"]["rows"])
    print(f"   {len(data['eventStatistics']['rows'])} groups over {cases:,} cases: "
          f"p50 {p50:.0f} ms ({'PASS' if p50 <= 200 else 'FAIL'} <= 200 ms)")
    totals = statistics.median([post(STATS_TOTALS, operator_token)[0] for _ in range(5)])
    print(f"   (the district-wide totals row, a query of its own when asked for: p50 {totals:.0f} ms)")


def _wrk(url: str, token: str, args) -> dict:
    output = subprocess.run(
        ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"errors under load:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return {"rps": rps, "p50": _ms(output, "50%"), "p99": _ms(output, "99%")}


def _ms(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_for(url: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", sql], check=True)


def _manage(env: dict, *command: str) -> None:
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    main()
