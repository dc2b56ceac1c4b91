"""The geography: streets, communities, grids; notices to a grid."""

from __future__ import annotations

from datetime import datetime

import strawberry
import strawberry_django
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.scalars import JSON

from api.context import viewer
from api.errors import MutationError, errors_from
from api.extensions import AuditMutation
from api.permissions import IsAuthenticated
from gridapp import selectors, services
from gridapp.models import Community, Grid, GridNotice, Street


@strawberry_django.type(Street, name="Street")
class StreetType(relay.Node):
    code: str
    name: str
    area_m2: float

    @classmethod
    def get_queryset(cls, queryset, info, **kwargs):
        return queryset.filter(pk__in=selectors.streets_visible_to(viewer(info).user).values("pk"))


@strawberry_django.type(Community, name="Community")
class CommunityType(relay.Node):
    code: str
    name: str
    area_m2: float
    street: StreetType

    @classmethod
    def get_queryset(cls, queryset, info, **kwargs):
        return queryset.filter(pk__in=selectors.communities_visible_to(viewer(info).user).values("pk"))


@strawberry_django.type(Grid, name="Grid")
class GridType(relay.Node):
    code: str
    name: str
    area_m2: float
    centroid_lat: float
    centroid_lng: float
    community: CommunityType
    boundary: JSON = strawberry_django.field(description="GeoJSON geometry in WGS-84 (lng, lat).")

    @classmethod
    def get_queryset(cls, queryset, info, **kwargs):
        return queryset.filter(pk__in=selectors.grids_visible_to(viewer(info).user).values("pk"))


@strawberry_django.type(GridNotice, name="GridNotice")
class GridNoticeType(relay.Node):
    title: str
    body: str
    created_at: datetime
    grid: GridType

    @classmethod
    def get_queryset(cls, queryset, info, **kwargs):
        return queryset.filter(grid__in=selectors.grids_visible_to(viewer(info).user).values("pk"))


@strawberry.input
class GridNoticePostInput:
    grid_id: relay.GlobalID
    title: str
    body: str = ""


@strawberry.type
class GridNoticePostPayload:
    errors: list[MutationError]
    notice: GridNoticeType | None = None


@strawberry.type
class GridQuery:
    grids: strawberry_django.relay.DjangoListConnection[GridType] = strawberry_django.connection(
        permission_classes=[IsAuthenticated], description="Grids the viewer may see, by code."
    )
    grid: GridType | None = strawberry_django.node(permission_classes=[IsAuthenticated])


@strawberry.type
class GridMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()],
                         description="Command centre: send a notice to every grid worker of a grid.")
    def post_grid_notice(self, info: strawberry.Info, input: GridNoticePostInput) -> GridNoticePostPayload:
        user = viewer(info).user
        grid = _visible_grid(user, input.grid_id)
        if grid is None:
            return GridNoticePostPayload(errors=[MutationError(code="not_found", field="gridId",
                                                               message=_grid_not_found())])
        try:
            notice = services.grid_notice_post(author=user, grid=grid, title=input.title, body=input.body)
        except (ValidationError, PermissionDenied) as exc:
            return GridNoticePostPayload(errors=errors_from(exc))
        return GridNoticePostPayload(errors=[], notice=notice)


def _grid_not_found() -> str:
    return _("Grid not found.")


def _visible_grid(user, global_id: relay.GlobalID) -> Grid | None:
    if global_id.type_name != "Grid" or not str(global_id.node_id).isdigit():
        return None
    return selectors.grids_visible_to(user).filter(pk=int(global_id.node_id)).first()
