"""Passages as they happen, over a websocket: a park's for its operator; a person's own and their visitors'."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from channels.db import database_sync_to_async
from strawberry import relay

from api.base.ids import node_pk
from api.context import viewer
from api.errors import not_authenticated
from api.feed import cursor_parse, object_changes, visible_changes
from api.parks.queries import operated_park
from api.parks.types import BarrierEventType, ParkMapChangeType, PassageType
from parks.map import map_layer_of
from parks.models import BarrierEvent, Passage
from parks.selectors import barrier_events_visible_to, passages_visible_to


@database_sync_to_async
def _passage_for(user, pk: int) -> Passage | None:
    return (passages_visible_to(user).select_related("gate__building", "employee__user", "employee__enterprise",
                                                     "staff__user", "invitation__host")
            .filter(pk=pk).first())


@database_sync_to_async
def _barrier_event_for(user, pk: int) -> BarrierEvent | None:
    return (barrier_events_visible_to(user).select_related("gate__building", "area__building")
            .filter(pk=pk).first())


@strawberry.type
class ParksSubscription:
    @strawberry.subscription(description=(
        "What moves on a park's map, for its operator: each change names the layer to read again (parkMap).  "
        "With `after`, first replays what was missed."))
    async def park_map_changed(self, info: strawberry.Info, park_id: relay.GlobalID,
                               after: str | None = None) -> AsyncGenerator[ParkMapChangeType, None]:
        if not viewer(info).user.is_authenticated:
            raise not_authenticated()
        park = await database_sync_to_async(operated_park)(info, park_id)
        layer_of = database_sync_to_async(map_layer_of)
        async for _user, row in visible_changes(viewer(info), cursor_parse(after) if after is not None else None):
            layer = await layer_of(row.object_type, row.object_id, park=park, facts=row.facts or {})
            if layer is not None:
                yield ParkMapChangeType(layer=layer, kind=row.kind, cursor=str(row.id), at=row.at)

    @strawberry.subscription(description=(
        "Vehicles at parking barriers as they are reported, read, queued and decided: a park's for its operator "
        "(parkId), a barrier controller's own (it waits here for the decision; gateId narrows to one barrier).  "
        "With `after`, first replays what was missed."))
    async def barrier_event(self, info: strawberry.Info, park_id: relay.GlobalID | None = None,
                            gate_id: relay.GlobalID | None = None,
                            after: str | None = None) -> AsyncGenerator[BarrierEventType, None]:
        park = node_pk(park_id, "Park") if park_id is not None else None
        gate = node_pk(gate_id, "Gate") if gate_id is not None else None
        async for _row, event in object_changes(info, model=BarrierEvent, type_name="BarrierEvent", global_id=None,
                                                after=after, load=_barrier_event_for):
            if (park is None or event.park_id == park) and (gate is None or event.gate_id == gate):
                yield event

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
