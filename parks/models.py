"""Business parks: their buildings and gates, enterprises and employees, the operator's staff, the one-code
credentials on people's phones, visitors' invitations, and every passage through a gate."""

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

    class Meta:
        ordering = ["park", "code"]
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        constraints = [
            models.UniqueConstraint(fields=["park", "code"], name="gate_code_unique"),
            models.CheckConstraint(name="building_gates_have_a_building", condition=(
                ~models.Q(kind__in=["building"]) | models.Q(building__isnull=False))),
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


class Invitation(models.Model):
    """An employee's visitor: for some buildings or gates, within a window; the visitor's code is shown on a page
    whose link the host forwards (``token_digest`` matches it; the link itself is not kept)."""

    park = models.ForeignKey(Park, verbose_name=_("park"), on_delete=models.CASCADE, related_name="invitations")
    host = models.ForeignKey(Employee, verbose_name=_("host"), on_delete=models.CASCADE, related_name="invitations")
    visitor_name = models.CharField(_("visitor's name"), max_length=60)
    visitor_phone = models.CharField(_("visitor's phone"), max_length=20)
    purpose = models.CharField(_("purpose"), max_length=200)
    valid_from = models.DateTimeField(_("from"))
    valid_until = models.DateTimeField(_("until"))
    buildings = models.ManyToManyField(Building, verbose_name=_("buildings"), blank=True, related_name="+")
    gates = models.ManyToManyField(Gate, verbose_name=_("gates"), blank=True, related_name="+")
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["-valid_from", "-id"]
        verbose_name = _("visitor invitation")
        verbose_name_plural = _("visitor invitations")
        constraints = [models.CheckConstraint(name="invitation_window", condition=models.Q(
            valid_until__gt=models.F("valid_from")))]

    def __str__(self) -> str:
        return f"{self.visitor_name} → {self.host}"


class SubjectKind(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    STAFF = "staff", _("Operator staff")
    VISITOR = "visitor", _("Visitor")


class PassCredential(models.Model):
    """A credential signed for one phone's key (or a visitor's page): its id is what a revocation names."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="credentials")
    credential_id = models.CharField(max_length=32, unique=True, editable=False)
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.CASCADE, related_name="credentials")
    staff = models.ForeignKey(ParkStaff, null=True, blank=True, on_delete=models.CASCADE, related_name="credentials")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="credentials")
    device_jwk = models.JSONField(_("device key (JWK)"))
    #: The signed CWT (public: every code the phone shows carries it).
    token = models.BinaryField(default=b"", editable=False)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=20, blank=True)
    #: The park's revocation version that revoked it.
    revoked_version = models.PositiveIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("pass credential")
        verbose_name_plural = _("pass credentials")
        indexes = [models.Index(fields=["park", "revoked_version"], name="credential_revocations",
                                condition=models.Q(revoked_version__isnull=False))]
        constraints = [models.CheckConstraint(name="credential_has_one_subject", condition=(
            models.Q(subject_kind="employee", employee__isnull=False, staff__isnull=True, invitation__isnull=True)
            | models.Q(subject_kind="staff", staff__isnull=False, employee__isnull=True, invitation__isnull=True)
            | models.Q(subject_kind="visitor", invitation__isnull=False, employee__isnull=True,
                       staff__isnull=True)))]

    def __str__(self) -> str:
        return self.credential_id

    @property
    def subject(self) -> str:
        """The credential's ``sub``: ``employee:12``, ``staff:3``, ``visitor:40``."""
        return f"{self.subject_kind}:{self.employee_id or self.staff_id or self.invitation_id}"


class Direction(models.TextChoices):
    IN = "in", _("In")
    OUT = "out", _("Out")


class PassageResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    REFUSED = "refused", _("Refused")


class PassageMode(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline, uploaded later")


class Passage(models.Model):
    """A pass or a refusal at a gate, with its reason: decided online, or offline and uploaded by the gate."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="passages")
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="passages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    at = models.DateTimeField(db_index=True)
    result = models.CharField(max_length=8, choices=PassageResult.choices)
    reason = models.CharField(max_length=20)
    drift = models.SmallIntegerField(default=0)
    step = models.BigIntegerField(null=True, blank=True)
    mode = models.CharField(max_length=8, choices=PassageMode.choices)
    credential = models.ForeignKey(PassCredential, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="passages")
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices, blank=True)
    #: Who passed, as the log names them at that moment (a gate log's "who"; empty for an unreadable code).
    person = models.CharField(max_length=100, blank=True)
    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="passages")
    staff = models.ForeignKey(ParkStaff, null=True, blank=True, on_delete=models.SET_NULL, related_name="passages")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="passages")
    #: An offline gate's own id of the entry: an upload sent twice is stored once.
    gate_entry = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("passage")
        verbose_name_plural = _("passages")
        indexes = [models.Index(fields=["park", "-at"], name="passage_park_time")]
        constraints = [
            models.UniqueConstraint(fields=["gate", "gate_entry"], condition=~models.Q(gate_entry=""),
                                    name="one_passage_per_gate_entry"),
            # A code passes a gate once per direction and step, whichever server process or gate decided it.
            models.UniqueConstraint(fields=["credential", "gate", "direction", "step"],
                                    condition=models.Q(result="passed"), name="one_pass_per_code_step"),
        ]

    def __str__(self) -> str:
        return f"{self.gate} {self.direction} {self.result} {self.at:%Y-%m-%d %H:%M:%S}"


class Presence(models.Model):
    """Where a person is in the park now, as their latest passage says (a later passage wins, whenever it
    arrives): inside or not, and in which building."""

    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="presences")
    subject = models.CharField(max_length=24)
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    inside = models.BooleanField(default=False)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        constraints = [models.UniqueConstraint(fields=["park", "subject"], name="one_presence_per_person")]
        indexes = [models.Index(fields=["park", "inside", "at"], name="presence_inside")]


# --- EV charging (OCPP 1.6J: parks.charging, parks.ocpp) -----------------------------------------------------------

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
