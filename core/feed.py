"""The change feed: write a change with the change, publish it after commit.

Every service that changes something a user can be notified of calls
``change_record`` inside its transaction.  Subscribers never receive payloads,
only the fact that the log grew; they re-read the log through
``core.selectors.change_visible_to`` so permission is checked for every message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from django.db import connection, transaction

from core.audiences import change_scopes
from core.models import Change, ChangeScope

log = logging.getLogger(__name__)

#: Channel-layer group every ASGI process's change watcher listens on.
CHANGES_GROUP = "onegrid.changes"
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
    transaction.on_commit(lambda: change_publish(change_id=change.id))
    return change


def change_publish(*, change_id: int) -> None:
    """Tell every ASGI process that the log grew.  Best effort: the watchers also poll."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(CHANGES_GROUP, {"type": "change.created", "id": change_id})
    except Exception:  # the log is the truth; a lost wake-up costs one poll interval
        log.warning("could not publish change %s to the channel layer", change_id, exc_info=True)
