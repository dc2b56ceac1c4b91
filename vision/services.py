"""Turning pictures into situations and incidents.

A batch of pictures goes through ``pictures_detect`` (inference, one call per model for the batch) and
``snapshots_record``, which runs the cameras' rules and opens, updates or ends their situations, the batch in
one transaction of a few statements; ``snapshots_process`` does both.  A situation opens one incident through the grid's intake service
(``gridapp.incidents.services.event_report``: located to the camera's grid, routed, numbered, or linked to an open
human report of the same category nearby), with the annotated picture as its evidence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import rows_update
from gridapp.incidents.models import EventSource, EventStatus
from gridapp.incidents.services import event_report, event_transition
from vision.detections import Detection
from vision.detector import detector_for
from vision.evidence import evidence_render
from vision.frames import Frame, frame_size
from vision.models import Camera, CameraRule, CameraStatus, FlowSample, Situation, Snapshot
from vision.registry import DETECTORS_HINT, models_serving
from vision.rules import NEEDS, Algorithm, Verdict, evaluate
from vision.situations import situation_told as _situation_told
from vision.verification import camera_resolutions_confirmed, recurrence_target

log = logging.getLogger(__name__)

#: The incident category each algorithm reports (codes of gridapp.incidents.taxonomy).
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
    failed: bool = False  # it could not be recorded (logged); the camera is sampled again at its next slot
    detections: list[Detection] = field(default_factory=list)
    started: list[Situation] = field(default_factory=list)
    ended: list[Situation] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)  # incidents the camera confirmed resolved


@dataclass(frozen=True)
class Picture:
    """A camera's picture of a moment, decoded (``vision.frames``: BGR pixels, or a PIL image), ready for the
    detectors."""

    camera: Camera
    taken_at: datetime
    image: Frame


def snapshots_process(pictures: Sequence[Picture]) -> list[SnapshotOutcome]:
    """Detect objects in each picture with ``pictures_detect`` and record the batch with ``snapshots_record``;
    pictures already recorded are skipped before inference.  Who may call: the vision workers (and tests)."""
    recorded = snapshots_recorded((picture.camera.pk, picture.taken_at) for picture in pictures)
    pending = [picture for picture in pictures if (picture.camera.pk, picture.taken_at) not in recorded]
    outcomes = {(picture.camera.pk, picture.taken_at): SnapshotOutcome(picture.camera.pk, picture.taken_at,
                                                                       replayed=True) for picture in pictures}
    for outcome in snapshots_record(pictures_detect(pending)):
        outcomes[(outcome.camera_id, outcome.taken_at)] = outcome
    return [outcomes[(picture.camera.pk, picture.taken_at)] for picture in pictures]


def snapshots_recorded(keys: Iterable[tuple[int, datetime]]) -> set[tuple[int, datetime]]:
    """Which of these (camera id, moment) pictures are recorded already (one query)."""
    keys = set(keys)
    if not keys:
        return set()
    rows = Snapshot.objects.filter(camera_id__in={pk for pk, _at in keys}, taken_at__in={at for _pk, at in keys})
    return set(rows.values_list("camera_id", "taken_at")) & keys


def pictures_detect(pictures: Sequence[Picture]) -> list[Seen]:
    """What the detectors see in each picture: one inference call per model for all of them, only the models
    (and the classes) the cameras' rules need; ``Seen.unserved`` names the classes needed that no installed
    model detects (the rules that need only those are skipped when recorded)."""
    needs = {picture.camera.pk: _classes_needed(picture.camera) for picture in pictures}
    found: list[list[Detection]] = [[] for _picture in pictures]
    used: list[set[str]] = [set() for _picture in pictures]
    serving = models_serving(set().union(*needs.values())) if pictures else []
    served = set().union(*(model.classes for model in serving))
    for model in serving:
        indexes = [index for index, picture in enumerate(pictures) if model.classes & needs[picture.camera.pk]]
        if not indexes:
            continue
        detector = detector_for(model)
        batches = detector.detect([pictures[index].image for index in indexes])
        for index, detections in zip(indexes, batches, strict=True):
            found[index].extend(d for d in detections if d.label in needs[pictures[index].camera.pk])
            used[index].add(detector.name)
    return [Seen(picture, found[index], ", ".join(sorted(used[index])), frozenset(needs[picture.camera.pk] - served))
            for index, picture in enumerate(pictures)]


def _classes_needed(camera: Camera) -> set[str]:
    return set().union(*(NEEDS[rule.algorithm] for rule in camera.rules.all() if rule.enabled))


@dataclass(frozen=True)
class Seen:
    """A picture and what the detectors found in it (only the classes its camera's rules need)."""

    picture: Picture
    detections: Sequence[Detection]
    models_used: str = ""
    unserved: frozenset[str] = frozenset()  # classes its rules need that no installed model detects


def snapshots_record(batch: Sequence[Seen]) -> list[SnapshotOutcome]:
    """Record pictures and run their cameras' rules over the detections: the whole batch in one transaction,
    with a handful of statements however large it is (so the database costs a picture little beside the
    inference: `bench/vision.py` times the task against bare inference).  Should anything in it fail, each
    picture is recorded again in its own transaction, so that a bad picture costs only itself: its failure is
    logged and its outcome left out.

    Idempotent by (camera, ``taken_at``): a picture recorded before returns ``replayed=True`` and changes
    nothing, so a redelivered task never doubles a count, a situation or an incident.  Rules outside their
    schedule skip the picture.  A situation that starts opens an incident (its evidence: the annotated
    picture) or brings back the rule's last one (``vision.verification``); one that goes on refreshes its
    evidence every ``VISION_EVIDENCE_REFRESH_SECONDS``; one that ends is closed here.  A resolved incident
    whose place the camera has shown clear long enough is verified by the system.  An incident the intake
    refuses (an inactive category, say) is logged and the situation kept without one.
    """
    if not batch:
        return []
    try:
        return _record(batch)
    except Exception:
        if len(batch) == 1:
            raise
        log.warning("recording %d snapshots together failed: recording them one by one", len(batch), exc_info=True)
    outcomes = []
    for seen in batch:
        try:
            outcomes.extend(_record([seen]))
        except Exception:
            log.exception("camera %s: the snapshot of %s could not be recorded", seen.picture.camera.pk,
                          seen.picture.taken_at)
            outcomes.append(SnapshotOutcome(seen.picture.camera.pk, seen.picture.taken_at, failed=True))
    return outcomes


def _record(batch: Sequence[Seen]) -> list[SnapshotOutcome]:
    written: list[str] = []  # evidence files, deleted if the transaction fails
    try:
        with transaction.atomic():
            return _Recording(batch, written).run()
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise


class _Recording:
    """One transaction's worth of pictures: the cameras locked, their rules and open situations read once;
    the new rows and changed states written in bulk at the end."""

    def __init__(self, batch: Sequence[Seen], written: list[str]):
        self.batch = batch
        self.written = written
        ids = {seen.picture.camera.pk for seen in batch}
        # The record (name, place) is read only when a situation opens or draws its evidence.
        self.cameras = Camera.objects.select_for_update().order_by("pk").in_bulk(ids)
        self.rules: dict[int, list[CameraRule]] = {pk: [] for pk in ids}
        for rule in CameraRule.objects.filter(camera_id__in=ids, enabled=True).order_by("pk"):
            rule.camera = self.cameras[rule.camera_id]
            self.rules[rule.camera_id].append(rule)
        self.open: dict[int, Situation] = {}
        for situation in Situation.objects.filter(camera_id__in=ids, ended_at__isnull=True).order_by("started_at"):
            situation.camera = self.cameras[situation.camera_id]
            self.open[situation.rule_id] = situation
        self.recorded = snapshots_recorded((seen.picture.camera.pk, seen.picture.taken_at) for seen in batch)
        self.snapshots: list[Snapshot] = []
        self.flows: dict[tuple[int, datetime], FlowSample] = {}
        self.updated: dict[int, Situation] = {}  # situations that went on, saved together at the end
        self.latest: dict[int, datetime] = {}  # camera -> its latest picture here

    def run(self) -> list[SnapshotOutcome]:
        outcomes: list[SnapshotOutcome] = [None] * len(self.batch)  # in the batch's order, run in time order
        for index in sorted(range(len(self.batch)), key=lambda index: self.batch[index].picture.taken_at):
            outcomes[index] = self.picture(self.batch[index])
        Snapshot.objects.bulk_create(self.snapshots)
        rows_update([rule for rules in self.rules.values() for rule in rules], ["state"])
        FlowSample.objects.bulk_create(self.flows.values(), ignore_conflicts=True)  # the first count stands
        rows_update(list(self.updated.values()), ["last_seen_at", "snapshots", "peak", "evidence", "evidence_at"])
        cameras = [self.cameras[pk] for pk in self.latest]
        for camera in cameras:
            camera.failures, camera.last_error, camera.status = 0, "", CameraStatus.ONLINE
        rows_update(cameras, ["last_snapshot_at", "last_attempt_at", "failures", "last_error", "status"])
        verified = camera_resolutions_confirmed(self.latest)
        for outcome in outcomes:
            if not outcome.replayed and outcome.taken_at == self.latest[outcome.camera_id]:
                outcome.verified = verified.get(outcome.camera_id, [])
        return outcomes

    def picture(self, seen: Seen) -> SnapshotOutcome:
        picture, detections = seen.picture, list(seen.detections)
        camera, at = self.cameras.get(picture.camera.pk), picture.taken_at
        outcome = SnapshotOutcome(picture.camera.pk, at, detections=detections)
        if camera is None or (camera.pk, at) in self.recorded:  # a deleted camera; a picture recorded before
            outcome.replayed = True
            return outcome
        self.recorded.add((camera.pk, at))
        width, height = frame_size(picture.image)
        self.snapshots.append(Snapshot(camera=camera, taken_at=at, width=width, height=height,
                                       models_used=seen.models_used[:200],
                                       detections=[[d.label, d.confidence, *d.box] for d in detections]))
        for rule in self.rules[camera.pk]:
            if not _in_schedule(rule, at):
                continue
            if NEEDS[rule.algorithm] <= seen.unserved:
                # No detector looked for what it counts: zero people would be recorded as if nobody were there.
                _blind_rule_warn(rule, seen.unserved)
                continue
            verdict, rule.state = evaluate(rule.algorithm, detections=detections, at=at, zone=rule.zone,
                                           params=rule.params, state=rule.state)
            if verdict.flow is not None:
                self.flows.setdefault((rule.pk, verdict.flow.interval_start), FlowSample(
                    rule=rule, interval_start=verdict.flow.interval_start, count=verdict.flow.count))
            if verdict.started:
                outcome.started.append(self.situation_open(rule, verdict, picture.image, at))
            elif verdict.active:
                self.situation_update(rule, verdict, picture.image, at)
            if verdict.ended and (ended := self.situation_end(rule, at)) is not None:
                outcome.ended.append(ended)
        camera.last_snapshot_at = max(filter(None, (camera.last_snapshot_at, at)))
        camera.last_attempt_at = max(filter(None, (camera.last_attempt_at, at)))
        self.latest[camera.pk] = max(at, self.latest.get(camera.pk, at))
        return outcome

    def situation_open(self, rule: CameraRule, verdict: Verdict, image: Frame, at: datetime) -> Situation:
        self.situation_end(rule, at)  # a situation left open by an earlier state (a reset rule) ends here
        camera = rule.camera
        earlier = recurrence_target(rule.situations.all(), at)
        situation = Situation.objects.create(rule=rule, camera=camera, started_at=at, last_seen_at=at,
                                             peak=verdict.count)
        picture = _evidence(camera, rule, verdict, image, at)
        self.evidence_keep(situation, picture, at)
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
        self.open[rule.pk] = situation
        _situation_told(situation, "situation.opened")
        return situation

    def situation_update(self, rule: CameraRule, verdict: Verdict, image: Frame, at: datetime) -> None:
        situation = self.open.get(rule.pk)
        if situation is None:
            return
        situation.last_seen_at = at
        situation.snapshots += 1
        situation.peak = max(situation.peak, verdict.count)
        refresh = timedelta(seconds=settings.VISION_EVIDENCE_REFRESH_SECONDS)
        if verdict.evidence and (situation.evidence_at is None or at - situation.evidence_at >= refresh):
            self.evidence_keep(situation, _evidence(rule.camera, rule, verdict, image, at), at)
        self.updated[situation.pk] = situation

    def situation_end(self, rule: CameraRule, at: datetime) -> Situation | None:
        situation = self.open.pop(rule.pk, None)
        if situation is not None:
            situation.ended_at = at
            self.updated.pop(situation.pk, None)
            situation.save(update_fields=["ended_at", "last_seen_at", "snapshots", "peak", "evidence", "evidence_at"])
            _situation_told(situation, "situation.ended")
        return situation

    def evidence_keep(self, situation: Situation, picture: bytes, at: datetime) -> None:
        old = situation.evidence.name
        situation.evidence_at = at
        situation.evidence.save(f"s{situation.pk}-{timezone.now():%H%M%S%f}.jpg", ContentFile(picture), save=False)
        self.written.append(situation.evidence.name)
        if old:
            transaction.on_commit(lambda: default_storage.delete(old))


_blind_warned: dict[tuple[str, frozenset[str]], float] = {}
BLIND_WARN_SECONDS = 600  # one warning per algorithm and missing classes per process this often, not per picture


def _blind_rule_warn(rule: CameraRule, unserved: frozenset[str]) -> None:
    key = (rule.algorithm, unserved & NEEDS[rule.algorithm])
    now = time.monotonic()
    if now - _blind_warned.get(key, -BLIND_WARN_SECONDS) >= BLIND_WARN_SECONDS:
        _blind_warned[key] = now
        log.warning("%s rules are skipped (camera %s and any other): no installed detector detects %s. %s",
                    rule.algorithm, rule.camera_id, ", ".join(sorted(key[1])), DETECTORS_HINT)


def _in_schedule(rule: CameraRule, at: datetime) -> bool:
    if not rule.schedule:
        return True
    hour = timezone.localtime(at).hour
    return any(start <= hour < end if start <= end else (hour >= start or hour < end)
               for start, end in rule.schedule)


def _caption(camera: Camera, rule: CameraRule, verdict: Verdict) -> str:
    return f"{camera.record.external_id}  {rule.algorithm}  n={verdict.count}"


def _evidence(camera: Camera, rule: CameraRule, verdict: Verdict, image: Frame, at: datetime) -> bytes:
    return evidence_render(image, detections=verdict.evidence, zone=rule.zone, caption=_caption(camera, rule, verdict),
                           at=at)


def _recurred(event, finding: str, picture: bytes, at: datetime):
    """The problem is back: a resolution goes back to its handler, a verified or closed incident reopens (with
    the new evidence); one still being handled just gains the situation."""
    note = _("It is back. %(finding)s") % {"finding": finding}
    if event.status == EventStatus.RESOLVED:
        return event_transition(actor=None, event_id=event.pk, action="return", note=note, photos=[picture], now=at)
    if event.status in {EventStatus.VERIFIED, EventStatus.CLOSED}:
        return event_transition(actor=None, event_id=event.pk, action="reopen", note=note, photos=[picture], now=at)
    return event

