"""The change feed over GraphQL: ``changes(after:)``, ``latestCursor`` and the ``changes`` subscription.

A phone that was offline asks ``changes(after: <last cursor>)`` page by page;
a live client subscribes with ``after`` and receives exactly the changes it may
see above that cursor, then each new one as it commits.  Both read through
``core.selectors.change_visible_to`` with the user's permissions of that moment.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

import strawberry
import strawberry_django
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from accounts.services import token_still_valid
from api.context import viewer
from api.errors import GraphQLCodedError, MutationError, errors_from, not_authenticated
from api.extensions import AuditMutation
from api.fields import django_type
from api.nodes import MODEL_ID, is_pk
from api.paging import ListConnection
from api.permissions import IsAuthenticated
from api.restrict import Payload, Restricted
from api.watcher import Audience, watcher
from core import selectors as feed_selectors
from core.models import Change, Notification
from core.services import notification_mark_read

#: GraphQL type behind each object type named in the log, for ``Change.nodeId``.
NODE_TYPES = {
    "core.notification": "Notification",
    "gridapp.grid": "Grid",
    "gridapp.gridnotice": "GridNotice",
    "gridapp.event": "Event",
}
CATCH_UP_PAGE = 100
IDLE_RECHECK_SECONDS = 30.0
USER_RECHECK_SECONDS = 300.0


def cursor_parse(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # isdigit alone takes "²" and "٣"
        raise GraphQLCodedError(_("The cursor is not valid."), "invalid_cursor")
    return int(value)


@strawberry.type(name="Change", description="Something changed that the viewer may see; re-read it by `nodeId`.")
class ChangeType:
    cursor: str = strawberry.field(description="Resume after this change with `changes(after:)` or the subscription.")
    kind: str
    at: datetime
    object_type: str
    object_id: strawberry.ID
    node_id: relay.GlobalID | None

    @classmethod
    def from_row(cls, row: Change) -> ChangeType:
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


@strawberry.type
class NotificationPayload(Payload):
    errors: list[MutationError]
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
        latest = feed_selectors.change_visible_to(viewer(info).user).order_by("-id").values_list("id", flat=True).first()
        return str(latest or 0)

    notifications: ListConnection[NotificationType] = strawberry_django.connection(
        permission_classes=[IsAuthenticated], description="The viewer's inbox, newest first."
    )


@strawberry.type
class FeedMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()])
    def mark_notification_read(self, info: strawberry.Info, id: relay.GlobalID) -> NotificationPayload:
        if id.type_name != "Notification" or not is_pk(id.node_id):
            return NotificationPayload(errors=[MutationError(code="not_found", field="id", message=_("Notification not found."))])
        try:
            notification = notification_mark_read(user=viewer(info).user, notification_id=int(id.node_id))
        except ValidationError as exc:
            return NotificationPayload(errors=errors_from(exc))
        return NotificationPayload(errors=[], notification=notification)


@dataclass(frozen=True)
class Interest:
    """Which audience columns could concern a subscriber: a cheap pre-filter, never the permission check."""

    everything: bool
    user_id: int
    department_id: int | None
    grid_ids: frozenset[int]

    def concerns(self, row: Audience) -> bool:
        return (
            row.user_id == self.user_id
            or (self.everything and (row.grid_id is not None or row.department_id is not None
                                     or row.user_id is None))
            or (self.department_id is not None and row.department_id == self.department_id)
            or (row.grid_id is not None and row.grid_id in self.grid_ids)
        )


@database_sync_to_async
def _reload(user_id: int, token_id: int | None):
    """The subscriber as the database says now: None when the user or the token is no longer valid."""
    if token_id is not None and not token_still_valid(token_id=token_id):
        return None, None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None, None
    from gridapp.geography.selectors import grid_ids_watched_set

    interest = Interest(
        everything=user.sees_whole_district,
        user_id=user.pk,
        department_id=user.department_id if user.is_department_staff else None,
        grid_ids=grid_ids_watched_set(user),
    )
    return user, interest


_change_page = database_sync_to_async(feed_selectors.change_page)


async def visible_changes(who, start: int | None) -> AsyncGenerator[tuple[object, Change], None]:
    """Every change ``who`` may see above ``start`` (None: from now), with the user as the database has them now.

    Behind every subscription: catches up page by page, then waits on the
    watcher and re-reads the log (with current permissions) only when a new
    change could concern the subscriber.  Raises ``token_expired`` when the
    user or the token is no longer valid.
    """
    await watcher.ensure_started()
    cursor = start if start is not None else watcher.latest
    token_id = who.token.pk if who.token is not None else None
    checked = cursor
    must_read = True
    interest = None
    while True:
        if must_read:
            read_at = time.monotonic()
            seen_up_to = watcher.latest
            user, interest = await _reload(who.user.pk, token_id)
            if user is None:
                raise GraphQLCodedError(_("The token has expired or was revoked. Refresh it and resubscribe."),
                                        "token_expired", cursor=str(cursor))
            who.user = user  # every field of the messages below is resolved for the user as they are now
            page = await _change_page(user=user, after=cursor, first=CATCH_UP_PAGE)
            for row in page:
                cursor = row.id
                yield user, row
            if len(page) == CATCH_UP_PAGE:
                continue
            checked = max(checked, cursor, seen_up_to)
            must_read = False
        if not await watcher.wait_beyond(checked, IDLE_RECHECK_SECONDS):
            # Quiet: now and then read the user again, so a new role or grid starts (or stops) what reaches them
            # even when nothing concerned them meanwhile.
            must_read = time.monotonic() - read_at > USER_RECHECK_SECONDS
            continue
        rows = watcher.audiences_after(checked)
        if rows is None:
            must_read = True
        else:
            must_read = any(interest.concerns(row) for row in rows)
            if rows:
                checked = rows[-1].id


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
        async for _user, row in visible_changes(who, start):
            yield ChangeType.from_row(row)
