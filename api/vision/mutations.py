"""Boxing objects on a photo, and category suggestions for a photo before it is reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay
from strawberry.file_uploads import Upload

from api.base.ids import input_pk
from api.context import viewer
from api.mutations import mutation
from api.restrict import Payload
from api.vision.errors import VisionError
from api.vision.types import CategorySuggestionType, DetectedObjectType
from gridapp.incidents.models import EventPhoto
from vision.boxing import Box, photo_boxes_set
from vision.models import PhotoSuggestion
from vision.suggestions import PhotoSuggestions, photo_suggestions_or_ticket

if TYPE_CHECKING:
    from api.incidents.types import EventPhotoType


@strawberry.type(name="PhotoSuggestionPayload")
class PhotoSuggestionPayload(Payload):
    errors: list[VisionError] = strawberry.field(default_factory=list)
    suggestions: list[CategorySuggestionType] = strawberry.field(
        default_factory=list, description="Most confident first; empty when nothing suggests a category.")
    description: str = strawberry.field(default="", description="A first line for the report, in your language.")
    objects: list[DetectedObjectType] = strawberry.field(default_factory=list)
    ticket: relay.GlobalID | None = strawberry.field(
        default=None, description="Set when the detectors were too slow to wait for (the rest is empty then): "
                                  "subscribe to `photoSuggestions(ticket:)` for the answer.")

    @classmethod
    def of(cls, found: PhotoSuggestions) -> PhotoSuggestionPayload:
        return cls(suggestions=[CategorySuggestionType(category=s.category, confidence=s.confidence, objects=s.objects)
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
    errors: list[VisionError] = strawberry.field(default_factory=list)
    photo: Annotated[EventPhotoType, strawberry.lazy("api.incidents.types")] | None = None


@strawberry.type
class VisionMutation:
    @mutation(description="Box the objects on an incident's photo (department staff of the incident and the command "
                          "centre): the training data of new detectors.")
    def box_event_photo(self, info: strawberry.Info, input: PhotoBoxesInput) -> PhotoBoxesPayload:
        photo_id = input_pk(input.photo_id, "EventPhoto", field="photoId", message=_("Photo not found."))
        if any(len(item.box) != 4 for item in input.boxes):
            raise ValidationError({"boxes": ValidationError(_("A box is four numbers: x1, y1, x2, y2."),
                                                            code="invalid_box")})
        photo_boxes_set(actor=viewer(info).user, photo_id=photo_id,
                        boxes=[Box(item.label, *item.box) for item in input.boxes])
        return PhotoBoxesPayload(photo=EventPhoto.objects.get(pk=photo_id))

    # Not audited: the photo is looked at, not stored, and nothing changes.
    @mutation(audited=False,
              description="Look at a photo before reporting it: the detectors suggest categories and a "
                          "description.  The photo is not stored.  When the detectors take longer than "
                          "the server waits, the answer is a `ticket` for `photoSuggestions`.  The error "
                          "`detectors_unavailable` says that no detector is installed on the server.")
    def suggest_event_categories(self, info: strawberry.Info, photo: Upload) -> PhotoSuggestionPayload:
        found = photo_suggestions_or_ticket(upload=photo, user=viewer(info).user)
        if isinstance(found, PhotoSuggestion):
            return PhotoSuggestionPayload(ticket=relay.GlobalID("PhotoSuggestion", str(found.pk)))
        return PhotoSuggestionPayload.of(found)
