"""One change to many live subscriptions, and what idle subscriptions cost, over real websockets.

A production-mode ASGI process (uvicorn, one worker, PostgreSQL, Redis) serves the
subscriptions; a second process, pinned to the other core, holds the websockets (websockets' sans-I/O protocol,
graphql-transport-ws); this process commits the changes.  Each part runs on a fresh server.  Figures (issue 13):

1. Latency: ``--subscribers`` (1,000) subscriptions of `changes`, one per user, every user a worker of the same
   grid; each of ``--latency-rounds`` (100) changes is a grid notice committed here.  Per change and socket: the
   time the client read the message minus the time the change committed (both ``time.time()`` on this machine).
   Target: p99 <= 50 ms from commit to the last socket (the p99 over rounds of each round's slowest socket; the
   maximum is printed beside it).
   Baseline, same run, same server and client: a message of the same size sent with channels-redis
   ``group_send`` to a group that as many websocket consumers joined (bench/fanout_asgi.py), timed from the
   ``group_send`` call: what the channel layer alone costs to reach as many sockets.
2. Nothing lost: ``--lossless`` (5,000) subscriptions, ``--rounds`` (30) changes: every socket receives every change
   once, in cursor order.
3. Idle memory: ``--idle`` (10,000) subscriptions held open and idle for ``--idle-seconds`` (35 s, longer than
   uvicorn's 20 s websocket ping): the server's resident memory, against 1 GiB.  Then one more change, which
   every one of them must receive.

Needs `make run`'s environment, PostgreSQL and Redis.  Scratch database of its own (bench/scratch.py); Redis
database ``--redis-db`` (10), emptied at the start.

    .venv/bin/python bench/fanout.py [--subscribers 1000] [--lossless 5000] [--idle 10000] [--rounds 30]
                                     [--latency-rounds 100] [--only latency,lossless,idle]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY_P99_TARGET_MS = 50.0
IDLE_RSS_TARGET_BYTES = 1 << 30
QUERY = "subscription { changes { cursor kind objectType nodeId } }"
GROUP = "bench.fanout"


# -- the client process ----------------------------------------------------------------------------------------

async def _client(url: str, tokens: list[str], graphql: bool, opening: int) -> None:
    """Open a socket per token, subscribe, then record every message until told to stop (on stdin).

    Each socket is websockets' sans-I/O protocol (framing, permessage-deflate, pongs) on a bare asyncio
    protocol, and a message is timed when its bytes reach this process, before they are parsed: with a reader
    task and a queue per socket (the `websockets` asyncio client) the client's own cost per message, about
    0.1 ms, not the server's, set the time of the thousandth socket.
    """
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.frames import Opcode
    from websockets.http11 import Response
    from websockets.uri import parse_uri

    loop = asyncio.get_running_loop()
    uri = parse_uri(url)
    clock = time.time
    received: list[tuple[int, float, str]] = []
    sockets: list[Socket] = []
    gate = asyncio.Semaphore(opening)

    class Socket(asyncio.Protocol):
        def __init__(self, index: int, token: str) -> None:
            self.index, self.token, self.transport = index, token, None
            self.ws = ClientProtocol(uri, subprotocols=["graphql-transport-ws"], max_size=None,
                                     extensions=[ClientPerMessageDeflateFactory()])
            self.ready = loop.create_future()

        def connection_made(self, transport) -> None:
            self.transport = transport
            self.ws.send_request(self.ws.connect())
            self.flush()

        def flush(self) -> None:
            for chunk in self.ws.data_to_send():
                if chunk:
                    self.transport.write(chunk)

        def send(self, message: dict) -> None:
            self.ws.send_text(json.dumps(message).encode())
            self.flush()

        def data_received(self, data: bytes) -> None:
            # Timed now, parsed after every socket that is ready now has been timed: parsing a thousand sockets'
            # frames one after the other would time the last socket by this process's work, not its arrival.
            loop.call_soon(self.parse, data, clock())

        def parse(self, data: bytes, at: float) -> None:
            self.ws.receive_data(data)
            for event in self.ws.events_received():
                if isinstance(event, Response):
                    if self.ws.handshake_exc is not None:
                        self.ready.set_exception(self.ws.handshake_exc)
                    elif graphql:
                        self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
                    else:
                        self.ready.set_result(None)
                elif event.opcode is Opcode.TEXT:
                    text = event.data.decode()
                    if self.ready.done():
                        received.append((self.index, at, text))
                    elif json.loads(text).get("type") == "connection_ack":
                        self.send({"id": "1", "type": "subscribe", "payload": {"query": QUERY}})
                        self.ready.set_result(None)
                    else:
                        self.ready.set_exception(RuntimeError(f"socket {self.index}: {text}"))
            self.flush()  # pongs, and the close handshake

        def connection_lost(self, exc) -> None:
            if not self.ready.done():
                self.ready.set_exception(ConnectionError(f"socket {self.index} closed: {exc}"))

    async def open_one(index: int, token: str) -> None:
        async with gate:
            _transport, socket = await loop.create_connection(lambda: Socket(index, token), uri.host, uri.port)
            await asyncio.wait_for(socket.ready, 120)
            sockets.append(socket)

    await asyncio.gather(*(open_one(index, token) for index, token in enumerate(tokens)))
    # This process is the measuring instrument: a full collection of its own (a thousand sockets' objects, tens
    # of milliseconds) would be timed as the server's delay of whichever message arrived meanwhile.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("OPEN", len(sockets), flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "COUNT":
            print("COUNT", len({index for index, _at, _message in received}), len(received), flush=True)
        elif line == "RESET":
            received.clear()
            print("RESET", flush=True)
        elif line.startswith("STOP "):
            with open(line.split(" ", 1)[1], "w") as out:
                json.dump([(index, at, _cursor(message)) for index, at, message in received], out)
            print("STOPPED", flush=True)
            break
    for socket in sockets:
        socket.transport.close()


def _cursor(message: str) -> str:
    data = json.loads(message)
    if data.get("type") != "next":
        return f"!{data.get('type')}:{json.dumps(data.get('payload'))[:200]}"
    return (data["payload"].get("data") or {}).get("changes", {}).get("cursor") or data["payload"].get("cursor", "?")


class Client:
    """The client process, driven line by line."""

    def __init__(self, url: str, tokens: list[str], *, graphql: bool, cpu: int | None, log: Path):
        token_file = log.with_suffix(".tokens")
        token_file.write_text(json.dumps(tokens))
        command = [sys.executable, __file__, "--client", url, str(token_file), "graphql" if graphql else "group"]
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=open(log, "w"), text=True, cwd=ROOT)
        self.log = log
        self._expect("OPEN", timeout=600)

    def _expect(self, word: str, timeout: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the client process ended:\n{self.log.read_text()[-3000:]}")
            parts = line.split()
            if parts and parts[0] == word:
                return parts[1:]
        raise RuntimeError(f"the client did not say {word}")

    def ask(self, line: str, answer: str) -> list[str]:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._expect(answer)

    def sockets_heard(self) -> int:  # COUNT answers: sockets that heard anything, messages in all
        return int(self.ask("COUNT", "COUNT")[0])

    def stop(self) -> list[tuple[int, float, str]]:
        out = self.log.with_suffix(".json")
        self.ask(f"STOP {out}", "STOPPED")
        self.process.wait(60)
        return [tuple(row) for row in json.loads(out.read_text())]


# -- this process: the server, the changes, the figures --------------------------------------------------------

def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, token_file, mode = sys.argv[2:5]
        import uvloop  # the client's own event loop costs less per message, so it times the server, not itself

        uvloop.run(_client(url, json.loads(Path(token_file).read_text()), mode == "graphql", opening=100))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--lossless", type=int, default=5000)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=35.0)
    parser.add_argument("--rounds", type=int, default=30, help="changes to the lossless part's subscribers")
    parser.add_argument("--latency-rounds", type=int, default=100,
                        help="changes timed in the latency part: a p99 needs 100 (over 30 it is the maximum)")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--only", default="latency,lossless,idle")
    args = parser.parse_args()

    from bench.scratch import scratch_database

    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # the bench's own Redis database: no group left by an earlier run
    with scratch_database("fanout") as database_url:
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "ONEGRID_ENV": "production",
               "SECRET_KEY": "bench-fanout-" + "x" * 40, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
               "WEBSOCKET_ALLOWED_ORIGINS": "", "DJANGO_SETTINGS_MODULE": "bench.fanout_settings"}
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ok = run(args, env)
    sys.exit(0 if ok else 1)


def _seed(users: int):
    """One grid and ``users`` grid workers assigned to it, each with an access token."""
    from shapely.geometry import box

    from accounts.models import Role, User
    from accounts.services import token_issue
    from gridapp.geography.models import Community, Generation, Grid, Street
    from gridapp.geography.services import area_fields, grid_assign_worker

    generation = Generation.objects.create(description="bench/fanout.py")
    outline = box(120.3, 36.0, 120.31, 36.01)
    street = Street.objects.create(code="FS01", name="bench street", generation_low=generation, **area_fields(outline))
    community = Community.objects.create(code="FC01", name="bench community", street=street,
                                         generation_low=generation, **area_fields(outline))
    grid = Grid.objects.create(code="FG001", name="bench grid", community=community, generation_low=generation,
                               centroid_lng=120.305, centroid_lat=36.005, **area_fields(outline))
    operator = User.objects.create(username="bench-operator", role=Role.OPERATOR)
    workers = User.objects.bulk_create(User(username=f"bench-worker-{n}", role=Role.GRID_WORKER) for n in range(users))
    for worker in workers:
        grid_assign_worker(actor=None, grid=grid, worker=worker)
    tokens = [token_issue(user=worker, ttl_seconds=6 * 3600)[0] for worker in workers]
    return grid, operator, tokens


def _commit_notice(grid, operator) -> tuple[int, float]:
    """A grid notice and its change, committed; (cursor, the time it committed)."""
    from django.db import transaction

    from core.audiences import scope
    from core.feed import change_record
    from gridapp.geography.models import GridNotice

    stamp = []
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.append(time.time()))  # runs first after commit, before the publish
        notice = GridNotice.objects.create(grid=grid, author=operator, title="bench", body="fan-out")
        change = change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", grid.pk)])
    return change.id, stamp[0]


def _group_send(text: str) -> float:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    at = time.time()
    async_to_sync(get_channel_layer("bench").group_send)(GROUP, {"type": "bench.message", "text": text})
    return at


def run(args, env: dict) -> bool:
    parts = set(args.only.split(","))
    need = max(args.subscribers if "latency" in parts else 0, args.lossless if "lossless" in parts else 0,
               args.idle if "idle" in parts else 0)
    users = min(need, args.subscribers)
    print(f"seeding {users:,} grid workers of one grid, with tokens ...", flush=True)
    grid, operator, tokens = _seed(users)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[-1]) if len(cpus) > 1 else (None, None)
    log_dir = Path(env.get("ONEGRID_VAR_DIR", ROOT / "var")) / "bench-fanout"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"server: uvicorn x1 on CPU {server_cpu}, production mode, PostgreSQL + Redis channel layer, a fresh "
          f"process per part; client process on CPU {client_cpu}; changes committed from this process", flush=True)
    verdicts = []
    if "latency" in parts:
        with _server(env, server_cpu, log_dir / "server-latency.log") as (port, _process):
            verdicts.append(_latency(args, grid, operator, tokens[:args.subscribers], f"ws://127.0.0.1:{port}/graphql/",
                                     f"ws://127.0.0.1:{port}/bench/group/", client_cpu, log_dir))
    if "lossless" in parts:
        with _server(env, server_cpu, log_dir / "server-lossless.log") as (port, process):
            for _batch in range(2):  # twice on one server: what the first sockets leave behind shows in the second
                verdicts.append(_lossless(args, grid, operator, tokens, f"ws://127.0.0.1:{port}/graphql/",
                                          client_cpu, log_dir, process))
    if "idle" in parts:
        with _server(env, server_cpu, log_dir / "server-idle.log") as (port, process):
            verdicts.append(_idle(args, grid, operator, tokens, f"ws://127.0.0.1:{port}/graphql/", client_cpu, log_dir,
                                  process))
    return all(verdict == "PASS" for verdict in verdicts)


@contextlib.contextmanager
def _server(env: dict, cpu: int | None, log: Path):
    """A fresh uvicorn process serving bench/fanout_asgi.py: (its port, its psutil process)."""
    import httpx
    import psutil
    from django.conf import settings

    from bench.common import free_port, wait_for

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.fanout_asgi:application", "--host", "127.0.0.1", "--port",
               str(port), "--workers", "1", "--no-access-log", "--log-level", "warning", *settings.UVICORN_ARGS]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        yield port, psutil.Process(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # thousands of sockets still closing
            server.kill()
            server.wait(30)


def _spread(tokens: list[str], count: int) -> list[str]:
    return [tokens[n % len(tokens)] for n in range(count)]


def _warm(client: Client, count: int, send) -> None:
    """Changes until every socket has heard one: every subscription is registered before the timing starts."""
    deadline = time.monotonic() + 300
    while client.sockets_heard() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {client.sockets_heard()} of {count} sockets heard anything")
        send()
        time.sleep(1.0)
    heard = None  # then until the last warm-up change has reached every socket: none may arrive after the reset
    while heard != (heard := client.ask("COUNT", "COUNT")[1]):
        time.sleep(max(2.0, count / 1000))
    client.ask("RESET", "RESET")


def _latencies(received, committed: dict[str, float], sockets: int) -> tuple[list[float], list[float], int]:
    """(every socket's latency in ms, each change's slowest socket in ms, messages missing)."""
    per_change: dict[str, list[float]] = {cursor: [] for cursor in committed}
    for _index, at, cursor in received:
        if cursor in per_change:
            per_change[cursor].append((at - committed[cursor]) * 1000)
    every = [value for values in per_change.values() for value in values]
    last = [max(values) for values in per_change.values() if values]
    missing = sum(sockets - len(values) for values in per_change.values())
    return every, last, missing


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _latency(args, grid, operator, tokens, ws_url, group_url, client_cpu, log_dir) -> str:
    count = len(tokens)
    print(f"\n1. One change to {count:,} subscribers of one grid ({args.latency_rounds} changes, interleaved with the "
          f"baseline's messages)", flush=True)
    ours = Client(ws_url, tokens, graphql=True, cpu=client_cpu, log=log_dir / "latency-graphql.log")
    _warm(ours, count, lambda: _commit_notice(grid, operator))
    base = Client(group_url, tokens, graphql=False, cpu=client_cpu, log=log_dir / "latency-group.log")
    sample = json.dumps({"id": "1", "type": "next", "payload": {"data": {"changes": {
        "cursor": "1000000", "kind": "grid_notice.posted", "objectType": "gridapp.gridnotice",
        "nodeId": "R3JpZE5vdGljZToxMDAwMDAw"}}}})
    _warm(base, count, lambda: _group_send(sample))
    spacing = max(0.75, count / 1300)  # each message delivered before the next is sent: no overlap between the two
    ours_at: dict[str, float] = {}
    base_at: dict[str, float] = {}
    for round_ in range(args.latency_rounds):
        cursor, at = _commit_notice(grid, operator)
        ours_at[str(cursor)] = at
        time.sleep(spacing)
        text = sample.replace("1000000", str(round_))
        base_at[str(round_)] = _group_send(text)
        time.sleep(spacing)
    time.sleep(2)
    ours_every, ours_last, ours_missing = _latencies(ours.stop(), ours_at, count)
    base_every, base_last, base_missing = _latencies(base.stop(), base_at, count)
    for name, every, last, missing in (("OneGrid `changes`", ours_every, ours_last, ours_missing),
                                       ("group_send (baseline)", base_every, base_last, base_missing)):
        print(f"   {name:<24} every socket: p50 {_p(every, .5):6.1f} ms  p99 {_p(every, .99):6.1f} ms;  "
              f"slowest socket per change: p50 {_p(last, .5):6.1f} ms  p99 {_p(last, .99):6.1f} ms  "
              f"max {max(last):6.1f} ms;  missing {missing}")
    verdict = "PASS" if ours_missing == 0 and _p(ours_last, .99) <= LATENCY_P99_TARGET_MS else "FAIL"
    print(f"   commit to the last socket, p99 over {args.latency_rounds} changes: {_p(ours_last, .99):.1f} ms "
          f"(baseline {_p(base_last, .99):.1f} ms, {_p(base_last, .99) / max(_p(ours_last, .99), 1e-9):.2f}x ours); "
          f"target <= {LATENCY_P99_TARGET_MS:.0f} ms, nothing missing -> {verdict}")
    return verdict


def _lossless(args, grid, operator, tokens, ws_url, client_cpu, log_dir, server) -> str:
    count = args.lossless
    print(f"\n2. {args.rounds} changes to {count:,} subscribers: each socket gets each change once, in order "
          f"(server RSS {server.memory_info().rss / 2**20:.0f} MiB)", flush=True)
    before = server.memory_info().rss
    client = Client(ws_url, _spread(tokens, count), graphql=True, cpu=client_cpu, log=log_dir / "lossless.log")
    _warm(client, count, lambda: _commit_notice(grid, operator))
    held = server.memory_info().rss
    committed: dict[str, float] = {}
    for _round in range(args.rounds):
        cursor, at = _commit_notice(grid, operator)
        committed[str(cursor)] = at
        time.sleep(max(0.3, count / 2000))
    time.sleep(3)
    received = client.stop()
    time.sleep(5)  # the server closes the sockets and forgets the subscriptions
    after = server.memory_info().rss
    by_socket: dict[int, list[int]] = {}
    for index, _at, cursor in received:
        by_socket.setdefault(index, []).append(int(cursor) if cursor.isdigit() else -1)
    expected = sorted(int(cursor) for cursor in committed)
    wrong = sum(1 for index in range(count) if by_socket.get(index, []) != expected)
    every, last, missing = _latencies(received, committed, count)
    verdict = "PASS" if wrong == 0 else "FAIL"
    print(f"   {len(received):,} messages of {count * len(committed):,}; sockets with a gap, a duplicate or "
          f"disorder: {wrong}; every socket p50 {_p(every, .5):.1f} ms p99 {_p(every, .99):.1f} ms, slowest socket "
          f"per change p99 {_p(last, .99):.1f} ms -> {verdict}")
    print(f"   server RSS {before / 2**20:.0f} MiB before the sockets, {held / 2**20:.0f} MiB holding them, "
          f"{after / 2**20:.0f} MiB after they closed")
    return verdict


def _idle(args, grid, operator, tokens, ws_url, client_cpu, log_dir, server) -> str:
    count = args.idle
    before = server.memory_info().rss
    print(f"\n3. {count:,} idle subscriptions held by one ASGI process for {args.idle_seconds:.0f} s", flush=True)
    client = Client(ws_url, _spread(tokens, count), graphql=True, cpu=client_cpu, log=log_dir / "idle.log")
    _warm(client, count, lambda: _commit_notice(grid, operator))
    time.sleep(args.idle_seconds)
    rss = server.memory_info().rss
    cursor, _at = _commit_notice(grid, operator)
    time.sleep(max(3.0, count / 1000))
    heard = client.sockets_heard()
    client.stop()
    verdict = "PASS" if rss <= IDLE_RSS_TARGET_BYTES and heard == count else "FAIL"
    print(f"   server RSS {rss / 2**20:.0f} MiB with {count:,} subscriptions ({before / 2**20:.0f} MiB before them: "
          f"{(rss - before) / count / 1024:.1f} KiB each); after the idle time one more change reached {heard:,} "
          f"of {count:,} sockets; target <= {IDLE_RSS_TARGET_BYTES / 2**20:.0f} MiB and all reached -> {verdict}")
    return verdict


if __name__ == "__main__":
    main()
