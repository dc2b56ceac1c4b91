"""The geography: streets, communities, basic and industry grids, base records, locating; notices to a grid."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.scalars import JSON

from api.context import viewer
from api.errors import GraphQLCodedError, MutationError, errors_from
from api.extensions import AuditMutation
from api.fields import django_type, field
from api.nodes import MODEL_ID, is_pk
from api.paging import CursorConnection, ListConnection
from api.permissions import IsAuthenticated
from api.restrict import Payload, Public, Restricted
from gridapp.geography import selectors, services
from gridapp.geography.crs import CRS, to_wgs84
from gridapp.geography.locator import OutsideDistrict, district_locator
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

CrsEnum = strawberry.enum(CRS, name="CoordinateSystem",
                          description="WGS84: GPS and survey data; GCJ02: what phones and most maps in China report; "
                                      "BD09: Baidu maps.")
RecordKindEnum = strawberry.enum(RecordKind, name="RecordKind")
RECENT_EVENTS = 5

if TYPE_CHECKING:
    from api.events import EventType


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
    def recent_events(self, root: Grid, info: strawberry.Info) -> list[Annotated[EventType, strawberry.lazy("api.events")]]:
        if hasattr(root, "recent_events_list"):
            return root.recent_events_list
        return list(events_visible_to(viewer(info).user).filter(grid=root)
                    .exclude(status=EventStatus.DUPLICATE).order_by("-id")[:RECENT_EVENTS])


@django_type(IndustryGrid, name="IndustryGrid")
class IndustryGridType(Public, relay.Node):
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


@strawberry.input(description="A map window in WGS-84.")
class BoundingBoxInput:
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float


@strawberry.type(name="IndustryHit")
class IndustryHitType:
    department_code: str
    industry_grid_id: relay.GlobalID
    industry_grid_code: str


@strawberry.type(name="Place", description="The identity of an area; its details are behind `node(id:)`.")
class PlaceType:
    id: relay.GlobalID
    code: str
    name: str


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


@strawberry.input
class GridNoticePostInput:
    grid_id: relay.GlobalID
    title: str
    body: str = ""


@strawberry.type
class GridNoticePostPayload(Payload):
    errors: list[MutationError]
    notice: GridNoticeType | None = None


def _coordinates(lat: float, lng: float, crs: CRS) -> tuple[float, float]:
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise GraphQLCodedError(_("Latitude must be within ±90 and longitude within ±180."), "invalid_coordinates")
    return to_wgs84(lng, lat, crs)


@strawberry.type
class GridQuery:
    grid: GridType | None = strawberry_django.node(permission_classes=[IsAuthenticated])

    @strawberry_django.connection(ListConnection[GridType],
                                  permission_classes=[IsAuthenticated],
                                  description="Current grids the viewer may see, by code; optionally of one community.")
    def grids(self, info: strawberry.Info, community_id: relay.GlobalID | None = None) -> Iterable[Grid]:
        grids = selectors.grids_visible_to(viewer(info).user).current().order_by("code")
        if community_id is not None:
            grids = grids.filter(community_id=pk_of(community_id, "Community"))
        return grids

    @strawberry_django.connection(ListConnection[StreetType],
                                  permission_classes=[IsAuthenticated], description="Current streets, by code.")
    def streets(self, info: strawberry.Info) -> Iterable[Street]:
        return selectors.streets_visible_to(viewer(info).user).current().order_by("code")

    @strawberry_django.connection(ListConnection[CommunityType],
                                  permission_classes=[IsAuthenticated], description="Current communities, by code.")
    def communities(self, info: strawberry.Info, street_id: relay.GlobalID | None = None) -> Iterable[Community]:
        communities = selectors.communities_visible_to(viewer(info).user).current().order_by("code")
        if street_id is not None:
            communities = communities.filter(street_id=pk_of(street_id, "Street"))
        return communities

    @strawberry_django.connection(CursorConnection[BaseRecordType], permission_classes=[IsAuthenticated],
                                  description="Base records the viewer may see: by grid, kind, map window or text "
                                              "(name, address or exact external id).")
    def records(self, info: strawberry.Info, grid_id: relay.GlobalID | None = None, kind: RecordKindEnum | None = None,
                bbox: BoundingBoxInput | None = None, search: str | None = None) -> Iterable[BaseRecord]:
        records = selectors.records_visible_to(viewer(info).user)
        if grid_id is not None:
            records = records.filter(grid_id=pk_of(grid_id, "Grid"))
        if kind is not None:
            records = records.filter(kind=kind.value)
        if bbox is not None:
            if not (bbox.min_lng <= bbox.max_lng and bbox.min_lat <= bbox.max_lat):
                raise GraphQLCodedError(_("The map window's minimum must not exceed its maximum."), "invalid_bbox")
            records = records.filter(lng__gte=bbox.min_lng, lng__lte=bbox.max_lng,
                                     lat__gte=bbox.min_lat, lat__lte=bbox.max_lat)
        if search:
            text = search.strip()[:100]
            records = records.filter(Q(external_id=text) | Q(name__icontains=text) | Q(address__icontains=text))
        return records.order_by("id")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The grid, community, street and industry grids of a coordinate. A point outside "
                                  "the district is the error `outside_district`.")
    def locate(self, info: strawberry.Info, lat: float, lng: float, crs: CrsEnum = CRS.WGS84) -> LocationType:
        wgs_lng, wgs_lat = _coordinates(lat, lng, crs)
        try:
            location = district_locator().locate_wgs84(wgs_lng, wgs_lat)
        except OutsideDistrict:
            raise GraphQLCodedError(_("This point is outside the district."), "outside_district") from None
        # Anyone who may locate learns which grid, community and street a point is in (a citizen's report
        # needs it); the grid's details stay behind node(id:) and its permission check.
        names = Grid.objects.filter(pk=location.grid_id).values_list(
            "code", "name", "community__code", "community__name", "community__street__code", "community__street__name"
        ).get()
        return LocationType(
            lng=wgs_lng, lat=wgs_lat, generation=location.generation_id,
            grid=PlaceType(id=relay.GlobalID("Grid", str(location.grid_id)), code=names[0], name=names[1]),
            community=PlaceType(id=relay.GlobalID("Community", str(location.community_id)), code=names[2], name=names[3]),
            street=PlaceType(id=relay.GlobalID("Street", str(location.street_id)), code=names[4], name=names[5]),
            industry=[IndustryHitType(department_code=hit.department_code,
                                      industry_grid_id=relay.GlobalID("IndustryGrid", str(hit.industry_grid_id)),
                                      industry_grid_code=hit.industry_grid_code) for hit in location.industry],
        )


def pk_of(global_id: relay.GlobalID, type_name: str) -> int:
    if global_id.type_name != type_name or not is_pk(global_id.node_id):
        raise GraphQLCodedError(_("This id is not a %(type)s id.") % {"type": type_name}, "invalid_id")
    return int(global_id.node_id)


@strawberry.type
class GridMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()],
                         description="Command centre: send a notice to every grid worker of a grid.")
    def post_grid_notice(self, info: strawberry.Info, input: GridNoticePostInput) -> GridNoticePostPayload:
        user = viewer(info).user
        grid = _visible_grid(user, input.grid_id)
        if grid is None:
            return GridNoticePostPayload(errors=[MutationError(code="not_found", field="gridId",
                                                               message=_("Grid not found."))])
        try:
            notice = services.grid_notice_post(author=user, grid=grid, title=input.title, body=input.body)
        except (ValidationError, PermissionDenied) as exc:
            return GridNoticePostPayload(errors=errors_from(exc))
        return GridNoticePostPayload(errors=[], notice=notice)


def _visible_grid(user, global_id: relay.GlobalID) -> Grid | None:
    if global_id.type_name != "Grid" or not is_pk(global_id.node_id):
        return None
    return selectors.grids_visible_to(user).filter(pk=int(global_id.node_id)).first()
