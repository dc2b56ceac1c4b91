"""Change-feed catch-up: how fast a phone that was offline can page through what it missed.

Measures `changes(after:, first: 100)` through the full GraphQL schema (auth
context, permission filter, optimizer, serialisation) against the bare selector
(`core.selectors.change_page`, the same SQL without GraphQL) in the same run, for
a grid worker (filtered by grid, department and user) and for an operator (all).

Each whole catch-up is timed ``--rounds`` times, the two paths in turn (selector,
GraphQL, selector, ...), so that a loaded machine's swings fall on both alike; the
figures are medians over the rounds, with every page's latency kept for p50/p99.

Target (a phone on a slow network should spend its time on the network, not
waiting for us: at most half of a 4G round trip of about 100 ms): through GraphQL,
a page of 100 changes answered at p99 <= 50 ms, for both viewers, over every page
of every round.

Needs only `make run`'s environment (no test dependencies).  Its database is a
scratch one of its own: SQLite in a temporary folder by default; with
``DATABASE_URL=postgres://...`` a database created on that server for this run
(bench/scratch.py) and dropped at the end.

    .venv/bin/python bench/feed.py [--changes 50000] [--page 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_P99_TARGET_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="timed catch-ups per path and viewer")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="onegrid-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ONEGRID_VAR_DIR"] = scratch
    with ExitStack() as stack:
        if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            from bench.scratch import scratch_database

            os.environ["DATABASE_URL"] = stack.enter_context(scratch_database("feed"))
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        try:
            sys.exit(0 if run(args, settings) else 1)
        finally:
            connection.close()


def _district(count: int) -> list:
    """``count`` square grids in a row, with their street and community (what the feed's filters need)."""
    from shapely.geometry import box

    from gridapp.geography.models import Community, Generation, Grid, Street
    from gridapp.geography.services import area_fields

    generation = Generation.objects.create(description="bench/feed.py")
    outline = box(120.3, 36.0, 120.3 + 0.01 * count, 36.01)
    street = Street.objects.create(code="BS01", name="bench street", generation_low=generation, **area_fields(outline))
    community = Community.objects.create(code="BC01", name="bench community", street=street, generation_low=generation,
                                         **area_fields(outline))
    grids = []
    for n in range(count):
        polygon = box(120.3 + 0.01 * n, 36.0, 120.31 + 0.01 * n, 36.01)
        grids.append(Grid.objects.create(code=f"BG{n:03d}", name=f"bench grid {n}", community=community,
                                         generation_low=generation, centroid_lng=polygon.centroid.x,
                                         centroid_lat=polygon.centroid.y, **area_fields(polygon)))
    return grids


def run(args, settings) -> bool:
    """Seed, time, print; True when every target passes."""
    import numpy as np
    from django.db import connection, transaction
    from tqdm import tqdm

    from accounts.models import Role, User
    from accounts.services import token_issue
    from api.context import Viewer
    from api.schema import schema
    from core.audiences import change_scopes, scope
    from core.models import Change, ChangeScope
    from core.selectors import change_page
    from gridapp.geography.services import grid_assign_worker

    grids = _district(20)
    worker = User.objects.create(username="bench-worker", role=Role.GRID_WORKER)
    operator = User.objects.create(username="bench-operator", role=Role.OPERATOR)
    grid_assign_worker(actor=None, grid=grids[0], worker=worker)

    batch = 5_000
    with tqdm(total=args.changes, desc="seeding changes", unit="row") as bar:
        for start in range(0, args.changes, batch):
            size = min(batch, args.changes - start)
            with transaction.atomic():
                rows = Change.objects.bulk_create(
                    Change(kind="grid_notice.posted", object_type="gridapp.gridnotice", object_id=start + n,
                           scopes=change_scopes([scope("grid", grids[(start + n) % len(grids)].pk)]))
                    for n in range(size)
                )
                ChangeScope.objects.bulk_create(ChangeScope(change_id=row.pk, key=key)
                                                for row in rows for key in row.scopes)
            bar.update(size)
    with connection.cursor() as cursor:  # statistics, as autovacuum (or SQLite's optimize) keeps them in production
        cursor.execute("ANALYZE")

    query = ("query($a: String, $f: Int!) { changes(after: $a, first: $f) "
             "{ changes { cursor kind at objectId nodeId } endCursor hasMore } }")
    clock = time.perf_counter
    print(f"\ndatabase: {connection.vendor}; {args.changes:,} changes over {len(grids)} grids; page size {args.page}; "
          f"{args.rounds} timed catch-ups per path, interleaved; {os.cpu_count()} cores")
    print(f"{'viewer':<10} {'path':<10} {'rows':>8} {'pages':>6} {'s (median)':>11} {'min-max s':>13} "
          f"{'rows/s':>10} {'page p50 ms':>12} {'page p99 ms':>12}")
    verdicts = []
    for user in (worker, operator):
        _raw, token = token_issue(user=user)

        class Request:
            onegrid_viewer = Viewer(user=user, token=token, client_ip="127.0.0.1", user_agent="bench", language="en")

        def via_selector(pages_ms: list[float], user=user) -> int:
            after, rows = 0, 0
            while True:
                started = clock()
                page = change_page(user=user, after=after, first=args.page + 1)
                pages_ms.append((clock() - started) * 1000)
                got = page[: args.page]
                rows += len(got)
                if len(page) <= args.page:
                    return rows
                after = got[-1].id

        def via_graphql(pages_ms: list[float]) -> int:
            after, rows = None, 0
            while True:
                started = clock()
                result = schema.execute_sync(query, variable_values={"a": after, "f": args.page},
                                             context_value={"request": Request()})
                pages_ms.append((clock() - started) * 1000)
                assert not result.errors, result.errors
                data = result.data["changes"]
                rows += len(data["changes"])
                if not data["hasMore"]:
                    return rows
                after = data["endCursor"]

        paths = (("selector", via_selector), ("graphql", via_graphql))
        for _label, fn in paths:
            fn([])  # warm caches
        rounds: dict[str, list[float]] = {label: [] for label, _fn in paths}
        pages: dict[str, list[float]] = {label: [] for label, _fn in paths}
        counts: dict[str, tuple[int, int]] = {}
        for _round in range(args.rounds):
            for label, fn in paths:
                page_ms: list[float] = []
                started = clock()
                rows = fn(page_ms)
                rounds[label].append(clock() - started)
                pages[label].extend(page_ms)
                counts[label] = (rows, len(page_ms))
        assert counts["selector"] == counts["graphql"], counts
        for label, _fn in paths:
            rows, page_count = counts[label]
            median = statistics.median(rounds[label])
            p50, p99 = np.percentile(pages[label], [50, 99])
            print(f"{user.username.removeprefix('bench-'):<10} {label:<10} {rows:>8,} {page_count:>6} {median:>11.2f} "
                  f"{min(rounds[label]):>6.2f}-{max(rounds[label]):<6.2f} {rows / median:>10,.0f} {p50:>12.2f} "
                  f"{p99:>12.2f}")
        ratios = [g / s for g, s in zip(rounds["graphql"], rounds["selector"], strict=True)]
        rows = counts["graphql"][0]
        rate = rows / statistics.median(rounds["graphql"])
        page_p99 = float(np.percentile(pages["graphql"], 99))
        passed = page_p99 <= PAGE_P99_TARGET_MS
        verdicts.append(passed)
        print(f"{'':<10} graphql / selector time, per round: {', '.join(f'{r:.2f}x' for r in ratios)} "
              f"(median {statistics.median(ratios):.2f}x)")
        print(f"{'':<10} target through GraphQL: page p99 <= {PAGE_P99_TARGET_MS:.0f} ms -> "
              f"{'PASS' if passed else 'FAIL'} (p99 {page_p99:.1f} ms over {len(pages['graphql'])} pages, "
              f"{PAGE_P99_TARGET_MS / page_p99:.1f}x margin; catch-up at {rate:,.0f} changes/s)")
    return all(verdicts)


if __name__ == "__main__":
    main()
