"""Turning pictures into situations and incidents.

``snapshots_process`` is the worker's whole job for a batch of pictures: inference (one call per model for the
batch), then ``snapshot_record`` per picture, which runs the camera's rules and opens, updates or ends its
situations in one transaction.  A situation opens one incident through the grid's intake service
(``gridapp.services.event_report``: located to the camera's grid, routed, numbered, or linked to an open
human report of the same category nearby), with the annotated picture as its evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from gridapp.models import EventSource, EventStatus
from gridapp.services import event_report, event_transition
from vision.detections import Detection
from vision.detector import detector_for
from vision.evidence import evidence_render
from vision.models import Camera, CameraRule, CameraStatus, FlowSample, Situation, Snapshot
from vision.registry import models_serving
from vision.rules import NEEDS, Algorithm, Verdict, evaluate
from vision.verification import camera_resolutions_confirmed, recurrence_target

log = logging.getLogger(__name__)

#: The incident category each algorithm reports (codes of gridapp.taxonomy).
ALGORITHM_CATEGORY = {
    Algorithm.CROWD: "05-08",
    Algorithm.PEOPLE_FLOW: "05-09",
    Algorithm.STREET_TRADING: "05-02",
    Algorithm.PILED_GARBAGE: "01-03",
    Algorithm.OVERFLOWING_BIN: "01-07",
    Algorithm.ILLEGAL_PARKING: "05-04",
}


@dataclass
class SnapshotOutcome:
    camera_id: int
    taken_at: datetime
    replayed: bool = False  # this camera's picture of this moment had been processed already
    detections: list[Detection] = field(default_factory=list)
    started: list[Situation] = field(default_factory=list)
    ended: list[Situation] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)  # incidents the camera confirmed resolved


@dataclass(frozen=True)
class Picture:
    """A camera's picture of a moment, decoded, ready for the detectors."""

    camera: Camera
    taken_at: datetime
    image: Image.Image


def snapshots_process(pictures: Sequence[Picture]) -> list[SnapshotOutcome]:
    """Detect objects in each picture (one inference call per model for the whole batch, only the models the
    cameras' rules need) and record each picture with ``snapshot_record``.  Pictures already recorded are
    skipped before inference.  Who may call: the vision workers (and tests)."""
    recorded = set(Snapshot.objects.filter(camera_id__in={p.camera.pk for p in pictures},
                                           taken_at__in={p.taken_at for p in pictures})
                   .values_list("camera_id", "taken_at"))
    pending = [picture for picture in pictures if (picture.camera.pk, picture.taken_at) not in recorded]
    needs = {picture.camera.pk: _classes_needed(picture.camera) for picture in pending}
    found: dict[int, list[Detection]] = {index: [] for index in range(len(pending))}
    used: dict[int, set[str]] = {index: set() for index in range(len(pending))}
    for model in models_serving(set().union(*needs.values())) if pending else []:
        indexes = [index for index, picture in enumerate(pending) if model.classes & needs[picture.camera.pk]]
        if not indexes:
            continue
        detector = detector_for(model)
        batches = detector.detect([pending[index].image for index in indexes])
        for index, detections in zip(indexes, batches, strict=True):
            found[index].extend(d for d in detections if d.label in needs[pending[index].camera.pk])
            used[index].add(detector.name)
    outcomes = {(picture.camera.pk, picture.taken_at): SnapshotOutcome(picture.camera.pk, picture.taken_at,
                                                                       replayed=True) for picture in pictures}
    for index, picture in enumerate(pending):
        outcomes[(picture.camera.pk, picture.taken_at)] = snapshot_record(
            camera=picture.camera, taken_at=picture.taken_at, image=picture.image, detections=found[index],
            models_used=", ".join(sorted(used[index])))
    return [outcomes[(picture.camera.pk, picture.taken_at)] for picture in pictures]


def _classes_needed(camera: Camera) -> set[str]:
    return set().union(*(NEEDS[rule.algorithm] for rule in camera.rules.all() if rule.enabled))


def snapshot_record(*, camera: Camera, taken_at: datetime, image: Image.Image, detections: Sequence[Detection],
                    models_used: str = "") -> SnapshotOutcome:
    """Record one camera picture and run the camera's rules over its detections, in one transaction.

    Idempotent by (camera, ``taken_at``): a picture recorded before returns ``replayed=True`` and changes
    nothing, so a redelivered task never doubles a count, a situation or an incident.  Rules outside their
    schedule skip the picture.  A situation that starts opens an incident (its evidence: the annotated
    picture) or brings back the rule's last one (``vision.verification``); one that goes on refreshes its
    evidence every ``VISION_EVIDENCE_REFRESH_SECONDS``; one that ends is closed here.  A resolved incident
    whose place the camera has shown clear long enough is verified by the system.  An incident the intake
    refuses (an inactive category, say) is logged and the situation kept without one.
    """
    outcome = SnapshotOutcome(camera.pk, taken_at, detections=list(detections))
    written: list[str] = []
    try:
        with transaction.atomic():
            camera = Camera.objects.select_for_update().select_related("record").get(pk=camera.pk)
            if Snapshot.objects.filter(camera=camera, taken_at=taken_at).exists():
                outcome.replayed = True
                return outcome
            width, height = image.size
            Snapshot.objects.create(
                camera=camera, taken_at=taken_at, width=width, height=height, models_used=models_used[:200],
                detections=[[d.label, d.confidence, *d.box] for d in detections])
            for rule in camera.rules.filter(enabled=True):
                if not _in_schedule(rule, taken_at):
                    continue
                verdict, rule.state = evaluate(rule.algorithm, detections=detections, at=taken_at, zone=rule.zone,
                                               params=rule.params, state=rule.state)
                rule.save(update_fields=["state"])
                if verdict.flow is not None:
                    FlowSample.objects.get_or_create(rule=rule, interval_start=verdict.flow.interval_start,
                                                     defaults={"count": verdict.flow.count})
                if verdict.started:
                    outcome.started.append(_situation_open(camera, rule, verdict, image, taken_at, written))
                elif verdict.active:
                    _situation_update(rule, verdict, image, taken_at, written)
                if verdict.ended and (ended := _situation_end(rule, taken_at)) is not None:
                    outcome.ended.append(ended)
            camera.last_snapshot_at = max(filter(None, (camera.last_snapshot_at, taken_at)))
            camera.last_attempt_at = max(filter(None, (camera.last_attempt_at, taken_at)))
            camera.failures = 0
            camera.last_error = ""
            camera.status = CameraStatus.ONLINE
            camera.save(update_fields=["last_snapshot_at", "last_attempt_at", "failures", "last_error", "status"])
            outcome.verified = camera_resolutions_confirmed(camera.pk, taken_at)
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    return outcome


def _in_schedule(rule: CameraRule, at: datetime) -> bool:
    if not rule.schedule:
        return True
    hour = timezone.localtime(at).hour
    return any(start <= hour < end if start <= end else (hour >= start or hour < end)
               for start, end in rule.schedule)


def _caption(camera: Camera, rule: CameraRule, verdict: Verdict) -> str:
    return f"{camera.record.external_id}  {rule.algorithm}  n={verdict.count}"


def _evidence(camera: Camera, rule: CameraRule, verdict: Verdict, image: Image.Image, at: datetime) -> bytes:
    return evidence_render(image, detections=verdict.evidence, zone=rule.zone, caption=_caption(camera, rule, verdict),
                           at=at)


def _keep_evidence(situation: Situation, picture: bytes, at: datetime, written: list[str]) -> None:
    old = situation.evidence.name
    situation.evidence_at = at
    situation.evidence.save(f"s{situation.pk}-{timezone.now():%H%M%S%f}.jpg", ContentFile(picture), save=False)
    written.append(situation.evidence.name)
    if old:
        transaction.on_commit(lambda: default_storage.delete(old))


def _situation_open(camera: Camera, rule: CameraRule, verdict: Verdict, image: Image.Image, at: datetime,
                    written: list[str]) -> Situation:
    _situation_end(rule, at)  # a situation left open by an earlier state (a reset rule) ends here
    earlier = recurrence_target(rule.situations.all(), at)
    situation = Situation.objects.create(rule=rule, camera=camera, started_at=at, last_seen_at=at, peak=verdict.count)
    picture = _evidence(camera, rule, verdict, image, at)
    _keep_evidence(situation, picture, at, written)
    record = camera.record
    finding = _("Camera %(camera)s saw: %(finding)s (%(count)d in the zone).") % {
        "camera": record.name, "finding": Algorithm(rule.algorithm).label, "count": verdict.count}
    try:
        if earlier is not None:
            situation.event = _recurred(earlier, finding, picture, at)
        else:
            situation.event = event_report(
                reporter=None, source=EventSource.CAMERA, category_code=ALGORITHM_CATEGORY[rule.algorithm],
                lng=record.lng, lat=record.lat, address=record.address, description=finding, photos=[picture],
                source_key=f"vision:situation:{situation.pk}", at=at).event
    except ValidationError as error:
        log.warning("camera %s: the %s situation opened no incident: %s", camera.pk, rule.algorithm, error)
    situation.save(update_fields=["evidence", "evidence_at", "event"])
    return situation


def _recurred(event, finding: str, picture: bytes, at: datetime):
    """The problem is back: a resolution goes back to its handler, a verified or closed incident reopens (with
    the new evidence); one still being handled just gains the situation."""
    note = _("It is back. %(finding)s") % {"finding": finding}
    if event.status == EventStatus.RESOLVED:
        return event_transition(actor=None, event_id=event.pk, action="return", note=note, photos=[picture], now=at)
    if event.status in {EventStatus.VERIFIED, EventStatus.CLOSED}:
        return event_transition(actor=None, event_id=event.pk, action="reopen", note=note, photos=[picture], now=at)
    return event


def _situation_update(rule: CameraRule, verdict: Verdict, image: Image.Image, at: datetime,
                      written: list[str]) -> None:
    situation = rule.situations.filter(ended_at__isnull=True).select_related("camera__record").first()
    if situation is None:
        return
    situation.last_seen_at = at
    situation.snapshots += 1
    situation.peak = max(situation.peak, verdict.count)
    refresh = timedelta(seconds=settings.VISION_EVIDENCE_REFRESH_SECONDS)
    if verdict.evidence and (situation.evidence_at is None or at - situation.evidence_at >= refresh):
        _keep_evidence(situation, _evidence(situation.camera, rule, verdict, image, at), at, written)
    situation.save(update_fields=["last_seen_at", "snapshots", "peak", "evidence", "evidence_at"])


def _situation_end(rule: CameraRule, at: datetime) -> Situation | None:
    situation = rule.situations.filter(ended_at__isnull=True).first()
    if situation is not None:
        situation.ended_at = at
        situation.save(update_fields=["ended_at"])
    return situation
