"""Parking (``parks.parking``): car parks behind barriers, their spaces, employees' registered vehicles, every
vehicle at a barrier with the plate read from its snapshot, and each stay from entry to exit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parks.models.access import Direction, Invitation, PassageResult
from parks.models.charging import Charger
from parks.models.site import Building, Employee, Gate, Park


class ParkingArea(models.Model):
    """A car park (a lot, or a garage level) whose barriers are gates of kind parking (``Gate.parking_area``).
    Its capacity is its spaces; a vehicle inside longer than ``max_stay_hours`` (a visitor: past their
    invitation) is flagged as an overstay."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="parking_areas")
    code = models.SlugField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    building = models.ForeignKey(Building, verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="parking_areas")
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    max_stay_hours = models.PositiveSmallIntegerField(_("longest stay (hours)"), default=24)

    class Meta:
        ordering = ["park", "code"]
        verbose_name = _("parking area")
        verbose_name_plural = _("parking areas")
        constraints = [models.UniqueConstraint(fields=["park", "code"], name="parking_area_code_unique")]

    def __str__(self) -> str:
        return self.name


class SpaceKind(models.TextChoices):
    STANDARD = "standard", _("Standard")
    CHARGING = "charging", _("With a charger")
    ACCESSIBLE = "accessible", _("Accessible")


class ParkingSpace(models.Model):
    area = models.ForeignKey(ParkingArea, verbose_name=_("parking area"), on_delete=models.CASCADE,
                             related_name="spaces")
    number = models.CharField(_("number"), max_length=10)
    kind = models.CharField(_("kind"), max_length=10, choices=SpaceKind.choices, default=SpaceKind.STANDARD)
    charger = models.ForeignKey(Charger, verbose_name=_("charger"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="spaces")

    class Meta:
        ordering = ["area", "number"]
        verbose_name = _("parking space")
        verbose_name_plural = _("parking spaces")
        constraints = [models.UniqueConstraint(fields=["area", "number"], name="parking_space_number_unique")]

    def __str__(self) -> str:
        return f"{self.area} {self.number}"


class Vehicle(models.Model):
    """An employee's registered vehicle: the park's barriers let its plate in while the employee works there."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="vehicles")
    employee = models.ForeignKey(Employee, verbose_name=_("employee"), on_delete=models.CASCADE,
                                 related_name="vehicles")
    plate = models.CharField(_("plate"), max_length=8)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["park", "plate"]
        verbose_name = _("registered vehicle")
        verbose_name_plural = _("registered vehicles")
        constraints = [models.UniqueConstraint(fields=["park", "plate"], name="one_registration_per_plate")]

    def __str__(self) -> str:
        return self.plate


class BarrierState(models.TextChoices):
    READING = "reading", _("Reading the plate")
    #: Waiting for the operator, who reads the snapshot (the reader was not sure, or there is no reader).
    UNREADABLE = "unreadable", _("Plate unreadable: in the operator's queue")
    DECIDED = "decided", _("Decided")


class BarrierEvent(models.Model):
    """A vehicle at a parking barrier: the barrier camera's snapshot, the plate read from it (by the plate reader
    on the ``vision`` queue, or by the operator), and the barrier's decision with its reason."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="barrier_events")
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="barrier_events")
    area = models.ForeignKey(ParkingArea, on_delete=models.CASCADE, related_name="barrier_events")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    at = models.DateTimeField()
    #: The barrier's own id of the event: a retried upload is stored once.
    device_event = models.CharField(max_length=40, blank=True)
    snapshot = models.CharField(max_length=200)
    snapshot_thumbnail = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=BarrierState.choices, default=BarrierState.READING)
    #: What the reader saw, best first: ``[{"text": ..., "confidence": ..., "box": [x0, y0, x1, y1]}]``.
    readings = models.JSONField(default=list, blank=True)
    plate = models.CharField(max_length=8, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    #: Why the plate went to the operator's queue (``unsure``, ``no_plate``, ``no_reader``, ``invalid_plate``).
    queue_reason = models.CharField(max_length=20, blank=True)
    result = models.CharField(max_length=8, choices=PassageResult.choices, blank=True)
    reason = models.CharField(max_length=20, blank=True)
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: The barrier controller's account that reported it (it waits for the decision).
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    #: The operator who read the plate or decided in the reader's place.
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("barrier event")
        verbose_name_plural = _("barrier events")
        indexes = [models.Index(fields=["park", "state", "at"], name="barrier_event_queue")]
        constraints = [models.UniqueConstraint(fields=["gate", "device_event"], condition=~models.Q(device_event=""),
                                               name="one_barrier_event_per_device_event")]

    def __str__(self) -> str:
        return f"{self.gate} {self.direction} {self.plate or '?'} {self.at:%Y-%m-%d %H:%M:%S}"


class ParkingStay(models.Model):
    """A vehicle in a parking area, from the barrier that let it in to the one that let it out."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="parking_stays")
    area = models.ForeignKey(ParkingArea, on_delete=models.CASCADE, related_name="stays")
    plate = models.CharField(max_length=8)
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="stays")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="parking_stays")
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)
    #: When the stay was flagged as too long (``parks.parking.overstays_flag``).
    overstay_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        verbose_name = _("parking stay")
        verbose_name_plural = _("parking stays")
        indexes = [models.Index(fields=["area", "entered_at"], condition=models.Q(exited_at__isnull=True),
                                name="parking_stay_inside")]
        constraints = [models.UniqueConstraint(fields=["area", "plate"], condition=models.Q(exited_at__isnull=True),
                                               name="one_open_stay_per_plate")]

    def __str__(self) -> str:
        return f"{self.plate} {self.area}"
