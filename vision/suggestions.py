"""Suggestions for a worker's photo: the installed detectors look at it, and what they see proposes incident
categories (ranked, with the detector's confidence) and a first line of description.

The mapping from objects to categories is ours (codes of ``gridapp.incidents.taxonomy``); a category is proposed only
when its objects are seen with enough confidence, and a crowd only from ``CROWD_MIN_PEOPLE`` people.  Enough is
per model and class, measured on labelled pictures (``vision.calibration``): a class the model is known to
confuse at every confidence where it finds real ones proposes nothing.  The description names only the objects
behind the proposals, so it claims nothing the suggestions do not.

The app waits ``VISION_SUGGEST_WAIT_SECONDS`` at most (``photo_suggestions_or_ticket``).  Slower detection (a
process whose models are still loading, a busy machine) goes on in the background and the answer is a
``PhotoSuggestion`` ticket; when the detectors are done its row is filled in and a change addressed to the
user wakes the subscription ``photoSuggestions``, in whichever server process it runs.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from core.audiences import scope
from core.feed import change_record
from gridapp.incidents.models import EventCategory
from gridapp.incidents.photos import photo_ingest
from vision.backends import siblings
from vision.calibration import class_thresholds
from vision.detections import STREET_TRADING, VEHICLES, Detection, ObjectClass
from vision.detector import detector_for
from vision.models import DetectorModel, PhotoSuggestion
from vision.registry import models_serving

log = logging.getLogger(__name__)

CROWD_MIN_PEOPLE = 3
MIN_CONFIDENCE = 0.3  # for a model never calibrated (vision/thresholds.json)

#: category code -> the objects that suggest it
SUGGESTED_BY: dict[str, frozenset[str]] = {
    "05-08": frozenset({ObjectClass.PERSON}),  # crowd gathering (from CROWD_MIN_PEOPLE people)
    "05-04": frozenset(VEHICLES),  # illegally parked vehicle
    "05-05": frozenset({ObjectClass.BICYCLE}),  # bicycles parked in the way
    "05-02": frozenset(STREET_TRADING),  # business outside the shop door
    "01-03": frozenset({ObjectClass.GARBAGE}),  # piled garbage
    "01-07": frozenset({ObjectClass.OVERFLOWING_BIN}),  # overflowing bin
}
WANTED = frozenset().union(*SUGGESTED_BY.values())


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


def photo_suggestions_or_ticket(*, upload, user, wait: float | None = None) -> PhotoSuggestions | PhotoSuggestion:
    """What the installed detectors suggest for a photo (an upload or bytes; checked like a report's photo) if
    they answer within ``wait`` seconds (``VISION_SUGGEST_WAIT_SECONDS``), else a ticket for ``user``: the
    subscription ``photoSuggestions`` delivers the answer.

    Raises ``ValidationError`` at once: ``detectors_unavailable`` when no installed detector serves any class
    that suggests a category (an empty answer would pass for "nothing there"); for a bad photo, the codes of
    ``gridapp.incidents.photos.photo_ingest`` (``not_an_image``, ``file_too_large``, ...); ``busy`` when
    ``VISION_SUGGEST_QUEUE`` photos wait already; ``detectors_failed`` when the detectors fail while the caller
    waits.
    """
    wait = settings.VISION_SUGGEST_WAIT_SECONDS if wait is None else wait
    models = _models()
    if not models:
        raise ValidationError(_("Photo suggestions are unavailable: no detector is installed on this server. "
                                "Report without them; an administrator can install the detectors."),
                              code="detectors_unavailable")
    job = _Job(_photo_image(upload), models)
    with _queue_lock:  # a flood of photos must not pile up pictures in memory behind the detectors
        global _queued
        if _queued >= settings.VISION_SUGGEST_QUEUE:
            raise ValidationError(_("The detectors are busy; send the photo again in a moment."), code="busy")
        _queued += 1
    _executor().submit(job.run)
    if job.finished.wait(wait):
        if job.failure is not None:
            raise ValidationError(_("The detectors failed on this photo."), code="detectors_failed") from job.failure
        return suggestions_from(job.detections)
    now = timezone.now()
    PhotoSuggestion.objects.filter(created_at__lt=now - timedelta(seconds=settings.VISION_SUGGEST_KEEP_SECONDS)).delete()
    ticket = PhotoSuggestion.objects.create(user=user, created_at=now)
    transaction.on_commit(lambda: job.deliver_to(ticket))  # the background thread must find the row
    return ticket


def suggestions_from(detections: list[Detection]) -> PhotoSuggestions:
    """The ranked categories and the description (in the reader's language: the objects behind them) for these
    detections."""
    ranked = _ranked(detections)
    behind = set().union(*(SUGGESTED_BY[s.category.code] for s in ranked))
    return PhotoSuggestions(suggestions=ranked, description=describe([d for d in detections if d.label in behind]),
                            detections=detections)


def _photo_image(upload) -> Image.Image:
    photo = photo_ingest(upload=upload)  # the same checks and EXIF stripping as a report's photo
    with Image.open(io.BytesIO(photo.display)) as decoded:
        return decoded.convert("RGB")


def _models() -> list[tuple[DetectorModel, list[DetectorModel], dict]]:
    """The models serving the classes that suggest categories, each with its registrations and each class's
    least confidence (None: never trusted), read here so that the detection thread needs no database."""
    serving = []
    for model in models_serving(WANTED):
        registrations = siblings(model)
        calibrated = class_thresholds(model, registrations)
        serving.append((model, registrations, {label: MIN_CONFIDENCE if calibrated is None else calibrated.get(label)
                                               for label in model.classes & WANTED}))
    return serving


def _detect(image: Image.Image, models: list[tuple[DetectorModel, list[DetectorModel], dict]]) -> list[Detection]:
    detections: list[Detection] = []
    for model, candidates, least in models:
        [found] = detector_for(model, candidates).detect([image], confidence=min(
            [value for value in least.values() if value is not None], default=MIN_CONFIDENCE))
        detections.extend(d for d in found if least.get(d.label) is not None and d.confidence >= least[d.label])
    return detections


@functools.cache
def _executor() -> ThreadPoolExecutor:
    """The process's detection thread for photos (one: the detectors run one picture at a time anyway)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="photo-suggestions")


_queue_lock = threading.Lock()
_queued = 0  # photos waiting for or in the detection thread


class _Job:
    """One photo's detection on the background thread, and where its answer goes once the app stopped waiting."""

    def __init__(self, image: Image.Image, models):
        self.image, self.models = image, models
        self.finished = threading.Event()
        self.detections: list[Detection] = []
        self.failure: Exception | None = None
        self.ticket: PhotoSuggestion | None = None
        self.lock = threading.Lock()

    def run(self) -> None:
        global _queued
        try:
            self.detections = _detect(self.image, self.models)
        except Exception as error:  # reported to the waiting request, or on the ticket
            log.exception("detecting objects in a photo failed")
            self.failure = error
        finally:
            self.image = None
            with _queue_lock:
                _queued -= 1
        with self.lock:
            self.finished.set()
            ticket = self.ticket
        if ticket is not None:
            try:
                self._store(ticket)
            except Exception:  # the subscriber then gets suggestions_timeout
                log.exception("storing the suggestions of ticket %s failed", ticket.pk)
            finally:
                connection.close()  # this thread's own connection

    def deliver_to(self, ticket: PhotoSuggestion) -> None:
        """Called once the ticket is committed: store the answer now if it is there, else when it comes."""
        with self.lock:
            if not self.finished.is_set():
                self.ticket = ticket
                return
        self._store(ticket)

    def _store(self, ticket: PhotoSuggestion) -> None:
        with transaction.atomic():
            PhotoSuggestion.objects.filter(pk=ticket.pk).update(
                done_at=timezone.now(), failed=self.failure is not None,
                detections=[[d.label, d.confidence, *d.box] for d in self.detections])
            change_record(kind="photo_suggestion.ready", obj=ticket, to=[scope("user", ticket.user_id)])


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
