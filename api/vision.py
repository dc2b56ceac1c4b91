"""Cameras and AI in the API: the cameras a viewer may see (their algorithms, whether the installed models can
run them and which model serves each, ongoing situations, people-flow series), and category suggestions for a
worker's photo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from datetime import datetime

import strawberry
import strawberry_django
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from api.context import viewer
from api.errors import GraphQLCodedError, MutationError, errors_from, not_authenticated
from api.events import EventCategoryType, EventPhotoType, EventType
from api.extensions import AuditMutation
from api.feed import visible_changes
from api.fields import django_type, field
from api.grid import PlaceType, pk_of
from api.nodes import MODEL_ID, is_pk
from api.paging import CursorConnection
from api.permissions import IsAuthenticated
from api.restrict import Payload, Restricted, visible
from api.watcher import watcher
from gridapp.incidents.models import Event, EventPhoto
from vision.boxing import Box, photo_boxes_set
from vision.detections import Detection
from vision.models import Camera, CameraRule, CameraStatus, PhotoSuggestion, Situation, SourceKind
from vision.registry import algorithm_readiness
from vision.rules import Algorithm
from vision.selectors import MAX_FLOW_HOURS, camera_flow, cameras_visible_to
from vision.suggestions import PhotoSuggestions, photo_suggestions_or_ticket, suggestions_from

CameraStatusEnum = strawberry.enum(CameraStatus, name="CameraStatus")
SourceKindEnum = strawberry.enum(SourceKind, name="CameraSourceKind")
AlgorithmEnum = strawberry.enum(Algorithm, name="Algorithm")


@strawberry.type(name="FlowPoint", description="People counted by a flow rule over one interval.")
class FlowPointType:
    interval_start: datetime
    count: int


@django_type(Situation, name="Situation", description="An ongoing (or past) condition a camera rule found.")
class SituationType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    peak: int = field(description="The highest count seen.")
    snapshots: int
    event: EventType | None = field(description="Its incident, if the viewer may see it.")

    @field(only=["rule_id"], select_related=["rule"])
    def algorithm(self, root: Situation) -> AlgorithmEnum:
        return Algorithm(root.rule.algorithm)


@strawberry.type(name="CameraAlgorithm", description="One algorithm a camera runs, and whether it can run.")
class CameraAlgorithmType:
    algorithm: AlgorithmEnum
    enabled: bool
    ready: bool = strawberry.field(description="An installed model detects what it needs.")
    models: list[str] = strawberry.field(description="The models that serve it, e.g. `person v1`.")
    missing: list[str] = strawberry.field(description="What it needs that no installed model detects.")
    zone: JSON = strawberry.field(description="The polygon it watches, normalised [[x, y], ...]; [] is all.")
    params: JSON = strawberry.field(description="Its thresholds as set (defaults apply to the rest).")


@django_type(Camera, name="Camera", description="A catalogued camera sampled by the AI.")
class CameraType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    source_kind: SourceKindEnum
    interval_seconds: int
    enabled: bool
    status: CameraStatusEnum
    failures: int = field(description="Failed snapshots in a row.")
    last_snapshot_at: datetime | None

    @field(select_related=["record"], only=["record__external_id"])
    def code(self, root: Camera) -> str:
        return root.record.external_id

    @field(select_related=["record"], only=["record__name"])
    def name(self, root: Camera) -> str:
        return root.record.name

    @field(select_related=["record"], only=["record__lng", "record__lat"],
           description="WGS-84 [longitude, latitude].")
    def position(self, root: Camera) -> list[float]:
        return [root.record.lng, root.record.lat]

    @field(select_related=["record__grid"], only=["record__grid__code", "record__grid__name"])
    def grid(self, root: Camera) -> PlaceType:
        grid = root.record.grid
        return PlaceType(id=relay.GlobalID("Grid", str(grid.pk)), code=grid.code, name=grid.name)

    @field(prefetch_related=[Prefetch("rules", queryset=CameraRule.objects.order_by("id"), to_attr="rule_list")])
    def algorithms(self, root: Camera) -> list[CameraAlgorithmType]:
        rules = root.rule_list if hasattr(root, "rule_list") else list(root.rules.order_by("id"))
        readiness = {found.algorithm: found for found in algorithm_readiness({rule.algorithm for rule in rules})}
        return [CameraAlgorithmType(algorithm=Algorithm(rule.algorithm), enabled=rule.enabled,
                                    ready=found.ready, models=list(found.models), missing=list(found.missing),
                                    zone=rule.zone, params=rule.params)
                for rule in rules for found in [readiness[rule.algorithm]]]

    @field(prefetch_related=[lambda info: Prefetch(
        "situations", to_attr="open_situation_list",
        # each situation's rule and incident in one query per list, the incident through its own rule
        queryset=Situation.objects.filter(ended_at__isnull=True).select_related("rule").prefetch_related(
            Prefetch("event", queryset=visible(Event, viewer(info).user))).order_by("-started_at"))],
           description="What its rules see now.")
    def open_situations(self, root: Camera) -> list[SituationType]:
        if hasattr(root, "open_situation_list"):
            return root.open_situation_list
        return list(root.situations.filter(ended_at__isnull=True).order_by("-started_at"))


@strawberry.input(description="Narrow the camera list; every field is optional.")
class CameraFilter:
    status: CameraStatusEnum | None = None
    grid_id: relay.GlobalID | None = None
    algorithm: AlgorithmEnum | None = None
    situation: bool | None = strawberry.field(default=None, description="Only cameras that see something now.")


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
                cameras = cameras.filter(record__grid_id=pk_of(filter.grid_id, "Grid"))
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
        camera = cameras_visible_to(viewer(info).user).filter(pk=pk_of(camera_id, "Camera")).first()
        try:
            series = camera_flow(camera, hours=hours)
        except ValueError:
            raise GraphQLCodedError(_("hours must be 1 to %(max)d.") % {"max": MAX_FLOW_HOURS},
                                    "invalid_range") from None
        return [FlowPointType(interval_start=start, count=count) for start, count in series.points]


@strawberry.type(name="DetectedObject", description="An object a detector found; the box is normalised (0..1).")
class DetectedObjectType:
    label: str = strawberry.field(description="OneGrid's class: person, car, bus, garbage, ...")
    confidence: float
    box: list[float] = strawberry.field(description="x1, y1, x2, y2 from the top left, as fractions of the picture.")


@strawberry.type(name="CategorySuggestion")
class CategorySuggestionType:
    category: EventCategoryType
    confidence: float = strawberry.field(description="The detector's confidence in the objects behind it (0..1).")
    objects: int = strawberry.field(description="How many such objects were seen.")


@strawberry.type(name="PhotoSuggestionPayload")
class PhotoSuggestionPayload(Payload):
    errors: list[MutationError]
    suggestions: list[CategorySuggestionType] = strawberry.field(
        default_factory=list, description="Most confident first; empty when nothing suggests a category.")
    description: str = strawberry.field(default="", description="A first line for the report, in your language.")
    objects: list[DetectedObjectType] = strawberry.field(default_factory=list)
    ticket: relay.GlobalID | None = strawberry.field(
        default=None, description="Set when the detectors were too slow to wait for (the rest is empty then): "
                                  "subscribe to `photoSuggestions(ticket:)` for the answer.")

    @classmethod
    def of(cls, found: PhotoSuggestions) -> PhotoSuggestionPayload:
        return cls(errors=[],
                   suggestions=[CategorySuggestionType(category=s.category, confidence=s.confidence, objects=s.objects)
                                for s in found.suggestions],
                   description=found.description,
                   objects=[DetectedObjectType(label=d.label, confidence=d.confidence, box=list(d.box))
                            for d in found.detections])


@strawberry.input
class BoxInput:
    label: str = strawberry.field(description="OneGrid's class: garbage, bin, overflowing_bin, stall, ...")
    box: list[float] = strawberry.field(description="x1, y1, x2, y2 from the top left, as fractions (0..1).")


@strawberry.input
class PhotoBoxesInput:
    photo_id: relay.GlobalID
    boxes: list[BoxInput] = strawberry.field(description="All the photo's boxes: they replace what it had.")


@strawberry.type
class PhotoBoxesPayload(Payload):
    errors: list[MutationError]
    photo: EventPhotoType | None = None


@strawberry.type
class VisionMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated], extensions=[AuditMutation()],
                         description="Box the objects on an incident's photo (department staff of the incident and "
                                     "the command centre): the training data of new detectors.")
    def box_event_photo(self, info: strawberry.Info, input: PhotoBoxesInput) -> PhotoBoxesPayload:
        try:
            if input.photo_id.type_name != "EventPhoto" or not is_pk(input.photo_id.node_id):
                raise ValidationError({"photoId": ValidationError(_("Photo not found."), code="not_found")})
            if any(len(item.box) != 4 for item in input.boxes):
                raise ValidationError({"boxes": ValidationError(_("A box is four numbers: x1, y1, x2, y2."),
                                                                code="invalid_box")})
            photo_id = int(input.photo_id.node_id)
            photo_boxes_set(actor=viewer(info).user, photo_id=photo_id,
                            boxes=[Box(item.label, *item.box) for item in input.boxes])
        except (ValidationError, PermissionDenied) as exc:
            return PhotoBoxesPayload(errors=errors_from(exc))
        return PhotoBoxesPayload(errors=[], photo=EventPhoto.objects.get(pk=photo_id))

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Look at a photo before reporting it: the detectors suggest categories and a "
                                     "description.  The photo is not stored.  When the detectors take longer than "
                                     "the server waits, the answer is a `ticket` for `photoSuggestions`.  The error "
                                     "`detectors_unavailable` says that no detector is installed on the server.")
    def suggest_event_categories(self, info: strawberry.Info, photo: Upload) -> PhotoSuggestionPayload:
        try:
            found = photo_suggestions_or_ticket(upload=photo, user=viewer(info).user)
        except ValidationError as exc:
            return PhotoSuggestionPayload(errors=errors_from(exc))
        if isinstance(found, PhotoSuggestion):
            return PhotoSuggestionPayload(errors=[], ticket=relay.GlobalID("PhotoSuggestion", str(found.pk)))
        return PhotoSuggestionPayload.of(found)


@strawberry.type
class VisionSubscription:
    @strawberry.subscription(description=(
        "The suggestions for a photo that `suggestEventCategories` answered with a ticket: one message when the "
        "detectors are done (at once if they are already), then the subscription ends.  Only the user who sent "
        "the photo may subscribe.  After a minute without an answer, a message with the error "
        "`suggestions_timeout`; `detectors_failed` when the detectors failed on the photo."
    ))
    async def photo_suggestions(self, info: strawberry.Info,
                                ticket: relay.GlobalID) -> AsyncGenerator[PhotoSuggestionPayload, None]:
        who = viewer(info)
        if not who.user.is_authenticated:
            raise not_authenticated()
        await watcher.ensure_started()
        start = watcher.latest  # before reading the ticket: a change after this is not missed
        pk = int(ticket.node_id) if ticket.type_name == "PhotoSuggestion" and is_pk(ticket.node_id) else None
        found = await _ticket_for(who.user, pk)
        if found is None:
            raise GraphQLCodedError(_("No such suggestion ticket (it may have expired)."), "not_found")
        if found.done_at is None:
            try:
                async with asyncio.timeout(SUGGESTION_TIMEOUT_SECONDS):
                    async for _user, change in visible_changes(who, start):
                        if change.object_type == "vision.photosuggestion" and change.object_id == found.pk:
                            break
            except TimeoutError:
                pass
            found = await _ticket_for(who.user, pk)
        yield await _ticket_payload(found)


#: How long `photoSuggestions` waits for the detectors (a process that died with the job never answers).
SUGGESTION_TIMEOUT_SECONDS = 60


@database_sync_to_async
def _ticket_for(user, pk: int | None) -> PhotoSuggestion | None:
    return PhotoSuggestion.objects.filter(pk=pk, user=user).first() if pk is not None else None


@database_sync_to_async
def _ticket_payload(ticket: PhotoSuggestion | None) -> PhotoSuggestionPayload:
    if ticket is None or ticket.done_at is None:
        return PhotoSuggestionPayload(errors=[MutationError(
            code="suggestions_timeout", message=_("The detectors did not answer in time; try the photo again."))])
    if ticket.failed:
        return PhotoSuggestionPayload(errors=[MutationError(
            code="detectors_failed", message=_("The detectors failed on this photo."))])
    return PhotoSuggestionPayload.of(suggestions_from([Detection(label, confidence, tuple(box))
                                                       for label, confidence, *box in ticket.detections]))
