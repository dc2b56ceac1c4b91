"""One code through the park: visitors' invitations, the credentials on phones, every passage through a gate and
where each person is now."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from parks.models.site import Building, Employee, Gate, Park, ParkStaff


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
    #: The visitor's car, if they come by car: the parking barriers let it in during the visit.
    visitor_plate = models.CharField(_("visitor's plate"), max_length=8, blank=True)
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
