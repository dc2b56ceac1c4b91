"""Cameras, their algorithms and situations, people flow, detected objects, category suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from django.db.models import Prefetch
from strawberry import relay
from strawberry.scalars import JSON

from api.base.places import PlaceType
from api.context import viewer
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Restricted, visible
from gridapp.incidents.models import Event
from vision.models import Camera, CameraRule, CameraStatus, Situation, SourceKind
from vision.registry import algorithm_readiness
from vision.rules import Algorithm

if TYPE_CHECKING:
    from api.incidents.types import EventCategoryType, EventType


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
    event: Annotated[EventType, strawberry.lazy("api.incidents.types")] | None = field(
        description="Its incident, if the viewer may see it.")

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


@strawberry.type(name="DetectedObject", description="An object a detector found; the box is normalised (0..1).")
class DetectedObjectType:
    label: str = strawberry.field(description="OneGrid's class: person, car, bus, garbage, ...")
    confidence: float
    box: list[float] = strawberry.field(description="x1, y1, x2, y2 from the top left, as fractions of the picture.")


@strawberry.type(name="CategorySuggestion")
class CategorySuggestionType:
    category: Annotated[EventCategoryType, strawberry.lazy("api.incidents.types")]
    confidence: float = strawberry.field(description="The detector's confidence in the objects behind it (0..1).")
    objects: int = strawberry.field(description="How many such objects were seen.")
