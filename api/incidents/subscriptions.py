"""Events as they change, over a websocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from channels.db import database_sync_to_async
from strawberry import relay

from api.feed import object_changes
from api.incidents.types import EventStatusEnum, EventType, first_photos
from gridapp.incidents import selectors
from gridapp.incidents.models import Event, EventStatus

#: How the change log names an event (``core.Change.object_type``).


@strawberry.type(name="EventChange", description="An event the viewer may see changed; its change-feed cursor.")
class EventChangeType:
    cursor: str
    kind: str = strawberry.field(description="What happened, e.g. `event.accept`.")
    status: EventStatusEnum | None = strawberry.field(
        description="The status this change produced (null for changes recorded before this field existed).")
    version: int | None = strawberry.field(description="The event's version this change produced.")
    event: EventType = strawberry.field(description=(
        "The event as it is when the message is delivered, which may already be later than this change: "
        "`status` and `version` say what this change did."))


@database_sync_to_async
def _event_for(user, event_id: int) -> Event | None:
    return (selectors.events_visible_to(user)
            # (not duplicate_of: a restricted relation, read through its rule by its field)
            .select_related("category__department", "grid", "community", "street", "department", "reporter",
                            "assignee")
            .prefetch_related(first_photos(), "photos", "history")
            .filter(pk=event_id).first())


@strawberry.type
class EventSubscription:
    @strawberry.subscription(description=(
        "Events the viewer may see as they change (my grids, my department, everything for the command centre), or "
        "one event with `eventId`. Each message carries its change-feed cursor; with `after`, first replays what "
        "was missed. Ends with `token_expired` like `changes`."
    ))
    async def event_changed(self, info: strawberry.Info, event_id: relay.GlobalID | None = None,
                            after: str | None = None) -> AsyncGenerator[EventChangeType, None]:
        async for row, event in object_changes(info, model=Event, type_name="Event", global_id=event_id, after=after,
                                               load=_event_for):
            status = row.facts.get("status")
            yield EventChangeType(cursor=str(row.id), kind=row.kind, event=event,
                                  status=EventStatus(status) if status else None, version=row.facts.get("version"))
