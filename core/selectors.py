"""Reads of the change feed and the audit log, restricted to the reader (an inbox is read through its
visibility rule, which narrows the asked queryset to its recipient)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from core.audiences import user_scopes
from core.models import AuditEntry, Change, ChangeScope


def change_visible_to(user) -> QuerySet[Change]:
    """The changes ``user`` may see: the one filter behind ``changes(after:)`` and every subscription.

    Those addressed to any scope the user holds now (``core.audiences.user_scopes``: a person's own inbox is
    theirs alone; the district-wide roles hold ``district``; grids, departments and the next apps' audiences
    are computed by the apps that registered them, from the user's *current* role and assignments).  The
    watcher's in-memory fan-out (``api/watcher.py``) applies the same scopes and must agree.
    """
    return changes_in_scopes(user_scopes(user))


def changes_in_scopes(keys: frozenset[str]) -> QuerySet[Change]:
    if not keys:
        return Change.objects.none()
    return Change.objects.filter(id__in=ChangeScope.objects.filter(key__in=sorted(keys)).values("change_id"))


class ChangeEntry(NamedTuple):
    """What a reader of the feed gets of a change: its cursor (``id``) and what it says.  A tuple, not a model
    instance: a page is read, sent and forgotten, and building a hundred instances was a fifth of a page's time
    on PostgreSQL (`bench/feed.py`)."""

    id: int
    at: datetime
    kind: str
    object_type: str
    object_id: int
    facts: dict


def change_page(*, user, after: int, first: int) -> list[ChangeEntry]:
    """Up to ``first`` visible changes with a cursor above ``after``, oldest first."""
    return change_page_in(user_scopes(user), after=after, first=first)


def change_page_in(keys: frozenset[str], *, after: int, first: int) -> list[ChangeEntry]:
    """Up to ``first`` changes addressed to any of ``keys`` with a cursor above ``after``, oldest first.

    One query: per key, the first ``first`` cursors above ``after`` (a range read of the (key, change) index),
    their union, its first ``first``.  A plain ``key IN (...)`` would read every row of every key above the
    cursor and sort them, once per page, and the command centre's ``district`` scope holds nearly every change.
    """
    if not keys:
        return []
    ids = _per_key_union(keys, after=after, newest_first=False, limit=first)
    # Without the scopes: the page is chosen by them already, and decoding their JSON is a share of the page's
    # time (`bench/feed.py` times the pages).
    rows = Change.objects.filter(id__in=ids).order_by("id").values_list(*ChangeEntry._fields)
    return [ChangeEntry(*row) for row in rows]


def change_latest_id(user) -> int:
    """The newest cursor ``user`` may see (0: none): the largest of each scope's newest, one index read each."""
    keys = user_scopes(user)
    if not keys:
        return 0
    newest = _per_key_union(keys, after=None, newest_first=True, limit=1)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(change_id) FROM ({newest.sql}) AS newest", newest.params)
        return cursor.fetchone()[0] or 0


def _per_key_union(keys: frozenset[str], *, after: int | None, newest_first: bool, limit: int) -> RawSQL:
    """``SELECT change_id``: per key, the first ``limit`` cursors (above ``after``, if given) in cursor order
    (newest first if asked), each a range read of the (key, change) index; their union, first ``limit`` again.
    Each arm is wrapped because SQLite takes no LIMIT in a compound's arm (nor does Django's ``union`` of
    sliced querysets there)."""
    quote = connection.ops.quote_name
    table, key, change = quote(ChangeScope._meta.db_table), quote("key"), quote("change_id")
    order = f"{change} DESC" if newest_first else change
    above = f" AND {change} > %s" if after is not None else ""
    part = (f"SELECT {change} FROM (SELECT {change} FROM {table} WHERE {key} = %s{above} "
            f"ORDER BY {order} LIMIT {int(limit)}) AS part_{{}}")
    ordered = sorted(keys)
    sql = " UNION ".join(part.format(index) for index in range(len(ordered)))
    params = [value for name in ordered for value in ((name, after) if after is not None else (name,))]
    return RawSQL(f"{sql} ORDER BY {order} LIMIT {int(limit)}", params)


def audit_entries_for(user) -> QuerySet[AuditEntry]:
    """The audit log, for auditors and administrators only."""
    if user is None or not user.is_authenticated or not user.may_read_audit:
        return AuditEntry.objects.none()
    return AuditEntry.objects.all().order_by("-id")
