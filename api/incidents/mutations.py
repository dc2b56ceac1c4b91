"""Reporting an incident and moving events along their lifecycle."""

from __future__ import annotations

import strawberry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload

from api.base.ids import input_pk
from api.base.places import CrsEnum
from api.context import viewer
from api.errors import errors_from
from api.incidents.errors import EventError
from api.incidents.types import EventActionEnum, EventType
from api.limits import mutation_rate_check
from api.mutations import mutation
from api.restrict import Payload
from gridapp.geography.crs import CRS
from gridapp.incidents import services


@strawberry.input
class EventReportInput:
    category_code: str
    lat: float
    lng: float
    crs: CrsEnum = CRS.WGS84
    description: str = ""
    address: str = ""
    photos: list[Upload] = strawberry.field(default_factory=list,
                                            description="Multipart uploads (GraphQL multipart request spec).")
    client_request_id: str | None = strawberry.field(
        default=None, description="A unique id the phone picks per report: a retry with it creates nothing new.")


@strawberry.type
class EventReportPayload(Payload):
    errors: list[EventError] = strawberry.field(default_factory=list)
    event: EventType | None = None
    duplicate_of: EventType | None = strawberry.field(
        default=None, description="The open case this report was linked to instead of opening a new one.")
    replayed: bool = False


@strawberry.input
class EventTransitionInput:
    event_id: relay.GlobalID
    action: EventActionEnum
    note: str = ""
    photos: list[Upload] = strawberry.field(default_factory=list)
    assignee: str | None = strawberry.field(default=None, description="Username, for dispatch and assign.")
    hours: int | None = strawberry.field(default=None, description="For request_extension.")
    expected_version: int | None = strawberry.field(
        default=None, description="Refuse with `stale` if the event changed since this version.")


@strawberry.type
class EventPayload(Payload):
    errors: list[EventError] = strawberry.field(default_factory=list)
    event: EventType | None = None


@strawberry.input
class EventBulkInput:
    event_ids: list[relay.GlobalID]
    action: EventActionEnum
    note: str = ""
    assignee: str | None = None


@strawberry.type(name="EventBulkResult")
class EventBulkResultType:
    event_id: relay.GlobalID
    ok: bool
    errors: list[EventError]


@strawberry.type
class EventBulkPayload(Payload):
    errors: list[EventError] = strawberry.field(default_factory=list)
    results: list[EventBulkResultType] = strawberry.field(default_factory=list)


def _assignee(username: str | None):
    if not username:
        return None
    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        raise ValidationError({"assignee": ValidationError(_("No active user %(name)s.") % {"name": username},
                                                           code="invalid_assignee")})
    return found


@strawberry.type
class EventMutation:
    @mutation(description="Report an incident: located, routed to its department and numbered, or linked to an "
                          "open case of the same category nearby.")
    def report_event(self, info: strawberry.Info, input: EventReportInput) -> EventReportPayload:
        user = viewer(info).user
        key = f"u{user.pk}:{input.client_request_id.strip()[:100]}" if input.client_request_id else None
        mutation_rate_check(user=user, mutation="reportEvent", per_minute=settings.EVENT_REPORTS_PER_MINUTE,
                            message=_("Too many reports from you in a minute."))
        outcome = services.event_report(
            reporter=user, category_code=input.category_code, lng=input.lng, lat=input.lat, crs=CRS(input.crs),
            description=input.description, address=input.address, photos=input.photos, source_key=key)
        return EventReportPayload(event=outcome.event, duplicate_of=outcome.duplicate_of, replayed=outcome.replayed)

    @mutation(description="Move an event along its lifecycle: accept, dispatch, start, resolve, verify, close, "
                          "return, hold, resume, reopen, extensions. `availableActions` lists what the viewer may do.")
    def transition_event(self, info: strawberry.Info, input: EventTransitionInput) -> EventPayload:
        event_id = input_pk(input.event_id, "Event", field="eventId", message=_("Event not found."))
        event = services.event_transition(
            actor=viewer(info).user, event_id=event_id, action=input.action.value, note=input.note,
            photos=input.photos, assignee=_assignee(input.assignee), hours=input.hours,
            expected_version=input.expected_version)
        return EventPayload(event=event)

    @mutation(description="One action on many events from a work queue (accept, dispatch, assign, ...): each "
                          "succeeds or fails on its own.")
    def transition_events(self, info: strawberry.Info, input: EventBulkInput) -> EventBulkPayload:
        ids = [input_pk(global_id, "Event", field="eventIds", message=_("Event not found."))
               for global_id in input.event_ids]
        outcomes = services.events_transition_bulk(
            actor=viewer(info).user, event_ids=ids, action=input.action.value, note=input.note,
            assignee=_assignee(input.assignee))
        results = [EventBulkResultType(event_id=relay.GlobalID("Event", str(event_id)), ok=not problems,
                                       errors=[error for problem in problems
                                               for error in errors_from(problem, EventError)])
                   for event_id, problems in outcomes]
        return EventBulkPayload(results=results)
