"""Passages as they happen, over a websocket: a park's for its operator; a person's own and their visitors'."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from channels.db import database_sync_to_async
from strawberry import relay

from api.base.ids import node_pk
from api.feed import object_changes
from api.parks.types import PassageType
from parks.models import Passage
from parks.selectors import passages_visible_to


@database_sync_to_async
def _passage_for(user, pk: int) -> Passage | None:
    return (passages_visible_to(user).select_related("gate__building", "employee__user", "employee__enterprise",
                                                     "staff__user", "invitation__host")
            .filter(pk=pk).first())


@strawberry.type
class ParksSubscription:
    @strawberry.subscription(description=(
        "Passages as gates decide them (online, or uploaded by an offline gate): a park's for its operator "
        "(parkId), the viewer's own and their visitors' for an employee.  With `after`, first replays what was "
        "missed."))
    async def gate_passage(self, info: strawberry.Info, park_id: relay.GlobalID | None = None,
                           after: str | None = None) -> AsyncGenerator[PassageType, None]:
        park = node_pk(park_id, "Park") if park_id is not None else None
        async for _row, passage in object_changes(info, model=Passage, type_name="Passage", global_id=None,
                                                  after=after, load=_passage_for):
            if park is None or passage.park_id == park:
                yield passage
