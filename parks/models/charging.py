"""EV charging (OCPP 1.6J: ``parks.charging``, ``parks.ocpp``): chargers, their connectors, sessions and the
messages refused."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from parks.models.site import Building, Employee, Park


class Charger(models.Model):
    """A charge point of a park: OneGrid is its central system.  It connects to ``/ocpp/<identity>`` with HTTP
    Basic authentication (OCPP 1.6 security profile 1): ``password_digest`` matches its password."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="chargers")
    identity = models.SlugField(_("charge point id"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=100)
    building = models.ForeignKey(Building, verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="chargers")
    password_digest = models.CharField(max_length=64, editable=False)
    #: Yuan per kWh; empty: no cost is computed.
    tariff_per_kwh = models.DecimalField(_("tariff (yuan/kWh)"), max_digits=6, decimal_places=3, null=True,
                                         blank=True)
    vendor = models.CharField(max_length=20, blank=True, editable=False)
    model = models.CharField(max_length=20, blank=True, editable=False)
    firmware = models.CharField(max_length=50, blank=True, editable=False)
    booted_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    connected = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["park", "identity"]
        verbose_name = _("charger")
        verbose_name_plural = _("chargers")

    def __str__(self) -> str:
        return self.name


class ConnectorStatus(models.TextChoices):
    AVAILABLE = "Available", _("Available")
    PREPARING = "Preparing", _("Preparing")
    CHARGING = "Charging", _("Charging")
    SUSPENDED_EV = "SuspendedEV", _("Suspended by the vehicle")
    SUSPENDED_EVSE = "SuspendedEVSE", _("Suspended by the charger")
    FINISHING = "Finishing", _("Finishing")
    RESERVED = "Reserved", _("Reserved")
    UNAVAILABLE = "Unavailable", _("Unavailable")
    FAULTED = "Faulted", _("Faulted")


class Connector(models.Model):
    """One connector of a charger (0: the charger as a whole), as its last StatusNotification said."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connectors")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=14, choices=ConnectorStatus.choices, default=ConnectorStatus.UNAVAILABLE)
    error_code = models.CharField(max_length=30, default="NoError")
    info = models.CharField(max_length=50, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["charger", "number"]
        constraints = [models.UniqueConstraint(fields=["charger", "number"], name="one_row_per_connector")]


class SessionStatus(models.TextChoices):
    ACTIVE = "active", _("Charging")
    COMPLETED = "completed", _("Completed")
    #: Closed by OneGrid: the charger went silent, or started another transaction on the connector.
    ABORTED = "aborted", _("Closed without a stop")


class ChargingSession(models.Model):
    """One OCPP transaction: its id is the ``transactionId`` OneGrid issued.  Energy in Wh from the meter
    readings the charger sent (never backwards)."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="sessions")
    connector = models.PositiveSmallIntegerField()
    id_tag = models.CharField(max_length=20)
    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="charging_sessions")
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.ACTIVE)
    started_at = models.DateTimeField()
    meter_start = models.BigIntegerField()
    meter_last = models.BigIntegerField()
    meter_last_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=30, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("charging session")
        verbose_name_plural = _("charging sessions")
        constraints = [models.UniqueConstraint(fields=["charger", "connector"], condition=models.Q(status="active"),
                                               name="one_active_session_per_connector")]

    @property
    def energy_wh(self) -> int:
        return max(0, self.meter_last - self.meter_start)


class ChargerMessage(models.Model):
    """What a charger sent that OneGrid refused or ignored, with the reason (and a charger refused at the door)."""

    charger = models.ForeignKey(Charger, null=True, blank=True, on_delete=models.CASCADE, related_name="refusals")
    identity = models.CharField(max_length=48)
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=40)
    unique_id = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=40)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("refused charger message")
        verbose_name_plural = _("refused charger messages")
