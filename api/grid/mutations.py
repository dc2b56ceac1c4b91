"""Notices to a grid."""

from __future__ import annotations

import strawberry
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk_or_none
from api.context import viewer
from api.errors import MutationError, errors_from
from api.extensions import AuditMutation
from api.grid.types import GridNoticeType
from api.permissions import IsAuthenticated
from api.restrict import Payload
from gridapp.geography import selectors, services
from gridapp.geography.models import Grid


@strawberry.input
class GridNoticePostInput:
    grid_id: relay.GlobalID
    title: str
    body: str = ""


@strawberry.type
class GridNoticePostPayload(Payload):
    errors: list[MutationError]
    notice: GridNoticeType | None = None


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
    pk = node_pk_or_none(global_id, "Grid")
    return selectors.grids_visible_to(user).filter(pk=pk).first() if pk is not None else None
