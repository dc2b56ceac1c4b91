"""Streets, communities, grids, industry grids, base records, where a coordinate lies, notices."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from django.db.models import Count, Prefetch, Q
from strawberry import relay
from strawberry.scalars import JSON

from api.base.places import PlaceType
from api.context import viewer
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Restricted
from gridapp.geography import selectors
from gridapp.geography.models import (
    BaseRecord,
    Community,
    Grid,
    GridNotice,
    GridUserObjectPermission,
    IndustryGrid,
    RecordKind,
    Street,
)
from gridapp.incidents.models import EventStatus
from gridapp.incidents.selectors import events_visible_to

if TYPE_CHECKING:
    from api.incidents.types import EventType


RecordKindEnum = strawberry.enum(RecordKind, name="RecordKind")
RECENT_EVENTS = 5


def _annotated(root, name: str, fallback):
    """An annotation the optimizer added, or its value computed for an object loaded another way."""
    value = getattr(root, name, None)
    return fallback() if value is None else value


@django_type(Street, name="Street")
class StreetType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    area_m2: float

    @field(annotate={"_community_count": Count(
        "communities", filter=Q(communities__generation_high__isnull=True), distinct=True)})
    def community_count(self, root: Street) -> int:
        return _annotated(root, "_community_count", lambda: root.communities.current().count())

    @field(annotate={"_grid_count": Count(
        "communities__grids", filter=Q(communities__grids__generation_high__isnull=True), distinct=True)})
    def grid_count(self, root: Street) -> int:
        return _annotated(root, "_grid_count", lambda: Grid.objects.current().filter(community__street=root).count())


@django_type(Community, name="Community")
class CommunityType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    area_m2: float
    street: StreetType

    @field(annotate={"_grid_count": Count(
        "grids", filter=Q(grids__generation_high__isnull=True), distinct=True)})
    def grid_count(self, root: Community) -> int:
        return _annotated(root, "_grid_count", lambda: root.grids.current().count())


@strawberry.type(name="GridWorker")
class GridWorkerType:
    username: str
    display_name: str


@django_type(Grid, name="Grid")
class GridType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    area_m2: float
    centroid_lat: float
    centroid_lng: float
    community: CommunityType
    boundary: JSON = field(description="GeoJSON geometry in WGS-84 (lng, lat).")
    generation: int = field(field_name="generation_low_id",
                                              description="The boundary generation this version was drawn in.")
    is_current: bool = field(only=["generation_high_id"],
                                               description="False for a version retired by a redraw.")

    @field(annotate={"_record_count": Count("records")},
                             description="Base records located in this grid version.")
    def record_count(self, root: Grid) -> int:
        return _annotated(root, "_record_count", lambda: root.records.count())

    @field(
        prefetch_related=[Prefetch(
            "griduserobjectpermission_set",
            queryset=GridUserObjectPermission.objects.filter(
                permission__codename=selectors.PATROL_PERMISSION, user__is_active=True,
            ).select_related("user").order_by("user__username"),
            to_attr="patrol_rows",
        )],
        description="The grid workers of this grid version.",
    )
    def workers(self, root: Grid) -> list[GridWorkerType]:
        users = ([row.user for row in root.patrol_rows] if hasattr(root, "patrol_rows")
                 else selectors.grid_workers(root))  # reached outside the optimizer (e.g. a mutation payload)
        return [GridWorkerType(username=user.username, display_name=user.display_name) for user in users]

    @field(
        prefetch_related=[lambda info: Prefetch(
            "events", to_attr="recent_events_list",
            queryset=events_visible_to(viewer(info).user).exclude(status=EventStatus.DUPLICATE)
            .select_related("category").order_by("-id")[:RECENT_EVENTS],
        )],
        description=f"The grid page: its {RECENT_EVENTS} newest cases the viewer may see.",
    )
    def recent_events(self, root: Grid, info: strawberry.Info
                      ) -> list[Annotated[EventType, strawberry.lazy("api.incidents.types")]]:
        if hasattr(root, "recent_events_list"):
            return root.recent_events_list
        return list(events_visible_to(viewer(info).user).filter(grid=root)
                    .exclude(status=EventStatus.DUPLICATE).order_by("-id")[:RECENT_EVENTS])


@django_type(IndustryGrid, name="IndustryGrid")
class IndustryGridType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name: str
    area_m2: float
    boundary: JSON
    department_code: str = field(field_name="department__code")
    department_name: str = field(field_name="department__name")


@django_type(BaseRecord, name="BaseRecord")
class BaseRecordType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    external_id: str
    kind: RecordKindEnum
    name: str
    address: str
    lng: float = field(description="WGS-84 longitude.")
    lat: float = field(description="WGS-84 latitude.")
    grid: GridType
    attributes: JSON

    @field(only=["kind"])
    def kind_label(self, root: BaseRecord) -> str:
        return str(root.get_kind_display())

    @field(only=["lng", "lat"], description="GeoJSON Point for the map (WGS-84).")
    def geometry(self, root: BaseRecord) -> JSON:
        return {"type": "Point", "coordinates": [root.lng, root.lat]}


@strawberry.type(name="IndustryHit")
class IndustryHitType:
    department_code: str
    industry_grid_id: relay.GlobalID = strawberry.field(
        description="An `IndustryGrid`: its details are behind `node(id:)`, for those who may see it.")
    industry_grid_code: str


@strawberry.type(name="Location", description="Where a coordinate lies, in the current boundary generation.")
class LocationType:
    lng: float = strawberry.field(description="WGS-84 longitude after conversion.")
    lat: float = strawberry.field(description="WGS-84 latitude after conversion.")
    generation: int
    grid: PlaceType
    community: PlaceType
    street: PlaceType
    industry: list[IndustryHitType]


@django_type(GridNotice, name="GridNotice")
class GridNoticeType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    title: str
    body: str
    created_at: datetime
    grid: GridType
