"""Event categories, events, their photos, history and the people they involve."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from django.contrib.auth import get_user_model
from django.db.models import F, Prefetch
from strawberry import relay
from strawberry.scalars import JSON

from api.base.grids import watched_grids
from api.base.places import PlaceType
from api.context import viewer
from api.fields import django_type, field
from api.media import photo_url
from api.nodes import MODEL_ID
from api.restrict import PERSON_KEYS, Public, Restricted, person_shown
from core.i18n import localized
from gridapp.incidents import services
from gridapp.incidents.models import (
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

if TYPE_CHECKING:
    from api.accounts.types import DepartmentType


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


def first_photos():
    """Each event's photos as ids only, in order: what its thumbnail link needs."""
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
    department: Annotated[DepartmentType, strawberry.lazy("api.accounts.types")]
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

    @field(prefetch_related=[first_photos()], description="The first photo's thumbnail link.")
    def thumbnail_url(self, root: Event) -> str | None:
        photos = root.photo_ids if hasattr(root, "photo_ids") else list(root.photos.order_by("id")[:1])
        return photo_url(photos[0].pk, "t") if photos else None

    @field(
        only=["status", "reporter_id", "assignee_id", "department_id", "grid_id", "held_from"],
        description="What the viewer may do next (the phone's buttons); the service checks again.")
    def available_actions(self, root: Event, info: strawberry.Info) -> list[EventActionEnum]:
        user = viewer(info).user
        patrolled, supervised = watched_grids(info)
        relations = services.event_relations(user, root, patrolled=patrolled, supervised=supervised)
        return actions_open_to(relations, root.status)
