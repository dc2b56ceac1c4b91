"""A scratch PostgreSQL database of a bench's own, named per run, dropped at the end.

Every bench that needs a database it may empty makes one here: its name carries
the bench, the process id and a random suffix (``onegrid_bench_import_4242_9f3a``),
so two runs side by side never meet, and no bench ever creates, empties or drops
a database it did not create itself in the same run (``onegrid``, ``test_onegrid``
and the others belong to people and to the test suite).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def scratch_name(bench: str) -> str:
    """``onegrid_bench_<bench>_<pid>_<random>``: unique to this run."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,20}", bench):
        raise ValueError(f"not a usable bench name: {bench!r}")
    return f"onegrid_bench_{bench}_{os.getpid()}_{secrets.token_hex(3)}"


def server_url() -> str:
    """The PostgreSQL server of ``DATABASE_URL`` (or the local default), as a URL naming no database of ours."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_SERVER


@contextmanager
def scratch_database(bench: str, *, extensions: tuple[str, ...] = ()) -> Iterator[str]:
    """Create a fresh database for this run, yield its URL, drop it at the end (whatever happened).

    Raises ``psycopg.Error`` when the server does not answer or refuses; the
    caller decides whether the bench can go on without it.
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    url = server_url()
    name = scratch_name(bench)
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        scratch = make_conninfo(url, dbname=name)
        if extensions:
            with psycopg.connect(scratch, autocommit=True, connect_timeout=5) as conn:
                for extension in extensions:
                    conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        yield _as_url(url, name)
    finally:
        with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_url(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (Django's DATABASE_URL needs a URL, not a conninfo)."""
    head, _sep, query = url.partition("?")
    scheme, _slashes, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")
