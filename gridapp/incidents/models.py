"""The incident domain: the merged taxonomy, events, their photos, history and escalations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.i18n import localized
from core.models import AppendOnlyModel


class Platform(models.TextChoices):
    CITY_OPERATIONS = "city", _("City operations (urban management)")
    SOCIAL_GOVERNANCE = "social", _("Social governance (community affairs)")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class EventCategory(models.Model):
    """One category of the merged taxonomy, coded major + minor in the style of the
    digital urban-management standard (e.g. 01-02 exposed garbage).

    It names the department responsible, the hours each stage may take and
    whether a photo is required; names are kept in Chinese and English and shown
    in the reader's language.
    """

    code = models.CharField(_("code"), max_length=5, unique=True, help_text=_("major-minor, e.g. 01-02"))
    major_code = models.CharField(_("major code"), max_length=2)
    major_name = models.CharField(_("major class (Chinese)"), max_length=60)
    major_name_en = models.CharField(_("major class (English)"), max_length=80)
    name = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=80)
    platform = models.CharField(_("platform"), max_length=8, choices=Platform.choices)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="event_categories",
                                   verbose_name=_("responsible department"))
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.NORMAL)
    photo_required = models.BooleanField(_("photo required"), default=True)
    accept_hours = models.PositiveSmallIntegerField(_("hours to accept"), default=2)
    dispatch_hours = models.PositiveSmallIntegerField(_("hours to dispatch"), default=2)
    handle_hours = models.PositiveSmallIntegerField(_("hours to handle"), default=24)
    verify_hours = models.PositiveSmallIntegerField(_("hours to verify"), default=24)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("event category")
        verbose_name_plural = _("event categories")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        major, _dash, minor = self.code.partition("-")
        if not (len(major) == len(minor) == 2 and major.isdigit() and minor.isdigit() and major == self.major_code):
            raise ValidationError({"code": _("The code is the major code, a dash and a two-digit minor code.")},
                                  code="invalid")

    def display_name(self, language: str | None = None) -> str:
        return localized(self.name, self.name_en, language)

    def display_major_name(self, language: str | None = None) -> str:
        return localized(self.major_name, self.major_name_en, language)


class EventStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACCEPTED = "accepted", _("Accepted")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed")
    ON_HOLD = "on_hold", _("On hold")
    REJECTED = "rejected", _("Rejected")
    VOID = "void", _("Void")
    DUPLICATE = "duplicate", _("Duplicate report")


#: A case is open until it is closed, rejected or voided; a duplicate report is never a case of its own.
OPEN_STATUSES = frozenset({
    EventStatus.REPORTED, EventStatus.ACCEPTED, EventStatus.DISPATCHED, EventStatus.IN_PROGRESS,
    EventStatus.RESOLVED, EventStatus.VERIFIED, EventStatus.ON_HOLD,
})


class EventSource(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    CAMERA = "camera", _("Camera AI")
    SENSOR = "sensor", _("Sensor")
    BACK_OFFICE = "back_office", _("Back office")
    CITIZEN = "citizen", _("Citizen")


class Event(models.Model):
    """One incident: a case with a case number, or a duplicate report linked to one.

    The position is WGS-84 whatever the reporter sent; ``grid`` is the grid
    version it was located in, ``community`` and ``street`` are copied from it
    so that statistics group without joins.  ``deadline`` is the current stage's;
    ``version`` grows with every transition (optimistic concurrency for clients).
    """

    case_number = models.CharField(_("case number"), max_length=20, unique=True, null=True, blank=True)
    category = models.ForeignKey(EventCategory, on_delete=models.PROTECT, related_name="events",
                                 verbose_name=_("category"))
    status = models.CharField(_("status"), max_length=12, choices=EventStatus.choices, default=EventStatus.REPORTED)
    source = models.CharField(_("source"), max_length=12, choices=EventSource.choices)
    # An idempotency key: a phone retrying on a bad network, a camera's ongoing situation, a sensor alarm.
    source_key = models.CharField(_("source key"), max_length=120, unique=True, null=True, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.NORMAL)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lng = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    source_crs = models.CharField(_("source reference system"), max_length=8, default="WGS84")
    grid = models.ForeignKey("gridapp.Grid", on_delete=models.PROTECT, related_name="events",
                             verbose_name=_("grid"), db_index=False)
    community = models.ForeignKey("gridapp.Community", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("community"))
    street = models.ForeignKey("gridapp.Street", on_delete=models.PROTECT, related_name="+", verbose_name=_("street"))
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="events",
                                   verbose_name=_("department"), db_index=False)
    industry_grid = models.ForeignKey("gridapp.IndustryGrid", on_delete=models.PROTECT, related_name="events",
                                      null=True, blank=True, verbose_name=_("industry grid"))
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_events",
                                 null=True, blank=True, verbose_name=_("reporter"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_events",
                                 null=True, blank=True, verbose_name=_("assignee"), db_index=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True, verbose_name=_("resolved by"))
    duplicate_of = models.ForeignKey("self", on_delete=models.PROTECT, related_name="duplicates", null=True,
                                     blank=True, verbose_name=_("duplicate of"))
    duplicate_count = models.PositiveIntegerField(_("duplicate reports"), default=0)
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Derived from the two times on save: statistics read it straight from their covering index.
    resolution_seconds = models.FloatField(_("seconds from report to resolution"), null=True, blank=True,
                                           editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(_("deadline of the current stage"), null=True, blank=True)
    held_from = models.CharField(max_length=12, choices=EventStatus.choices, blank=True)
    held_remaining_seconds = models.PositiveIntegerField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    was_overdue = models.BooleanField(_("was overdue"), default=False)
    extension_hours = models.PositiveSmallIntegerField(_("extension asked (hours)"), null=True, blank=True)
    extension_reason = models.CharField(_("extension reason"), max_length=500, blank=True)
    extension_requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                               null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["grid", "-id"]),
            models.Index(fields=["grid", "status"]),
            models.Index(fields=["department", "status", "-id"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["category", "reported_at"]),
            models.Index(fields=["reporter", "-id"]),
            # Statistics by street and category read this index alone (PostgreSQL; SQLite has no INCLUDE):
            # the counts per status in index order, the resolution times beside them.
            models.Index(fields=["street", "category", "status"], name="gridapp_event_statistics",
                         include=["was_overdue", "deadline", "resolution_seconds"]),
            # The command centre's map: the newest open cases.
            models.Index(fields=["-id"], name="gridapp_event_open_newest",
                         condition=models.Q(status__in=sorted(OPEN_STATUSES))),
        ]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return self.case_number or f"#{self.pk}"

    def derive_resolution_seconds(self) -> None:
        """``resolution_seconds`` from the two times (save() calls it; bulk writers must)."""
        self.resolution_seconds = ((self.resolved_at - self.reported_at).total_seconds()
                                   if self.resolved_at and self.reported_at else None)

    def save(self, *args, **kwargs):
        self.derive_resolution_seconds()
        if kwargs.get("update_fields") is not None and "resolved_at" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "resolution_seconds"}
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now=None) -> bool:
        return bool(self.deadline and self.status in OPEN_STATUSES and self.deadline < (now or timezone.now()))


class PhotoStage(models.TextChoices):
    REPORT = "report", _("Report")
    HANDLING = "handling", _("Handling")
    RESOLUTION = "resolution", _("Resolution")
    VERIFICATION = "verification", _("Verification")
    EVIDENCE = "evidence", _("Camera evidence")


class EventPhoto(models.Model):
    """A photo of an event, re-encoded and stripped of EXIF for display.

    Where the phone said it was taken (EXIF GPS, WGS-84) is kept in restricted
    columns for staff, never in the image served to the app.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="photos")
    history = models.ForeignKey("EventHistory", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="photos")
    stage = models.CharField(_("stage"), max_length=12, choices=PhotoStage.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    image = models.CharField(_("image (storage name)"), max_length=200)
    thumbnail = models.CharField(_("thumbnail (storage name)"), max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_format = models.CharField(max_length=8)
    original_bytes = models.PositiveIntegerField()
    exif_lng = models.FloatField(null=True, blank=True)
    exif_lat = models.FloatField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("event photo")
        verbose_name_plural = _("event photos")


class EventHistory(AppendOnlyModel):
    """One step in an event's life: who did what, when, from which status to which, why."""

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=12, choices=EventStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=EventStatus.choices)
    note = models.TextField(max_length=2000, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("event history")
        verbose_name_plural = _("event history")


class EscalationLevel(models.IntegerChoices):
    GRID = 1, _("Grid workers")
    COMMUNITY = 2, _("Community")
    STREET = 3, _("Street")
    COMMAND_CENTRE = 4, _("Command centre")


class EventEscalation(models.Model):
    """An overdue event raised to one level of the chain; at most once per level."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(choices=EscalationLevel.choices)
    stage = models.CharField(max_length=12, choices=EventStatus.choices)
    deadline = models.DateTimeField()
    at = models.DateTimeField(default=timezone.now)
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["event", "level"]
        constraints = [models.UniqueConstraint(fields=["event", "level"], name="gridapp_escalation_once_per_level")]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")


class CaseCounter(models.Model):
    """The last case number handed out in a year (a row lock makes numbers gap-free in commit order)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)
