"""A park as it stands: its buildings, floors and gates, its enterprises and their employees, and the operator's
staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from passkit.rules import GateKind as KitGateKind


class Park(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    #: Raised by every revocation: a gate that synced version N asks for what came after N.
    revocation_version = models.PositiveIntegerField(_("revocation list version"), default=0, editable=False)
    #: The cameras on its grounds: their open security events are on the operator's map, and the operator hears of
    #: them.
    cameras = models.ManyToManyField("vision.Camera", verbose_name=_("cameras"), blank=True, related_name="parks")

    class Meta:
        ordering = ["code"]
        verbose_name = _("park")
        verbose_name_plural = _("parks")

    def __str__(self) -> str:
        return self.name


class KeyState(models.TextChoices):
    ACTIVE = "active", _("Signing")
    RETIRED = "retired", _("Retired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ParkKey(models.Model):
    """A park's signing key (Ed25519): it signs the credentials on phones and the bundles gates sync.  The private
    half is a file in ``PARK_KEY_DIR`` (``parks.keys``); the database keeps the public JWK."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="keys")
    kid = models.CharField(_("key id"), max_length=64, unique=True)
    public_jwk = models.JSONField(_("public key (JWK)"))
    state = models.CharField(_("state"), max_length=10, choices=KeyState.choices, default=KeyState.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["park", "created_at", "id"]
        verbose_name = _("park signing key")
        verbose_name_plural = _("park signing keys")
        constraints = [models.UniqueConstraint(fields=["park"], condition=models.Q(state="active"),
                                               name="one_active_key_per_park")]

    def __str__(self) -> str:
        return self.kid


class Building(models.Model):
    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="buildings")
    code = models.SlugField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)

    class Meta:
        ordering = ["park", "code"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [models.UniqueConstraint(fields=["park", "code"], name="building_code_unique")]

    def __str__(self) -> str:
        return self.name


class Floor(models.Model):
    building = models.ForeignKey(Building, verbose_name=_("building"), on_delete=models.CASCADE,
                                 related_name="floors")
    number = models.SmallIntegerField(_("floor"))
    name = models.CharField(_("name"), max_length=60, blank=True)

    class Meta:
        ordering = ["building", "number"]
        verbose_name = _("floor")
        verbose_name_plural = _("floors")
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="floor_number_unique")]

    def __str__(self) -> str:
        return f"{self.building} {self.number}F"


class GateKind(models.TextChoices):
    ENTRANCE = KitGateKind.ENTRANCE, _("Park entrance")
    BUILDING = KitGateKind.BUILDING, _("Building door")
    CANTEEN = KitGateKind.CANTEEN, _("Canteen")
    PARKING = KitGateKind.PARKING, _("Parking barrier")


class Gate(models.Model):
    """A door, turnstile or barrier with a code scanner.  ``windows`` are the hours it lets employees and visitors
    through (``passkit.rules.Window``: ``[{"days": [1, 2, 3, 4, 5], "from": "07:00", "to": "22:00"}]``; empty:
    always); the operator's staff pass at any time.  A gate that verifies offline is enrolled with a key of its
    own (``public_jwk``), which signs what it uploads."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="gates")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=GateKind.choices)
    building = models.ForeignKey(Building, verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="gates")
    windows = models.JSONField(_("opening hours"), default=list, blank=True)
    public_jwk = models.JSONField(_("gate key (JWK)"), null=True, blank=True, editable=False)
    enrolled_at = models.DateTimeField(_("enrolled at"), null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(_("last heard from"), null=True, blank=True, editable=False)
    active = models.BooleanField(_("in service"), default=True)
    #: A parking barrier's car park.
    parking_area = models.ForeignKey("parks.ParkingArea", verbose_name=_("parking area"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="barriers")

    class Meta:
        ordering = ["park", "code"]
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        constraints = [
            models.UniqueConstraint(fields=["park", "code"], name="gate_code_unique"),
            models.CheckConstraint(name="building_gates_have_a_building", condition=(
                ~models.Q(kind__in=["building"]) | models.Q(building__isnull=False))),
            models.CheckConstraint(name="parking_barriers_have_an_area", condition=(
                ~models.Q(kind="parking") | models.Q(parking_area__isnull=False))),
        ]

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="enterprises")
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    #: The buildings it occupies: its employees pass their doors.
    buildings = models.ManyToManyField(Building, verbose_name=_("buildings"), related_name="enterprises")
    floors = models.ManyToManyField(Floor, verbose_name=_("floors"), related_name="enterprises", blank=True)

    class Meta:
        ordering = ["park", "name"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self) -> str:
        return self.name


class EmployeeStatus(models.TextChoices):
    ACTIVE = "active", _("Working")
    BLOCKED = "blocked", _("Blocked")
    LEFT = "left", _("Left")


class Employee(models.Model):
    """A person working for an enterprise of a park, with their account and their office building."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE,
                             related_name="employments")
    enterprise = models.ForeignKey(Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE,
                                   related_name="employees")
    building = models.ForeignKey(Building, verbose_name=_("office building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="employees")
    status = models.CharField(_("status"), max_length=8, choices=EmployeeStatus.choices,
                              default=EmployeeStatus.ACTIVE)
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    #: The employee's charging card (an OCPP idTag, at most 20 characters), if they have one.
    card_id = models.CharField(_("charging card"), max_length=20, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["enterprise", "id"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [models.UniqueConstraint(fields=["user", "enterprise"], name="one_employment_per_enterprise")]

    def __str__(self) -> str:
        return f"{self.user} ({self.enterprise})"


class StaffRole(models.TextChoices):
    #: Sees the park's passages and people, keeps its employees, passes every gate.
    OPERATOR = "operator", _("Operator")
    #: An online gate's controller (or a guard's handheld): passes codes at the park's gates, sees nothing else.
    GATE = "gate", _("Gate controller")


class ParkStaff(models.Model):
    """A member of the park operator's staff, or the account of an online gate controller."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE,
                             related_name="park_staff")
    role = models.CharField(_("role"), max_length=8, choices=StaffRole.choices, default=StaffRole.OPERATOR)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["park", "id"]
        verbose_name = _("operator staff")
        verbose_name_plural = _("operator staff")
        constraints = [models.UniqueConstraint(fields=["park", "user"], name="one_staff_row_per_park")]

    def __str__(self) -> str:
        return f"{self.user} ({self.park})"
