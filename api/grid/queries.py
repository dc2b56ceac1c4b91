"""Lists of the geography the viewer may see, and locating a coordinate."""

from __future__ import annotations

import math
from collections.abc import Iterable

import strawberry
import strawberry_django
from django.db.models import Q
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk
from api.base.places import CrsEnum, PlaceType
from api.context import viewer
from api.errors import GraphQLCodedError
from api.grid.types import (
    BaseRecordType,
    CommunityType,
    GridType,
    IndustryHitType,
    LocationType,
    RecordKindEnum,
    StreetType,
)
from api.paging import CursorConnection, ListConnection
from api.permissions import IsAuthenticated
from gridapp.geography import selectors
from gridapp.geography.crs import CRS, to_wgs84
from gridapp.geography.locator import OutsideDistrict, district_locator
from gridapp.geography.models import BaseRecord, Community, Grid, Street


@strawberry.input(description="A map window in WGS-84.")
class BoundingBoxInput:
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float


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
            grids = grids.filter(community_id=node_pk(community_id, "Community"))
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
            communities = communities.filter(street_id=node_pk(street_id, "Street"))
        return communities

    @strawberry_django.connection(CursorConnection[BaseRecordType], permission_classes=[IsAuthenticated],
                                  description="Base records the viewer may see: by grid, kind, map window or text "
                                              "(name, address or exact external id).")
    def records(self, info: strawberry.Info, grid_id: relay.GlobalID | None = None, kind: RecordKindEnum | None = None,
                bbox: BoundingBoxInput | None = None, search: str | None = None) -> Iterable[BaseRecord]:
        records = selectors.records_visible_to(viewer(info).user)
        if grid_id is not None:
            records = records.filter(grid_id=node_pk(grid_id, "Grid"))
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
