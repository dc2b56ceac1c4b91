"""The sensor watch over elderly people living alone: their households (with consent), the smart water meters in
their homes, the meters' readings, and the conditions the rules found in them (each with its one incident)."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Household(models.Model):
    """The home of an elderly person living alone, watched through its water meter while consent holds.

    Everything here is personal data: ``gridapp.sensors.selectors.households_visible_to`` names who sees it (the
    grid's workers, their supervisors, the command centre).  ``watched`` follows the consents (a service keeps it):
    the sweep reads only watched households, and a household whose consent was withdrawn shows no readings."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    address = models.CharField(_("address"), max_length=300)
    lng = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    grid = models.ForeignKey("gridapp.Grid", on_delete=models.PROTECT, related_name="households",
                             verbose_name=_("grid"))
    resident_name = models.CharField(_("resident"), max_length=60)
    resident_phone = models.CharField(_("resident's phone"), max_length=30, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60)
    contact_phone = models.CharField(_("contact person's phone"), max_length=30)
    emergency_name = models.CharField(_("emergency contact"), max_length=60)
    emergency_phone = models.CharField(_("emergency contact's phone"), max_length=30)
    # The rules, per household (the defaults are the district's).
    no_use_hours = models.PositiveSmallIntegerField(
        _("no water for (daytime hours)"), default=12,
        help_text=_("No water used for this many hours of daytime raises a welfare visit."))
    day_starts = models.TimeField(_("daytime starts"), default=time(6))
    day_ends = models.TimeField(_("daytime ends"), default=time(22))
    running_hours = models.PositiveSmallIntegerField(
        _("water running for (hours)"), default=4,
        help_text=_("Water running without a pause for this many hours raises a possible leak."))
    silent_hours = models.PositiveSmallIntegerField(
        _("meter silent for (hours)"), default=6,
        help_text=_("A meter sending nothing for this many hours raises a maintenance task."))
    watched = models.BooleanField(_("watched"), default=False, editable=False)
    #: When the watch (last) started: a meter silent since then is silent from here.
    watched_since = models.DateTimeField(_("watched since"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("watched household")
        verbose_name_plural = _("watched households")
        indexes = [models.Index(fields=["grid", "code"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(no_use_hours__gte=1, running_hours__gte=1, silent_hours__gte=1),
                                   name="household_rule_hours_positive"),
        ]

    def __str__(self) -> str:
        return self.code


class HouseholdConsent(models.Model):
    """Consent to the watch, as the resident (or their guardian) gave it to the person who recorded it; withdrawn
    when it ends.  At most one consent of a household holds at a time."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="consents")
    given_by = models.CharField(_("given by"), max_length=60)
    relation = models.CharField(_("relation to the resident"), max_length=30, default="本人")
    given_at = models.DateTimeField(_("given at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True, verbose_name=_("recorded by"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.CharField(_("withdrawn by"), max_length=60, blank=True)
    withdrawal_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                               related_name="+", null=True, blank=True)

    class Meta:
        ordering = ["household", "-given_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [models.UniqueConstraint(fields=["household"], condition=models.Q(withdrawn_at__isnull=True),
                                               name="household_one_current_consent")]

    @property
    def holds(self) -> bool:
        return self.withdrawn_at is None


class WaterMeter(models.Model):
    """A smart water meter, known by the serial its gateway reports; the counter is cumulative, in litres.

    The ``*_at`` summaries are kept by the ingest service (``gridapp.sensors.ingest``) as readings arrive, so that the
    rules read one row per meter: the first and last reading, the end of the last interval with water used, and the
    last pause (an interval with none, or one too long to tell)."""

    serial = models.CharField(_("serial number"), max_length=40, unique=True)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="meters", null=True,
                                  blank=True, verbose_name=_("household"))
    active = models.BooleanField(_("active"), default=True)
    installed_at = models.DateTimeField(_("installed at"), null=True, blank=True)
    first_reading_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_reading_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_litres = models.FloatField(null=True, blank=True, editable=False)
    last_use_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_pause_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["serial"]
        verbose_name = _("water meter")
        verbose_name_plural = _("water meters")
        constraints = [models.UniqueConstraint(fields=["household"], condition=models.Q(active=True),
                                               name="household_one_active_meter")]

    def __str__(self) -> str:
        return self.serial


class ReadingSource(models.TextChoices):
    GATEWAY = "gateway", _("Gateway (GraphQL)")
    MQTT = "mqtt", _("MQTT")
    CSV = "csv", _("CSV file")


class MeterReading(models.Model):
    """One reading of a meter's counter.  ``used`` is the water since the previous reading in time (None for a
    meter's first), ``flowing`` whether water ran through the whole of that interval as far as one can tell (used,
    and the interval no longer than ``SENSOR_RUN_GAP_MINUTES``).  Both are kept right when a late reading lands
    between two others."""

    meter = models.ForeignKey(WaterMeter, on_delete=models.CASCADE, related_name="readings")
    at = models.DateTimeField(_("read at"))
    litres = models.FloatField(_("counter (litres)"))
    used = models.FloatField(_("used since the previous reading (litres)"), null=True, blank=True)
    flowing = models.BooleanField(default=False)
    source = models.CharField(max_length=8, choices=ReadingSource.choices)

    class Meta:
        ordering = ["meter", "at"]
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        constraints = [models.UniqueConstraint(fields=["meter", "at"], name="meter_reading_once")]
        permissions = [("submit_readings", _("Submit meter readings (a meters' gateway)"))]


class ReadingRefusal(models.Model):
    """How many readings were refused, per day, path, reason and serial: what the household's page and the operators
    read to find a meter that needs a look.  Unknown serials count under the empty serial, so that a flood of
    invented ones adds one row a day."""

    day = models.DateField()
    source = models.CharField(max_length=8, choices=ReadingSource.choices)
    code = models.CharField(max_length=30)
    serial = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "code"]
        verbose_name = _("refused readings")
        verbose_name_plural = _("refused readings")
        constraints = [models.UniqueConstraint(fields=["day", "source", "code", "serial"],
                                               name="reading_refusal_tally")]


class ConditionKind(models.TextChoices):
    NO_USE = "no_use", _("Elderly resident: no water use")
    RUNNING = "running", _("Possible leak or tap left open")
    SILENT = "silent", _("Meter silent: maintenance")


class WatchCondition(models.Model):
    """One ongoing condition the rules found at a household (from ``started_at``, as the readings date it), with the
    one incident raised for it.  ``cleared_at``: the readings are normal again; ``closed_at``: the incident closed
    (after the worker's visit) or was ended by people.  One open condition per household and kind."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="conditions")
    meter = models.ForeignKey(WaterMeter, on_delete=models.SET_NULL, related_name="+", null=True, blank=True)
    kind = models.CharField(max_length=8, choices=ConditionKind.choices)
    started_at = models.DateTimeField(_("started at"))
    raised_at = models.DateTimeField(_("raised at"))
    event = models.ForeignKey("gridapp.Event", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    cleared_at = models.DateTimeField(_("normal again at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("watch condition")
        verbose_name_plural = _("watch conditions")
        constraints = [
            models.UniqueConstraint(fields=["household", "kind", "started_at"], name="watch_condition_once"),
            models.UniqueConstraint(fields=["household", "kind"], condition=models.Q(closed_at__isnull=True),
                                    name="watch_condition_one_open"),
        ]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
