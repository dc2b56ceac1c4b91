"""Suggestions for a worker's photo: the installed detectors look at it, and what they see proposes incident
categories (ranked, with the detector's confidence) and a first line of description.

The mapping from objects to categories is ours (codes of ``gridapp.taxonomy``); a category is proposed only
when its objects are seen with enough confidence, and a crowd only from ``CROWD_MIN_PEOPLE`` people.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image

from gridapp.models import EventCategory
from gridapp.photos import photo_ingest
from vision.detections import STREET_TRADING, VEHICLES, Detection, ObjectClass
from vision.detector import detector_for
from vision.registry import models_serving

CROWD_MIN_PEOPLE = 3
MIN_CONFIDENCE = 0.3

#: category code -> the objects that suggest it
SUGGESTED_BY: dict[str, frozenset[str]] = {
    "05-08": frozenset({ObjectClass.PERSON}),  # crowd gathering (from CROWD_MIN_PEOPLE people)
    "05-04": frozenset(VEHICLES),  # illegally parked vehicle
    "05-05": frozenset({ObjectClass.BICYCLE}),  # bicycles parked in the way
    "05-02": frozenset(STREET_TRADING),  # business outside the shop door
    "01-03": frozenset({ObjectClass.GARBAGE}),  # piled garbage
    "01-07": frozenset({ObjectClass.OVERFLOWING_BIN}),  # overflowing bin
}


@dataclass(frozen=True)
class CategorySuggestion:
    category: EventCategory
    confidence: float
    objects: int  # how many of its objects were seen


@dataclass(frozen=True)
class PhotoSuggestions:
    suggestions: list[CategorySuggestion]
    description: str
    detections: list[Detection]


def photo_suggestions(*, upload) -> PhotoSuggestions:
    """What the installed detectors suggest for a photo (an upload or bytes; checked like a report's photo).

    Raises ``ValidationError`` with the codes of ``gridapp.photos.photo_ingest`` (``not_an_image``,
    ``file_too_large``, ...).  Without any installed model the answer is empty, not an error.
    """
    photo = photo_ingest(upload=upload)  # the same checks and EXIF stripping as a report's photo
    with Image.open(io.BytesIO(photo.display)) as decoded:
        image = decoded.convert("RGB")
    wanted = set().union(*SUGGESTED_BY.values())
    detections: list[Detection] = []
    for model in models_serving(wanted):
        [found] = detector_for(model).detect([image])
        detections.extend(d for d in found if d.label in wanted and d.confidence >= MIN_CONFIDENCE)
    return PhotoSuggestions(suggestions=_ranked(detections), description=describe(detections), detections=detections)


def _ranked(detections: list[Detection]) -> list[CategorySuggestion]:
    scored = {}
    for code, objects in SUGGESTED_BY.items():
        seen = [d for d in detections if d.label in objects]
        if not seen or (code == "05-08" and len(seen) < CROWD_MIN_PEOPLE):
            continue
        scored[code] = (max(d.confidence for d in seen), len(seen))
    categories = EventCategory.objects.filter(code__in=scored, active=True).in_bulk(field_name="code")
    ranked = [CategorySuggestion(categories[code], round(confidence, 3), count)
              for code, (confidence, count) in scored.items() if code in categories]
    return sorted(ranked, key=lambda s: (-s.confidence, s.category.code))


def describe(detections: list[Detection]) -> str:
    """One sentence in the reader's language: what was seen, most frequent first ("" when nothing)."""
    counts = Counter(d.label for d in detections)
    if not counts:
        return ""
    parts = [_("%(object)s × %(count)d") % {"object": ObjectClass(label).label, "count": count}
             for label, count in counts.most_common()]
    return _("Seen in the photo: %(objects)s.") % {"objects": ", ".join(parts)}
