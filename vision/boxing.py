"""Staff boxing the objects on incidents' photos: the labelled data ``export_training_data`` turns into a
training set."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridapp.incidents.models import EventPhoto
from gridapp.incidents.selectors import events_visible_to
from gridapp.incidents.services import event_relations
from gridapp.incidents.workflow import Relation
from vision.detections import ObjectClass
from vision.models import PhotoBox

MAX_BOXES = 100
#: Who may box: the staff of the department handling the incident and the command centre.
BOXERS = frozenset({Relation.DEPARTMENT, Relation.COMMAND_CENTRE})


@dataclass(frozen=True)
class Box:
    label: str
    x1: float
    y1: float
    x2: float
    y2: float


def photo_boxes_set(*, actor, photo_id: int, boxes: Sequence[Box]) -> list[PhotoBox]:
    """Replace the boxes on one incident photo (an empty list clears them).

    Who may call: department staff of the incident's department and the command centre.  Raises
    ``ValidationError`` with code ``not_found`` (also for a photo of an incident the actor may not see),
    ``unknown_object``, ``invalid_box`` (outside 0..1 or empty) or ``too_many_boxes``; ``PermissionDenied``
    for anyone else who may see the incident.
    """
    photo = (EventPhoto.objects.select_related("event")
             .filter(pk=photo_id, event__in=events_visible_to(actor)).first())
    if photo is None:
        raise ValidationError({"photoId": ValidationError(_("Photo not found."), code="not_found")})
    if not BOXERS & event_relations(actor, photo.event):
        raise PermissionDenied(_("Only the department handling the incident and the command centre box photos."))
    if len(boxes) > MAX_BOXES:
        raise ValidationError({"boxes": ValidationError(
            _("At most %(count)d boxes per photo.") % {"count": MAX_BOXES}, code="too_many_boxes")})
    for index, box in enumerate(boxes, start=1):
        if box.label not in ObjectClass.values:
            raise ValidationError({"boxes": ValidationError(
                _("Box %(n)d: unknown object %(label)s.") % {"n": index, "label": box.label}, code="unknown_object")})
        corners = (box.x1, box.y1, box.x2, box.y2)
        if not (all(math.isfinite(v) and 0 <= v <= 1 for v in corners) and box.x1 < box.x2 and box.y1 < box.y2):
            raise ValidationError({"boxes": ValidationError(
                _("Box %(n)d: corners are fractions of the picture from its top left, 0 to 1, the second below and "
                  "right of the first.") % {"n": index}, code="invalid_box")})
    with transaction.atomic():
        PhotoBox.objects.filter(photo=photo).delete()
        return PhotoBox.objects.bulk_create(
            PhotoBox(photo=photo, label=box.label, x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2, boxed_by=actor)
            for box in boxes)
