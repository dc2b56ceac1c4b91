"""Cameras and AI in the API: category suggestions for a worker's photo."""

from __future__ import annotations

import strawberry
from django.core.exceptions import ValidationError
from strawberry.file_uploads import Upload

from api.errors import MutationError, errors_from
from api.events import EventCategoryType
from api.permissions import IsAuthenticated
from vision.suggestions import photo_suggestions


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
class PhotoSuggestionPayload:
    errors: list[MutationError]
    suggestions: list[CategorySuggestionType] = strawberry.field(
        default_factory=list, description="Most confident first; empty when nothing suggests a category.")
    description: str = strawberry.field(default="", description="A first line for the report, in your language.")
    objects: list[DetectedObjectType] = strawberry.field(default_factory=list)


@strawberry.type
class VisionMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Look at a photo before reporting it: the detectors suggest categories and a "
                                     "description.  Nothing is stored.")
    def suggest_event_categories(self, photo: Upload) -> PhotoSuggestionPayload:
        try:
            found = photo_suggestions(upload=photo)
        except ValidationError as exc:
            return PhotoSuggestionPayload(errors=errors_from(exc))
        return PhotoSuggestionPayload(
            errors=[],
            suggestions=[CategorySuggestionType(category=s.category, confidence=s.confidence, objects=s.objects)
                         for s in found.suggestions],
            description=found.description,
            objects=[DetectedObjectType(label=d.label, confidence=d.confidence, box=list(d.box))
                     for d in found.detections])
