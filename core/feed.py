"""The change feed: write a change with the change, publish it after commit.

Every service that changes something a user can be notified of calls
``change_record`` inside its transaction.  After commit the change is announced
on a Redis pub/sub channel (``changes_channel``), with its row, to every ASGI
process's change watcher (``api.watcher``); the log stays the truth: a watcher
takes the announced row only when it is the very next cursor, reads the log
otherwise, and polls it when no announcement comes.  Subscribers re-check
permission for every message (``core.selectors.change_visible_to``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from datetime import datetime

import redis
from django.conf import settings
from django.db import connection, transaction

from core.audiences import change_scopes
from core.models import Change, ChangeScope

log = logging.getLogger(__name__)

#: An announcement larger than this carries the change's id only (the watcher reads the row).
SIGNAL_ROW_MAX_BYTES = 8192
#: After a failed announcement, commits skip it this long (watchers poll meanwhile) instead of each waiting
#: for Redis to answer.
SIGNAL_PAUSE_SECONDS = 5.0
#: PostgreSQL advisory-lock key that orders change-log inserts by commit.
_CHANGE_LOCK_KEY = 0x0E6_0C4A


def change_record(
    *,
    kind: str,
    obj,
    to: Iterable[str] = (),
    facts: dict | None = None,
) -> Change:
    """Append a change about ``obj`` to the feed, addressed to the scopes ``to``, inside the caller's transaction.

    ``to`` holds scope keys of registered audiences (``core.audiences.scope("grid", 12)``); a change addressed
    to an overseen audience, or to no one in particular, also reaches the district-wide roles.

    Who may call: services only, inside ``transaction.atomic``.  On PostgreSQL a
    transaction-scoped advisory lock is taken first, so cursors become visible
    in increasing order: a later id never commits before an earlier one, which
    is what lets a reader resume from a cursor with no gap.  (SQLite has one
    writer at a time, which gives the same guarantee.)  Raises
    ``TransactionManagementError`` outside a transaction and ``LookupError`` for
    a scope of no registered audience.
    """
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("change_record() must run inside transaction.atomic")
    keys = change_scopes(to)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHANGE_LOCK_KEY])
    change = Change.objects.create(
        kind=kind,
        object_type=obj._meta.label_lower,
        object_id=obj.pk,
        scopes=keys,
        facts=facts or {},
    )
    ChangeScope.objects.bulk_create([ChangeScope(change_id=change.id, key=key) for key in keys])
    transaction.on_commit(lambda: change_publish(change=change))
    return change


def changes_channel() -> str | None:
    """The Redis pub/sub channel that announces new changes; None without Redis (embedded mode: watchers poll).

    Pub/sub channels are not per Redis database, and a watcher takes an announced row as the log's next one,
    so the name carries the deployment's prefix, the Redis database and the name of the database that holds
    the log: a development server and a test run (``test_...``) sharing a Redis never hear each other."""
    if not settings.REDIS_URL:
        return None
    redis_database = redis.connection.parse_url(settings.REDIS_URL).get("db", 0)
    log_database = hashlib.sha256(str(settings.DATABASES["default"]["NAME"]).encode()).hexdigest()[:12]
    return f"{settings.CHANNEL_PREFIX}:changes:{redis_database}:{log_database}"


_publisher: redis.Redis | None = None
_paused_until = 0.0


def change_publish(*, change: Change) -> None:
    """Announce ``change`` to every ASGI process, after its commit.  Best effort: the watchers also poll.

    One PUBLISH on a pooled connection (a fraction of a millisecond), in the committing thread; the
    announcement carries the row (``change_signal_row`` reads it back), or its id alone when the row is large.
    """
    global _publisher, _paused_until
    channel = changes_channel()
    if channel is None or time.monotonic() < _paused_until:
        return
    row = {"id": change.id, "at": change.at.isoformat(), "kind": change.kind, "object_type": change.object_type,
           "object_id": change.object_id, "scopes": list(change.scopes), "facts": change.facts}
    message = json.dumps(row, separators=(",", ":"))
    if len(message) > SIGNAL_ROW_MAX_BYTES:
        message = json.dumps({"id": change.id})
    try:
        if _publisher is None:
            _publisher = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.REDIS_CONNECT_TIMEOUT,
                                              socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT)
        _publisher.publish(channel, message)
    except redis.RedisError:  # the log is the truth; a lost announcement costs one poll interval
        _paused_until = time.monotonic() + SIGNAL_PAUSE_SECONDS
        log.warning("could not announce change %s; watchers poll the log until Redis answers", change.id,
                    exc_info=True)


def change_signal_row(data: bytes | str) -> dict | None:
    """The row an announcement carries (the fields of ``Change`` the watcher reads), or None when it carries the
    id alone or is not one of ours."""
    try:
        row = json.loads(data)
        if not (type(row) is dict and type(row.get("id")) is int and type(row.get("object_id")) is int
                and type(row.get("kind")) is str and type(row.get("object_type")) is str
                and type(row.get("facts")) is dict and type(row.get("scopes")) is list
                and all(type(key) is str for key in row["scopes"])):
            return None
        row["at"] = datetime.fromisoformat(row["at"])
        row["scopes"] = frozenset(row["scopes"])
        return row
    except (ValueError, TypeError, KeyError):
        return None
