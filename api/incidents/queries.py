"""The categories, event lists, my tasks and the command centre's map."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
import strawberry_django
from django.utils.translation import gettext as _
from strawberry.relay.utils import to_base64

from api.context import viewer
from api.errors import GraphQLCodedError
from api.fields import field
from api.incidents.filters import EventFilter, events_filtered
from api.incidents.types import EventCategoryType, EventType, PlatformEnum
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from api.scalars import BooleanColumn, FloatColumn, IdColumn, IntColumn, StringColumn
from core.i18n import localized
from gridapp.incidents import selectors
from gridapp.incidents.models import Event, EventCategory, EventStatus

MAX_LAYER = 10_000


@strawberry.type(name="EventLayer", description=(
    "Many events for a map, column by column: entry i of every column is one event. `gridIndex` and "
    "`categoryIndex` point into the `grid*` and `category*` columns, which list each grid and category once."))
class EventLayerType:
    count: int
    ids: IdColumn
    case_numbers: StringColumn
    lngs: FloatColumn = strawberry.field(description="WGS-84.")
    lats: FloatColumn = strawberry.field(description="WGS-84.")
    statuses: StringColumn = strawberry.field(description="EventStatus names, e.g. DISPATCHED.")
    overdue: BooleanColumn
    grid_index: IntColumn
    category_index: IntColumn
    grid_ids: IdColumn
    grid_codes: StringColumn
    grid_names: StringColumn
    category_codes: StringColumn
    category_names: StringColumn = strawberry.field(description="In the reader's language.")


_STATUS_NAMES = {status.value: status.name for status in EventStatus}


def event_layer(events, *, limit: int) -> EventLayerType:
    """The columns of up to ``limit`` events, newest first (``selectors.event_layer_rows``: two queries read in
    binary), with as little work per row as Python allows: this is the command centre's 10,000-event map."""
    found = selectors.event_layer_rows(events, limit=limit)
    if not found.rows:
        return EventLayerType(count=0, ids=[], case_numbers=[], lngs=[], lats=[], statuses=[], overdue=[],
                              grid_index=[], category_index=[], grid_ids=[], grid_codes=[], grid_names=[],
                              category_codes=[], category_names=[])
    ids, numbers, lngs, lats, statuses, overdue, grid_ids, category_ids = map(list, zip(*found.rows, strict=True))
    grid_at = {grid_id: index for index, grid_id in enumerate(dict.fromkeys(grid_ids))}  # first seen, first listed
    category_at = {category_id: index for index, category_id in enumerate(dict.fromkeys(category_ids))}
    grids = [found.grids[grid_id] for grid_id in grid_at]
    categories = [found.categories[category_id] for category_id in category_at]
    return EventLayerType(
        count=len(ids),
        ids=[to_base64("Event", pk) for pk in ids],
        case_numbers=numbers, lngs=lngs, lats=lats, overdue=overdue,
        statuses=[_STATUS_NAMES[status] for status in statuses],
        grid_index=[grid_at[grid_id] for grid_id in grid_ids],
        category_index=[category_at[category_id] for category_id in category_ids],
        grid_ids=[to_base64("Grid", grid_id) for grid_id in grid_at],
        grid_codes=[code for code, _name in grids],
        grid_names=[name for _code, name in grids],
        category_codes=[code for code, _name, _name_en in categories],
        category_names=[localized(name, name_en) for _code, name, name_en in categories],
    )


@strawberry.type
class EventQuery:
    @field(permission_classes=[IsAuthenticated],
                             description="Active event categories, by code; optionally one platform or major class.")
    def event_categories(self, info: strawberry.Info, platform: PlatformEnum | None = None,
                         major_code: str | None = None) -> list[EventCategoryType]:
        categories = EventCategory.objects.filter(active=True).order_by("code")
        if platform is not None:
            categories = categories.filter(platform=platform.value)
        if major_code is not None:
            categories = categories.filter(major_code=major_code[:2])
        return categories

    event: EventType | None = strawberry_django.node(permission_classes=[IsAuthenticated])

    @strawberry_django.connection(CursorConnection[EventType], permission_classes=[IsAuthenticated],
                                  description="Cases the viewer may see, newest first (duplicates on request).")
    def events(self, info: strawberry.Info, filter: EventFilter | None = None) -> Iterable[Event]:
        user = viewer(info).user
        return events_filtered(selectors.events_visible_to(user), filter, user).order_by("-id")

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The command centre's map: up to 10,000 events (newest first) in columns.")
    def event_layer(self, info: strawberry.Info, filter: EventFilter | None = None, first: int = 1000) -> EventLayerType:
        if not 1 <= first <= MAX_LAYER:
            raise GraphQLCodedError(_("first must be 1 to %(max)d.") % {"max": MAX_LAYER}, "invalid_page_size")
        user = viewer(info).user
        return event_layer(events_filtered(selectors.events_visible_to(user), filter, user), limit=first)

    @strawberry_django.connection(CursorConnection[EventType], permission_classes=[IsAuthenticated],
                                  description="My tasks: open events waiting for the viewer, soonest deadline "
                                              "first, then those without a deadline (on hold), oldest first.")
    def my_tasks(self, info: strawberry.Info, filter: EventFilter | None = None) -> Iterable[Event]:
        user = viewer(info).user
        tasks = selectors.event_tasks_of(user)  # never a duplicate report: no need to exclude them
        return (tasks if filter is None else events_filtered(tasks, filter, user)).order_by(*selectors.TASK_ORDER)
