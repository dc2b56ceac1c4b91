"""The change feed over GraphQL: ``changes(after:)``, ``latestCursor`` and the ``changes`` subscription.

A phone that was offline asks ``changes(after: <last cursor>)`` page by page;
a live client subscribes with ``after`` and receives exactly the changes it may
see above that cursor, then each new one as it commits.  Both read through
``core.selectors.change_visible_to`` with the user's permissions of that moment.
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
import time
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import auto

import strawberry
import strawberry_django
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from strawberry import relay

from accounts.services import token_still_valid
from api.base.ids import input_pk, node_pk
from api.context import viewer
from api.errors import ErrorCode, GraphQLCodedError, error_enum, error_type, not_authenticated
from api.execution import SharedPayload
from api.fields import django_type
from api.multiplex import Sink
from api.mutations import mutation
from api.nodes import MODEL_ID, NODE_TYPES
from api.paging import ListConnection
from api.permissions import IsAuthenticated
from api.restrict import Payload, Restricted
from api.watcher import ChangeRow, watcher
from core import selectors as feed_selectors
from core.audiences import access_scope, scope, user_scopes
from core.models import Notification
from core.selectors import ChangeEntry
from core.services import notification_mark_read

CATCH_UP_PAGE = 100
_MESSAGES: collections.OrderedDict[int, ChangeType] = collections.OrderedDict()
#: A quiet subscriber reads its user again about this often (each one somewhat sooner or later, so that the
#: subscribers that opened together do not all wake together).
USER_RECHECK_SECONDS = 300.0


def cursor_parse(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # isdigit alone takes "²" and "٣"
        raise GraphQLCodedError(_("The cursor is not valid."), "invalid_cursor")
    return int(value)


@strawberry.type(name="Change", description="Something changed that the viewer may see; re-read it by `nodeId`.")
class ChangeType(SharedPayload):
    cursor: str = strawberry.field(description="Resume after this change with `changes(after:)` or the subscription.")
    kind: str
    at: datetime
    object_type: str
    object_id: strawberry.ID
    node_id: relay.GlobalID | None

    @classmethod
    def from_row(cls, row: ChangeEntry | ChangeRow) -> ChangeType:
        """The message for a row of the log; one object per row the watcher read, which every subscriber that
        receives it shares (its result is executed once: ``api.execution.SharedPayload``)."""
        if isinstance(row, ChangeRow):
            shared = _MESSAGES.get(row.id)
            if shared is None:
                shared = _MESSAGES[row.id] = cls._of(row)
                while len(_MESSAGES) > 1024:
                    _MESSAGES.popitem(last=False)
            return shared
        return cls._of(row)

    @classmethod
    def _of(cls, row: ChangeEntry | ChangeRow) -> ChangeType:
        type_name = NODE_TYPES.get(row.object_type)
        return cls(
            cursor=str(row.id),
            kind=row.kind,
            at=row.at,
            object_type=row.object_type,
            object_id=strawberry.ID(str(row.object_id)),
            node_id=relay.GlobalID(type_name, str(row.object_id)) if type_name else None,
        )


@strawberry.type
class ChangePage:
    changes: list[ChangeType]
    end_cursor: str = strawberry.field(description="The cursor to ask after next time (unchanged when empty).")
    has_more: bool


@django_type(Notification, name="Notification")
class NotificationType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


@error_enum(name="FeedErrorCode", description="Why a change to the viewer's inbox was refused.")
class FeedErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    not_found = auto()


FeedError = error_type(FeedErrorCode, name="FeedError", description="A refused change to the viewer's inbox.")


@strawberry.type
class NotificationPayload(Payload):
    errors: list[FeedError] = strawberry.field(default_factory=list)
    notification: NotificationType | None = None


@strawberry.type
class FeedQuery:
    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Changes the viewer may see with a cursor above `after`, oldest first.")
    def changes(self, info: strawberry.Info, after: str | None = None, first: int = 50) -> ChangePage:
        start = cursor_parse(after)
        first = max(1, min(first, settings.GRAPHQL["MAX_PAGE_SIZE"]))
        rows = feed_selectors.change_page(user=viewer(info).user, after=start, first=first + 1)
        page = rows[:first]
        return ChangePage(
            changes=[ChangeType.from_row(row) for row in page],
            end_cursor=str(page[-1].id) if page else str(start),
            has_more=len(rows) > first,
        )

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The newest cursor: a new device starts from here instead of replaying history.")
    def latest_cursor(self, info: strawberry.Info) -> str:
        return str(feed_selectors.change_latest_id(viewer(info).user))

    notifications: ListConnection[NotificationType] = strawberry_django.connection(
        permission_classes=[IsAuthenticated], description="The viewer's inbox, newest first."
    )


@strawberry.type
class FeedMutation:
    @mutation(description="Mark one of the viewer's notifications read.")
    def mark_notification_read(self, info: strawberry.Info, id: relay.GlobalID) -> NotificationPayload:
        pk = input_pk(id, "Notification", field="id", message=_("Notification not found."))
        return NotificationPayload(notification=notification_mark_read(user=viewer(info).user, notification_id=pk))


@database_sync_to_async
def _reload(user_id: int, token_id: int | None):
    """The subscriber as the database says now, with the scopes they hold: (None, empty) when the user or the
    token is no longer valid."""
    if token_id is not None and not token_still_valid(token_id=token_id):
        return None, frozenset()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None, frozenset()
    return user, user_scopes(user)


@database_sync_to_async
def _change_page(scopes: frozenset[str], after: int, first: int) -> list[ChangeEntry]:
    return feed_selectors.change_page_in(scopes, after=after, first=first)


async def object_changes(info: strawberry.Info, *, model, type_name: str, global_id: relay.GlobalID | None,
                         after: str | None, load) -> AsyncGenerator[tuple[ChangeEntry | ChangeRow, object], None]:
    """The changes of ``model``'s objects the viewer may see (one object with ``global_id``), each with the object
    as ``load(user, pk)`` reads it at delivery (None: no longer visible, skipped): what a domain's
    ``<thing>Changed`` subscription yields from.  Raises ``not_authenticated`` for an anonymous viewer."""
    who = viewer(info)
    if not who.user.is_authenticated:
        raise not_authenticated()
    only = node_pk(global_id, type_name) if global_id is not None else None
    start = cursor_parse(after) if after is not None else None
    label = model._meta.label_lower
    async for user, row in visible_changes(who, start):
        if row.object_type != label or (only is not None and row.object_id != only):
            continue
        found = await load(user, row.object_id)
        if found is not None:
            yield row, found


async def visible_changes(who, start: int | None, *, sink: Sink | None = None,
                          ) -> AsyncGenerator[tuple[object, ChangeEntry | ChangeRow], None]:
    """Every change ``who`` may see above ``start`` (None: from now), with the user as the database has them now.

    Behind every subscription: catches up from the log page by page, then is woken by the watcher only for a
    change addressed to a scope the subscriber holds, and takes it from the watcher's memory (no database read
    per subscriber).  The user and their scopes are read again when a change is addressed to them personally
    or to their control scope (a grid assigned, a role changed, a token revoked), about every
    ``USER_RECHECK_SECONDS`` when quiet, and when the watcher's window no longer reaches back to the cursor.
    Raises ``token_expired`` when the user or the token is no longer valid, or when the token's time is up (at
    that moment, even on a quiet feed).

    With a ``sink`` (a subscription whose messages read nothing but the change), the live changes it may see are
    pushed to the sink by the watcher while this generator waits, decided by the same rules in ``deliver``
    below; the generator is woken only for what ``deliver`` leaves to it, and yields only once the sink's writes
    are out, so the socket hears every change once, in cursor order.
    """
    await watcher.ensure_started()
    cursor = start if start is not None else watcher.latest
    token = who.token
    token_id = token.pk if token is not None else None
    expires_at = token.expires_at if token is not None else None
    user, scopes = await _reload(who.user.pk, token_id)
    if user is None:
        raise _token_expired(cursor)
    who.user = user  # every field of the messages below is resolved for the user as they are now
    personal, control = scope("user", user.pk), access_scope(user.pk)
    listener = watcher.listen(scopes | {control})
    expires_ts = expires_at.timestamp() if expires_at is not None else math.inf
    recheck_every = USER_RECHECK_SECONDS * random.uniform(0.8, 1.2)

    def deliver(rows: list[ChangeRow]) -> bool:
        """The watcher's new rows, pushed to the sink by the rules of the loop below; False: wake the loop for
        the rest (a change to the user or their access, a token out of time, a payload the sink cannot send)."""
        nonlocal checked, cursor
        if time.time() >= expires_ts:
            return False
        for row in rows:
            if row.id <= checked:
                continue
            if personal in row.scopes or control in row.scopes:
                return False
            if not scopes.isdisjoint(row.scopes):
                if not sink.push(row):
                    return False
                cursor = row.id
            checked = row.id
        return True

    try:
        catch_up = True
        while True:
            if catch_up:
                seen_up_to = watcher.latest
                page = await _change_page(scopes, cursor, CATCH_UP_PAGE)
                for row in page:
                    cursor = row.id
                    yield user, row
                if len(page) == CATCH_UP_PAGE:
                    continue
                checked = max(cursor, seen_up_to)
                read_at = time.monotonic()
                catch_up = False
            if sink is not None:
                listener.deliver = deliver
            recheck_at = read_at + recheck_every
            try:
                # Until a change, the token's expiry or the user's recheck: a thousand quiet subscribers wake
                # a few times an hour each, spread out, not all together every few seconds.
                async with asyncio.timeout(max(0.0, min(expires_ts - time.time(), recheck_at - time.monotonic()))):
                    await listener.woken.wait()
                timed_out = False
            except TimeoutError:
                timed_out = True
            finally:
                listener.deliver = None  # from here on this loop decides, until it waits again
            if sink is not None:
                await sink.drained()  # what the sink took is out before this loop sends or ends anything
            if timed_out:  # (a wake-up that came meanwhile stays set: the next wait returns at once)
                if time.time() >= expires_ts:
                    raise _token_expired(checked)
                if time.monotonic() >= recheck_at:
                    user, scopes = await _rescoped(who, listener, token_id, checked)
                    read_at = time.monotonic()
                continue
            listener.woken.clear()
            rows = watcher.rows_after(checked)
            if rows is None:  # the watcher's window no longer reaches back: read the log
                user, scopes = await _rescoped(who, listener, token_id, checked)
                catch_up = True
                continue
            if time.time() >= expires_ts:
                raise _token_expired(checked)
            if any(personal in row.scopes or control in row.scopes for row in rows):
                user, scopes = await _rescoped(who, listener, token_id, checked)
                read_at = time.monotonic()
            for row in rows:
                checked = row.id
                if not scopes.isdisjoint(row.scopes):
                    cursor = row.id
                    yield user, row
    finally:
        watcher.forget(listener)


async def _rescoped(who, listener, token_id: int | None, cursor: int) -> tuple[object, frozenset[str]]:
    user, scopes = await _reload(who.user.pk, token_id)
    if user is None:
        raise _token_expired(cursor)
    who.user = user
    watcher.rescope(listener, scopes | {access_scope(user.pk)})
    return user, scopes


def _token_expired(cursor: int) -> GraphQLCodedError:
    return GraphQLCodedError(_("The token has expired or was revoked. Refresh it and resubscribe."),
                             "token_expired", cursor=str(cursor))


@strawberry.type
class FeedSubscription:
    @strawberry.subscription(description=(
        "Every change the viewer may see, each with its cursor. With `after`, first replays what was missed "
        "since that cursor (no gap, no duplicate); without it, starts from now. Ends with `token_expired` when "
        "the access token expires or is revoked: refresh, then resubscribe with the last cursor."
    ))
    async def changes(self, info: strawberry.Info, after: str | None = None) -> AsyncGenerator[ChangeType, None]:
        who = viewer(info)
        if not who.user.is_authenticated:
            raise not_authenticated()
        start = cursor_parse(after) if after is not None else None
        async for _user, row in visible_changes(who, start, sink=Sink.current(info.context, ChangeType.from_row)):
            yield ChangeType.from_row(row)
