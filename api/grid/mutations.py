"""Notices to a grid."""

from __future__ import annotations

import strawberry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk_or_none
from api.context import viewer
from api.grid.errors import GridError
from api.grid.types import GridNoticeType
from api.mutations import mutation
from api.restrict import Payload
from gridapp.geography import selectors, services


@strawberry.input
class GridNoticePostInput:
    grid_id: relay.GlobalID
    title: str
    body: str = ""


@strawberry.type
class GridNoticePostPayload(Payload):
    errors: list[GridError] = strawberry.field(default_factory=list)
    notice: GridNoticeType | None = None


@strawberry.type
class GridMutation:
    @mutation(description="Command centre: send a notice to every grid worker of a grid.")
    def post_grid_notice(self, info: strawberry.Info, input: GridNoticePostInput) -> GridNoticePostPayload:
        user = viewer(info).user
        pk = node_pk_or_none(input.grid_id, "Grid")
        grid = selectors.grids_visible_to(user).filter(pk=pk).first() if pk is not None else None
        if grid is None:  # an id of no grid and a grid the viewer may not see look alike
            raise ValidationError({"gridId": ValidationError(_("Grid not found."), code="not_found")})
        notice = services.grid_notice_post(author=user, grid=grid, title=input.title, body=input.body)
        return GridNoticePostPayload(notice=notice)
