"""Change-feed catch-up: how fast a phone that was offline can page through what it missed.

Measures `changes(after:, first: 100)` through the full GraphQL schema (auth
context, permission filter, optimizer, serialisation) against the bare selector
(`core.selectors.change_page`, the same SQL without GraphQL) in the same run, for
a grid worker (filtered by grid, department and user) and for an operator (all).

    .venv/bin/python bench/feed.py [--changes 50000] [--page 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="onegrid-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ONEGRID_VAR_DIR"] = scratch
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.db import connection

    if connection.vendor == "postgresql":
        # never benchmark on a real database: create and drop a scratch one
        from django.test.utils import setup_databases

        old_config = setup_databases(verbosity=0, interactive=False)
    else:
        old_config = None
        call_command("migrate", verbosity=0)
    try:
        run(args, settings)
    finally:
        if old_config is not None:
            from django.test.utils import teardown_databases

            teardown_databases(old_config, verbosity=0)


def run(args, settings) -> None:
    from django.db import connection, transaction
    from tqdm import tqdm

    from accounts.models import Role, User
    from accounts.services import token_issue
    from api.context import Viewer
    from api.schema import schema
    from core.models import Change
    from core.selectors import change_page
    from gridapp.services import grid_assign_worker
    from tests.factories import GridFactory

    grids = [GridFactory(lng=120.3 + 0.01 * n, lat=36.0) for n in range(20)]
    worker = User.objects.create(username="bench-worker", role=Role.GRID_WORKER)
    operator = User.objects.create(username="bench-operator", role=Role.OPERATOR)
    grid_assign_worker(actor=None, grid=grids[0], worker=worker)

    batch = 5_000
    with tqdm(total=args.changes, desc="seeding changes", unit="row") as bar:
        for start in range(0, args.changes, batch):
            size = min(batch, args.changes - start)
            with transaction.atomic():
                Change.objects.bulk_create(
                    Change(kind="grid_notice.posted", object_type="gridapp.gridnotice", object_id=start + n,
                           grid_id=grids[(start + n) % len(grids)].pk)
                    for n in range(size)
                )
            bar.update(size)

    query = "query($a: String, $f: Int!) { changes(after: $a, first: $f) { changes { cursor kind at objectId nodeId } endCursor hasMore } }"
    print(f"\ndatabase: {connection.vendor}; {args.changes:,} changes over {len(grids)} grids; page size {args.page}")
    print(f"{'viewer':<10} {'path':<10} {'rows':>8} {'pages':>6} {'seconds':>8} {'rows/s':>10} {'ms/page':>8}")
    for user in (worker, operator):
        _raw, token = token_issue(user=user)

        class Request:
            onegrid_viewer = Viewer(user=user, token=token, client_ip="127.0.0.1", user_agent="bench", language="en")

        def via_selector(user=user) -> tuple[int, int]:
            after, rows, pages = 0, 0, 0
            while True:
                page = change_page(user=user, after=after, first=args.page + 1)
                got = page[: args.page]
                rows, pages = rows + len(got), pages + 1
                if len(page) <= args.page:
                    return rows, pages
                after = got[-1].id

        def via_graphql() -> tuple[int, int]:
            after, rows, pages = None, 0, 0
            while True:
                result = schema.execute_sync(query, variable_values={"a": after, "f": args.page},
                                             context_value={"request": Request()})
                assert not result.errors, result.errors
                data = result.data["changes"]
                rows, pages = rows + len(data["changes"]), pages + 1
                if not data["hasMore"]:
                    return rows, pages
                after = data["endCursor"]

        timings = {}
        for label, fn in (("selector", via_selector), ("graphql", via_graphql)):
            fn()  # warm caches
            started = time.perf_counter()
            rows, pages = fn()
            elapsed = time.perf_counter() - started
            timings[label] = elapsed
            print(f"{user.username.removeprefix('bench-'):<10} {label:<10} {rows:>8,} {pages:>6} {elapsed:>8.2f} "
                  f"{rows / elapsed:>10,.0f} {elapsed / pages * 1000:>8.2f}")
        print(f"{'':<10} graphql / selector time ratio: {timings['graphql'] / timings['selector']:.2f}x")


if __name__ == "__main__":
    main()
