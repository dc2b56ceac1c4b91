"""Incidents over GraphQL: the taxonomy, reporting, the lifecycle, work queues and live updates.

Reads go through ``gridapp.incidents.selectors`` (already restricted to the viewer),
writes through one service each (``event_report``, ``event_transition``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from datetime import datetime

import strawberry
import strawberry_django
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch, Q
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry.relay.utils import to_base64
from strawberry.scalars import JSON

from accounts.models import Role
from api.accounts import DepartmentType
from api.context import viewer
from api.errors import GraphQLCodedError, MutationError, errors_from, not_authenticated
from api.extensions import AuditMutation
from api.feed import cursor_parse, visible_changes
from api.fields import django_type, field
from api.grid import CrsEnum, PlaceType, pk_of
from api.limits import mutation_rate_check
from api.media import photo_url
from api.nodes import MODEL_ID, is_pk
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from api.restrict import PERSON_KEYS, Payload, Public, Restricted, person_shown
from api.scalars import BooleanColumn, FloatColumn, IdColumn, IntColumn, StringColumn
from core.i18n import localized
from gridapp.geography.crs import CRS
from gridapp.geography.selectors import grid_ids_of_worker, grid_ids_supervised_by
from gridapp.incidents import selectors, services
from gridapp.incidents.models import (
    OPEN_STATUSES,
    Event,
    EventCategory,
    EventHistory,
    EventPhoto,
    EventSource,
    EventStatus,
    PhotoStage,
    Platform,
    Severity,
)
from gridapp.incidents.workflow import Action, actions_open_to

PlatformEnum = strawberry.enum(Platform, name="Platform")
SeverityEnum = strawberry.enum(Severity, name="Severity")


@django_type(EventCategory, name="EventCategory")
class EventCategoryType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str = field(description="Major and minor code, e.g. 01-02.")
    major_code: str
    platform: PlatformEnum
    severity: SeverityEnum
    photo_required: bool
    accept_hours: int
    dispatch_hours: int
    handle_hours: int
    verify_hours: int
    department_code: str = field(field_name="department__code")

    @field(only=["name", "name_en"], description="In the reader's language.")
    def name(self, root: EventCategory) -> str:
        return root.display_name()

    @field(only=["major_name", "major_name_en"], description="In the reader's language.")
    def major_name(self, root: EventCategory) -> str:
        return root.display_major_name()

    @field(select_related=["department"], only=["department__name", "department__name_en"])
    def department_name(self, root: EventCategory) -> str:
        return localized(root.department.name, root.department.name_en)



MAX_LAYER = 10_000
EventStatusEnum = strawberry.enum(EventStatus, name="EventStatus")
EventSourceEnum = strawberry.enum(EventSource, name="EventSource")
EventActionEnum = strawberry.enum(Action, name="EventAction")
PhotoStageEnum = strawberry.enum(PhotoStage, name="PhotoStage")


@django_type(get_user_model(), name="Person", description=(
    "Someone an event involves. Government staff and the person themselves see who it is; everyone else sees "
    "the role (`username` null, `displayName` the role's name)."))
class PersonType:
    @field(only=["id", "username"])
    def username(self, root, info: strawberry.Info) -> str | None:
        return root.username if person_shown(viewer(info).user, root.pk) else None

    @field(only=["id", "username", "display_name", "role"])
    def display_name(self, root, info: strawberry.Info) -> str:
        if person_shown(viewer(info).user, root.pk):
            return root.display_name or root.username
        return str(root.get_role_display())


def _sees_restricted_photo_data(info) -> bool:
    user = viewer(info).user
    return bool(user.sees_whole_district or user.is_department_staff)


@strawberry.type(name="PhotoBox", description="An object boxed on a photo; the box is normalised (0..1).")
class PhotoBoxType:
    label: str = strawberry.field(description="OneGrid's class: garbage, bin, stall, person, car, ...")
    box: list[float] = strawberry.field(description="x1, y1, x2, y2 from the top left, as fractions of the photo.")


@django_type(EventPhoto, name="EventPhoto")
class EventPhotoType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    stage: PhotoStageEnum
    width: int
    height: int
    taken_at: datetime | None = field(description="The camera's clock, from EXIF.")
    created_at: datetime

    @field(prefetch_related=["boxes"], description="Objects staff boxed on it: the detectors' training data.")
    def boxes(self, root: EventPhoto) -> list[PhotoBoxType]:
        return [PhotoBoxType(label=box.label, box=[box.x1, box.y1, box.x2, box.y2]) for box in root.boxes.all()]

    @field(only=["id"], description="Signed link to the photo (JPEG, no metadata); it expires.")
    def url(self, root: EventPhoto) -> str:
        return photo_url(root.pk, "i")

    @field(only=["id"], description="Signed link to a 320-pixel thumbnail; it expires.")
    def thumbnail_url(self, root: EventPhoto) -> str:
        return photo_url(root.pk, "t")

    @field(only=["exif_lng", "exif_lat"],
                             description="Where the phone says it took the photo (WGS-84): department staff and the "
                                         "command centre only; null for others or without GPS.")
    def exif_location(self, root: EventPhoto, info: strawberry.Info) -> JSON | None:
        if root.exif_lng is None or not _sees_restricted_photo_data(info):
            return None
        return {"type": "Point", "coordinates": [root.exif_lng, root.exif_lat]}


@django_type(EventHistory, name="EventHistoryEntry")
class EventHistoryType:
    at: datetime
    action: str
    note: str
    to_status: EventStatusEnum

    @field(select_related=["actor"], only=["actor_id", "actor_label", "actor__role"],
           description="Who did it: their name for government staff and themselves, else their role.")
    def actor(self, root: EventHistory, info: strawberry.Info) -> str:
        if root.actor_id is None or person_shown(viewer(info).user, root.actor_id):
            return root.actor_label
        return str(root.actor.get_role_display())

    @field(only=["data"], description="The step's details; the people it names are hidden as `actor` is.")
    def data(self, root: EventHistory, info: strawberry.Info) -> JSON:
        if viewer(info).user.sees_names_of_others:
            return root.data
        return {key: value for key, value in root.data.items() if key not in PERSON_KEYS}

    @field(only=["from_status"], description="Null for the report itself.")
    def from_status(self, root: EventHistory) -> EventStatusEnum | None:
        return EventStatus(root.from_status) if root.from_status else None


def _first_photos():
    return Prefetch("photos", queryset=EventPhoto.objects.order_by("id").only("id", "event_id"),
                    to_attr="photo_ids")


@strawberry.type(name="JoinedCase", description=(
    "The case a duplicate report joined, as far as its reporter may follow it: its progress, not its details."))
class JoinedCaseType:
    case_number: str
    status: EventStatusEnum
    status_label: str
    resolved_at: datetime | None
    closed_at: datetime | None


_JOINED = ("case_number", "status", "resolved_at", "closed_at")


@django_type(Event, name="Event")
class EventType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    case_number: str | None = field(description="Null for a duplicate report (see duplicateOf).")
    status: EventStatusEnum
    source: EventSourceEnum
    severity: SeverityEnum
    category: EventCategoryType
    description: str
    address: str
    lng: float = field(description="WGS-84 longitude.")
    lat: float = field(description="WGS-84 latitude.")
    department: DepartmentType
    reporter: PersonType | None
    assignee: PersonType | None
    reported_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    deadline: datetime | None = field(description="When the current stage is due.")
    escalation_level: int = field(
        description="0 on time; 1 grid workers, 2 community, 3 street, 4 command centre.")
    was_overdue: bool
    duplicate_of: EventType | None
    duplicate_count: int

    @field(annotate={f"_joined_{name}": F(f"duplicate_of__{name}") for name in _JOINED},
           description="For a duplicate report: the progress of the case it joined (visible to whoever sees the "
                       "report, unlike `duplicateOf`, which only the case's own handlers see).")
    def joined_case(self, root: Event) -> JoinedCaseType | None:
        if root.duplicate_of_id is None:
            return None
        if hasattr(root, "_joined_status"):
            values = {name: getattr(root, f"_joined_{name}") for name in _JOINED}
        else:  # an object a mutation returned: one read of those columns only
            values = Event.objects.filter(pk=root.duplicate_of_id).values(*_JOINED).first()
        return JoinedCaseType(status_label=str(EventStatus(values["status"]).label), **{
            **values, "status": EventStatus(values["status"])})
    extension_hours: int | None = field(description="An extension waiting for a supervisor.")
    version: int = field(description="Grows with every change; send it back as expectedVersion.")
    photos: list[EventPhotoType]
    history: list[EventHistoryType]

    @field(select_related=["grid"], only=["grid__code", "grid__name"],
                             description="The grid version it was located in; its details are behind `node(id:)`.")
    def grid(self, root: Event) -> PlaceType:
        return PlaceType(id=relay.GlobalID("Grid", str(root.grid_id)), code=root.grid.code, name=root.grid.name)

    @field(select_related=["community"], only=["community__code", "community__name"])
    def community(self, root: Event) -> PlaceType:
        return PlaceType(id=relay.GlobalID("Community", str(root.community_id)), code=root.community.code,
                         name=root.community.name)

    @field(select_related=["street"], only=["street__code", "street__name"])
    def street(self, root: Event) -> PlaceType:
        return PlaceType(id=relay.GlobalID("Street", str(root.street_id)), code=root.street.code,
                         name=root.street.name)

    @field(only=["status", "deadline"], description="The current stage is past its deadline.")
    def is_overdue(self, root: Event) -> bool:
        return root.is_overdue()

    @field(only=["status"])
    def status_label(self, root: Event) -> str:
        return str(root.get_status_display())

    @field(prefetch_related=[_first_photos()], description="The first photo's thumbnail link.")
    def thumbnail_url(self, root: Event) -> str | None:
        photos = root.photo_ids if hasattr(root, "photo_ids") else list(root.photos.order_by("id")[:1])
        return photo_url(photos[0].pk, "t") if photos else None

    @field(
        only=["status", "reporter_id", "assignee_id", "department_id", "grid_id", "held_from"],
        description="What the viewer may do next (the phone's buttons); the service checks again.")
    def available_actions(self, root: Event, info: strawberry.Info) -> list[EventActionEnum]:
        user = viewer(info).user
        patrolled, supervised = _watched_grids(info)
        relations = services.event_relations(user, root, patrolled=patrolled, supervised=supervised)
        return actions_open_to(relations, root.status)


def _watched_grids(info) -> tuple[frozenset[int], frozenset[int]]:
    """The viewer's patrolled and supervised grids, read once per request."""
    who = viewer(info)
    cached = getattr(who, "_watched_grids", None)
    if cached is None:
        user = who.user
        patrolled = frozenset(grid_ids_of_worker(user).values_list("content_object_id", flat=True)) \
            if user.role == Role.GRID_WORKER else frozenset()
        supervised = frozenset(grid_ids_supervised_by(user).values_list("id", flat=True)) \
            if user.role == Role.SUPERVISOR else frozenset()
        cached = who._watched_grids = (patrolled, supervised)
    return cached


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
        events = events.filter(grid_id=pk_of(filters.grid_id, "Grid"))
    if filters.community_id is not None:
        events = events.filter(community_id=pk_of(filters.community_id, "Community"))
    if filters.street_id is not None:
        events = events.filter(street_id=pk_of(filters.street_id, "Street"))
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
    errors: list[MutationError]
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
    errors: list[MutationError]
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
    errors: list[MutationError]


@strawberry.type
class EventBulkPayload(Payload):
    errors: list[MutationError]
    results: list[EventBulkResultType]


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


@strawberry.type(name="EventChange", description="An event the viewer may see changed; its change-feed cursor.")
class EventChangeType:
    cursor: str
    kind: str = strawberry.field(description="What happened, e.g. `event.accept`.")
    status: EventStatusEnum | None = strawberry.field(
        description="The status this change produced (null for changes recorded before this field existed).")
    version: int | None = strawberry.field(description="The event's version this change produced.")
    event: EventType = strawberry.field(description=(
        "The event as it is when the message is delivered, which may already be later than this change: "
        "`status` and `version` say what this change did."))


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
                                  description="My tasks: open events waiting for the viewer, soonest deadline first.")
    def my_tasks(self, info: strawberry.Info, filter: EventFilter | None = None) -> Iterable[Event]:
        user = viewer(info).user
        tasks = selectors.event_tasks_of(user)  # never a duplicate report: no need to exclude them
        return (tasks if filter is None else events_filtered(tasks, filter, user)).order_by("deadline", "id")


def _assignee(username: str | None):
    if not username:
        return None
    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        raise ValidationError({"assignee": ValidationError(_("No active user %(name)s.") % {"name": username},
                                                           code="invalid_assignee")})
    return found


def _event_pk(global_id: relay.GlobalID) -> int | None:
    if global_id.type_name != "Event" or not is_pk(global_id.node_id):
        return None
    return int(global_id.node_id)


@strawberry.type
class EventMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()],
                         description="Report an incident: located, routed to its department and numbered, or linked "
                                     "to an open case of the same category nearby.")
    def report_event(self, info: strawberry.Info, input: EventReportInput) -> EventReportPayload:
        user = viewer(info).user
        key = f"u{user.pk}:{input.client_request_id.strip()[:100]}" if input.client_request_id else None
        try:
            mutation_rate_check(user=user, mutation="reportEvent", per_minute=settings.EVENT_REPORTS_PER_MINUTE,
                                message=_("Too many reports from you in a minute."))
            outcome = services.event_report(
                reporter=user, category_code=input.category_code, lng=input.lng, lat=input.lat, crs=CRS(input.crs),
                description=input.description, address=input.address, photos=input.photos, source_key=key)
        except (ValidationError, PermissionDenied) as exc:
            return EventReportPayload(errors=errors_from(exc))
        return EventReportPayload(errors=[], event=outcome.event, duplicate_of=outcome.duplicate_of,
                                  replayed=outcome.replayed)

    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()],
                         description="Move an event along its lifecycle: accept, dispatch, start, resolve, verify, "
                                     "close, return, hold, resume, reopen, extensions. `availableActions` lists "
                                     "what the viewer may do.")
    def transition_event(self, info: strawberry.Info, input: EventTransitionInput) -> EventPayload:
        event_id = _event_pk(input.event_id)
        try:
            if event_id is None:
                raise ValidationError({"eventId": ValidationError(_("Event not found."), code="not_found")})
            event = services.event_transition(
                actor=viewer(info).user, event_id=event_id, action=input.action.value, note=input.note,
                photos=input.photos, assignee=_assignee(input.assignee), hours=input.hours,
                expected_version=input.expected_version)
        except (ValidationError, PermissionDenied) as exc:
            return EventPayload(errors=errors_from(exc))
        return EventPayload(errors=[], event=event)

    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()],
                         description="One action on many events from a work queue (accept, dispatch, assign, ...): "
                                     "each succeeds or fails on its own.")
    def transition_events(self, info: strawberry.Info, input: EventBulkInput) -> EventBulkPayload:
        ids = [_event_pk(global_id) for global_id in input.event_ids]
        try:
            if None in ids:
                raise ValidationError({"eventIds": ValidationError(_("Event not found."), code="not_found")})
            outcomes = services.events_transition_bulk(
                actor=viewer(info).user, event_ids=ids, action=input.action.value, note=input.note,
                assignee=_assignee(input.assignee))
        except (ValidationError, PermissionDenied) as exc:
            return EventBulkPayload(errors=errors_from(exc), results=[])
        results = [EventBulkResultType(event_id=relay.GlobalID("Event", str(event_id)), ok=not problems,
                                       errors=[error for problem in problems for error in errors_from(problem)])
                   for event_id, problems in outcomes]
        return EventBulkPayload(errors=[], results=results)


@database_sync_to_async
def _event_for(user, event_id: int) -> Event | None:
    return (selectors.events_visible_to(user)
            # (not duplicate_of: a restricted relation, read through its rule by its field)
            .select_related("category__department", "grid", "community", "street", "department", "reporter",
                            "assignee")
            .prefetch_related(_first_photos(), "photos", "history")
            .filter(pk=event_id).first())


@strawberry.type
class EventSubscription:
    @strawberry.subscription(description=(
        "Events the viewer may see as they change (my grids, my department, everything for the command centre), or "
        "one event with `eventId`. Each message carries its change-feed cursor; with `after`, first replays what "
        "was missed. Ends with `token_expired` like `changes`."
    ))
    async def event_changed(self, info: strawberry.Info, event_id: relay.GlobalID | None = None,
                            after: str | None = None) -> AsyncGenerator[EventChangeType, None]:
        who = viewer(info)
        if not who.user.is_authenticated:
            raise not_authenticated()
        only = None
        if event_id is not None:
            only = _event_pk(event_id)
            if only is None:
                raise GraphQLCodedError(_("This id is not a %(type)s id.") % {"type": "Event"}, "invalid_id")
        start = cursor_parse(after) if after is not None else None
        async for user, row in visible_changes(who, start):
            if row.object_type != "gridapp.event" or (only is not None and row.object_id != only):
                continue
            event = await _event_for(user, row.object_id)
            if event is not None:
                status = row.facts.get("status")
                yield EventChangeType(cursor=str(row.id), kind=row.kind, event=event,
                                      status=EventStatus(status) if status else None,
                                      version=row.facts.get("version"))
