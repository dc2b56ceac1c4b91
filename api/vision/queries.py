"""The cameras the viewer may see and their people flow."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
import strawberry_django
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import node_pk
from api.context import viewer
from api.errors import GraphQLCodedError
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from api.vision.filters import CameraFilter
from api.vision.types import CameraType, FlowPointType
from vision.models import Camera, Situation
from vision.selectors import MAX_FLOW_HOURS, camera_flow, cameras_visible_to


@strawberry.type
class VisionQuery:
    @strawberry_django.connection(CursorConnection[CameraType], permission_classes=[IsAuthenticated],
                                  description="The cameras the viewer may see (by their catalogue entry), by id.")
    def cameras(self, info: strawberry.Info, filter: CameraFilter | None = None) -> Iterable[Camera]:
        cameras = cameras_visible_to(viewer(info).user)
        if filter is not None:
            if filter.status is not None:
                cameras = cameras.filter(status=filter.status.value)
            if filter.grid_id is not None:
                cameras = cameras.filter(record__grid_id=node_pk(filter.grid_id, "Grid"))
            if filter.algorithm is not None:
                cameras = cameras.filter(rules__algorithm=filter.algorithm.value, rules__enabled=True).distinct()
            if filter.situation is not None:
                busy = Situation.objects.filter(ended_at__isnull=True).values("camera_id")
                cameras = cameras.filter(pk__in=busy) if filter.situation else cameras.exclude(pk__in=busy)
        return cameras.order_by("id")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="A camera's people-flow series over the last `hours` (at most a week), oldest "
                                  "first; empty for a camera without a flow rule or one the viewer may not see.")
    def camera_flow(self, info: strawberry.Info, camera_id: relay.GlobalID, hours: int = 24) -> list[FlowPointType]:
        camera = cameras_visible_to(viewer(info).user).filter(pk=node_pk(camera_id, "Camera")).first()
        try:
            series = camera_flow(camera, hours=hours)
        except ValueError:
            raise GraphQLCodedError(_("hours must be 1 to %(max)d.") % {"max": MAX_FLOW_HOURS},
                                    "invalid_range") from None
        return [FlowPointType(interval_start=start, count=count) for start, count in series.points]
