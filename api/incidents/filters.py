"""Narrowing an event list: the filter every list, the map and the statistics share."""

from __future__ import annotations

from datetime import datetime

import strawberry
from django.db.models import Q
from strawberry import relay

from api.base.ids import node_pk
from api.incidents.types import EventSourceEnum, EventStatusEnum
from gridapp.incidents import selectors
from gridapp.incidents.models import OPEN_STATUSES, EventStatus


@strawberry.input(description="Narrow an event list; every field is optional.")
class EventFilter:
    status: list[EventStatusEnum] | None = None
    open: bool | None = strawberry.UNSET
    category_code: str | None = None
    department_code: str | None = None
    grid_id: relay.GlobalID | None = None
    community_id: relay.GlobalID | None = None
    street_id: relay.GlobalID | None = None
    overdue: bool | None = None
    assigned_to_me: bool | None = None
    reported_by_me: bool | None = None
    source: EventSourceEnum | None = None
    reported_after: datetime | None = None
    reported_before: datetime | None = None
    include_duplicates: bool = False
    search: str | None = strawberry.field(default=None, description="A case number, or words of the description.")


def events_filtered(events, filters: EventFilter | None, user):
    # Duplicate reports are hidden by default, except the viewer's own: a citizen follows what they reported.
    others_duplicates = Q(status=EventStatus.DUPLICATE) & ~Q(reporter_id=user.pk)
    if filters is None:
        return events.exclude(others_duplicates)
    if not filters.include_duplicates:
        events = events.exclude(others_duplicates)
    if filters.status:
        events = events.filter(status__in=[status.value for status in filters.status])
    if filters.open is not strawberry.UNSET and filters.open is not None:
        events = events.filter(status__in=OPEN_STATUSES) if filters.open else events.exclude(status__in=OPEN_STATUSES)
    if filters.category_code:
        events = events.filter(category__code=filters.category_code)
    if filters.department_code:
        events = events.filter(department__code=filters.department_code)
    if filters.grid_id is not None:
        events = events.filter(grid_id=node_pk(filters.grid_id, "Grid"))
    if filters.community_id is not None:
        events = events.filter(community_id=node_pk(filters.community_id, "Community"))
    if filters.street_id is not None:
        events = events.filter(street_id=node_pk(filters.street_id, "Street"))
    if filters.overdue is not None:
        late = selectors.event_overdue()
        events = events.filter(late) if filters.overdue else events.exclude(late)
    if filters.assigned_to_me:
        events = events.filter(assignee_id=user.pk)
    if filters.reported_by_me:
        events = events.filter(reporter_id=user.pk)
    if filters.source is not None:
        events = events.filter(source=filters.source.value)
    if filters.reported_after is not None:
        events = events.filter(reported_at__gte=filters.reported_after)
    if filters.reported_before is not None:
        events = events.filter(reported_at__lt=filters.reported_before)
    if filters.search:
        text = filters.search.strip()[:100]
        events = events.filter(Q(case_number=text) | Q(description__icontains=text))
    return events
