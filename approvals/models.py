"""Licence kinds, holders, electronic certificates, and what signs them and says their status."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class HolderKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class HolderKinds(models.TextChoices):
    """Who may hold a kind of licence."""

    PERSON = "person", _("People")
    ORGANISATION = "organisation", _("Organisations")
    EITHER = "either", _("People or organisations")


class LicenceKind(models.Model):
    """One of the kinds of licence the district issues (the catalogue: ``approvals.catalogue``, editable here)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150)
    department = models.ForeignKey("accounts.Department", verbose_name=_("issuing department"),
                                   on_delete=models.PROTECT, related_name="licence_kinds")
    #: None: valid until revoked (long-term).
    validity_months = models.PositiveSmallIntegerField(_("validity (months)"), null=True, blank=True)
    electronic = models.BooleanField(_("issued as an electronic certificate"), default=True)
    holders = models.CharField(_("holders"), max_length=12, choices=HolderKinds.choices,
                               default=HolderKinds.ORGANISATION)
    #: Its typed fields: ``[{"name", "label", "label_en", "type", "required", "max_length", "choices", ...}]``,
    #: checked by ``approvals.catalogue.fields_clean``.
    fields = models.JSONField(_("fields"), default=list, blank=True)
    number_prefix = models.CharField(_("number prefix"), max_length=12)
    active = models.BooleanField(_("issued now"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("licence kind")
        verbose_name_plural = _("licence kinds")

    def __str__(self) -> str:
        return self.name


class Holder(models.Model):
    """A person (by resident ID number) or an organisation (by unified social credit code) who holds licences.

    The identity number is personal data: it is kept as a keyed digest that matches it (``id_digest``), a masked
    form everyone who sees the holder may read (``id_masked``), and a sealed copy (``id_sealed``, encrypted with
    ``IDENTITY_KEY``) that only the holder is shown (``approvals.identity``).
    """

    kind = models.CharField(_("kind"), max_length=12, choices=HolderKind.choices)
    name = models.CharField(_("name"), max_length=120)
    id_digest = models.CharField(_("identity digest"), max_length=64, editable=False)
    id_masked = models.CharField(_("identity number (masked)"), max_length=24, editable=False)
    id_sealed = models.TextField(_("identity number (sealed)"), editable=False)
    #: A person's own account.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("account"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="holder")
    #: An organisation's legal representative (their account), who acts for it in full.
    representative = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("legal representative"), null=True,
                                       blank=True, on_delete=models.SET_NULL, related_name="represented")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("holder")
        verbose_name_plural = _("holders")
        constraints = [
            models.UniqueConstraint(fields=["kind", "id_digest"], name="holder_identity_unique"),
            models.CheckConstraint(name="holder_person_has_no_representative",
                                   condition=~models.Q(kind="person") | models.Q(representative__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id_masked})"


class Authorisation(models.Model):
    """An agent's authority, on record, to act for an organisation: for some licence kinds (or all), until a
    time, unless withdrawn."""

    organisation = models.ForeignKey(Holder, verbose_name=_("organisation"), on_delete=models.CASCADE,
                                     related_name="authorisations")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE,
                              related_name="authorisations")
    #: Licence kind codes the agent may act on; empty: every kind.
    kinds = models.JSONField(_("licence kinds"), default=list, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("authorisation")
        verbose_name_plural = _("authorisations")
        constraints = [models.CheckConstraint(name="authorisation_period", condition=models.Q(
            valid_until__gt=models.F("valid_from")))]


class KeyState(models.TextChoices):
    ACTIVE = "active", _("Signing")
    #: No longer signs; what it signed still verifies.
    RETIRED = "retired", _("Retired")
    #: Compromised: left out of the JWK Set, everything it signed verifies as INVALID.
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SigningKey(models.Model):
    """An issuer key's public half and state.  The private half lives in a file of ``CERTIFICATE_KEY_DIR``,
    never in the database (``approvals.keys``)."""

    kid = models.CharField(_("key id"), max_length=32, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=10, default="ES256")
    public_jwk = models.JSONField(_("public key (JWK)"))
    state = models.CharField(_("state"), max_length=10, choices=KeyState.choices, default=KeyState.ACTIVE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("why withdrawn"), max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [models.UniqueConstraint(fields=["state"], condition=models.Q(state="active"),
                                               name="one_active_signing_key")]

    def __str__(self) -> str:
        return f"{self.kid} ({self.get_state_display()})"


class StatusList(models.Model):
    """One IETF Token Status List: ``size`` entries of ``bits`` bits, published signed at ``/status/<number>``."""

    number = models.PositiveIntegerField(_("number"), unique=True)
    size = models.PositiveIntegerField(_("entries"), default=131072)
    bits = models.PositiveSmallIntegerField(_("bits per entry"), default=2)
    data = models.BinaryField(_("statuses"))
    #: Bumped at every status written; the signed token is made again when it is behind.
    version = models.PositiveIntegerField(default=0)
    token = models.BinaryField(_("signed list"), null=True, blank=True)
    token_version = models.PositiveIntegerField(null=True, blank=True)
    token_issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("status list")
        verbose_name_plural = _("status lists")

    def __str__(self) -> str:
        return f"status list {self.number}"


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")
    #: Issued, not yet in force (an authorisation announced, in force once filed by the national office).
    PENDING = "pending", _("Not yet in force")


class Certificate(models.Model):
    """An issued licence: signed once at issue (``code``), its status kept here and in its status list entry."""

    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.ForeignKey(LicenceKind, verbose_name=_("kind"), on_delete=models.PROTECT,
                             related_name="certificates")
    holder = models.ForeignKey(Holder, verbose_name=_("holder"), on_delete=models.PROTECT,
                               related_name="certificates")
    department = models.ForeignKey("accounts.Department", verbose_name=_("issued by"), on_delete=models.PROTECT,
                                   related_name="certificates")
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    #: None: long-term.
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=CertificateStatus.choices,
                              default=CertificateStatus.VALID, db_index=True)
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"))
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by", verbose_name=_("renews"))
    #: The electronic form: the key that signed it, its place in a status list and the signed code.
    key = models.ForeignKey(SigningKey, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates")
    status_list = models.ForeignKey(StatusList, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="certificates")
    status_index = models.PositiveIntegerField(null=True, blank=True)
    code = models.TextField(_("signed code"), blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            models.UniqueConstraint(fields=["status_list", "status_index"], name="certificate_status_entry_unique"),
            models.CheckConstraint(name="certificate_period",
                                   condition=models.Q(valid_until__isnull=True) | models.Q(
                                       valid_until__gt=models.F("valid_from"))),
        ]
        indexes = [models.Index(fields=["holder", "status"])]

    def __str__(self) -> str:
        return self.number


class CertificateHistory(models.Model):
    """Every status change of a certificate: what, from which status to which, why, who, when."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("certificate history")
        verbose_name_plural = _("certificate history")


# --- applications ----------------------------------------------------------------------------------------------

class ApplicationPurpose(models.TextChoices):
    NEW = "new", _("New")
    RENEW = "renew", _("Renewal")
    CHANGE = "change", _("Change")
    CANCEL = "cancel", _("Cancellation")


class ApplicationKind(models.Model):
    """What one applies for (a licence kind and a purpose), the materials it needs and the workflow it runs on.

    The workflow is a stored definition (``core.workflow``) named by ``workflow_key``: editing it in the admin
    publishes a new version, which new applications start on; running ones keep theirs."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    licence_kind = models.ForeignKey(LicenceKind, verbose_name=_("licence kind"), on_delete=models.PROTECT,
                                     related_name="application_kinds")
    purpose = models.CharField(_("purpose"), max_length=10, choices=ApplicationPurpose.choices)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=160)
    workflow_key = models.SlugField(_("workflow"), max_length=60)
    #: The step whose approval issues the certificate, not yet in force until the last step approves (a
    #: geographical-indication authorisation is issued when announced and in force once filed); blank: the
    #: certificate is issued, in force, when the last step approves.
    issue_at_step = models.SlugField(_("issue at step"), max_length=40, blank=True)
    active = models.BooleanField(_("open to applications"), default=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["licence_kind", "purpose"], name="one_application_kind")]
        verbose_name = _("application kind")
        verbose_name_plural = _("application kinds")

    def __str__(self) -> str:
        return self.name


class MaterialRequirement(models.Model):
    """One material an application kind needs, and how it may be proven: ``proofs`` are tried in order, each
    ``{"certificate": "<licence kind code>"}`` (a valid certificate of that kind held by the applicant) or
    ``{"source": "<data source>", "record": "<record type>"}`` (the applicant's record in a shared government
    data source, ``approvals.sources``); failing all, an upload when ``upload_allowed``."""

    application_kind = models.ForeignKey(ApplicationKind, on_delete=models.CASCADE, related_name="materials")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=160)
    proofs = models.JSONField(_("proven by"), default=list, blank=True)
    upload_allowed = models.BooleanField(_("may be uploaded"), default=True)

    class Meta:
        ordering = ["application_kind", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["application_kind", "code"], name="one_material_per_code")]
        verbose_name = _("material requirement")
        verbose_name_plural = _("material requirements")

    def __str__(self) -> str:
        return self.name


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    RETURNED = "returned", _("Returned for correction")
    MATERIALS_REQUESTED = "materials_requested", _("More materials requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Application(models.Model):
    """A holder's application: drafted, confirmed by the legal representative, submitted onto its kind's
    workflow (``case``: the step it waits at, its history), decided; on approval, the certificate it issues."""

    number = models.CharField(_("number"), max_length=24, unique=True)
    kind = models.ForeignKey(ApplicationKind, verbose_name=_("kind"), on_delete=models.PROTECT,
                             related_name="applications")
    holder = models.ForeignKey(Holder, verbose_name=_("applicant"), on_delete=models.PROTECT,
                               related_name="applications")
    #: The certificate renewed, changed or cancelled.
    basis = models.ForeignKey("Certificate", verbose_name=_("certificate concerned"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="applications")
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.DRAFT, db_index=True)
    case = models.OneToOneField("core.WorkflowCase", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="application")
    #: How many times it was submitted (a return or a request for materials makes another round).
    submissions = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))
    issued = models.OneToOneField("Certificate", verbose_name=_("certificate issued"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="issued_by_application")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")

    def __str__(self) -> str:
        return self.number


class MaterialOutcome(models.TextChoices):
    CERTIFICATE = "certificate", _("Proven by a certificate")
    SOURCE = "source", _("Proven by government data")
    UPLOAD = "upload", _("Uploaded")
    MISSING = "missing", _("To be uploaded")


class MaterialUpload(models.Model):
    """A file the applicant uploaded for a material (the platform's files: checked, size-limited)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="uploads")
    material = models.SlugField(_("material"), max_length=40)
    name = models.CharField(_("stored as"), max_length=200)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        verbose_name = _("material upload")
        verbose_name_plural = _("material uploads")


class MaterialCheck(models.Model):
    """How one material stood when an application was submitted (each round keeps its own rows): by which
    certificate and its status then, or which source and record, or which upload; never edited."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="checks")
    submission = models.PositiveSmallIntegerField()
    material = models.SlugField(_("material"), max_length=40)
    outcome = models.CharField(_("outcome"), max_length=12, choices=MaterialOutcome.choices)
    provenance = models.JSONField(_("provenance"), default=dict, blank=True)
    #: Why it was not proven automatically (a source that did not answer, a certificate revoked...).
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        ordering = ["application", "submission", "id"]
        constraints = [models.UniqueConstraint(fields=["application", "submission", "material"],
                                               name="one_check_per_material_and_round")]
        verbose_name = _("material check")
        verbose_name_plural = _("material checks")


class Confirmation(models.Model):
    """The legal representative's electronic confirmation (instead of a seal): an authenticated act over the
    digest of exactly what is submitted.  It stands only while the application's content has that digest."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="confirmations")
    digest = models.CharField(_("digest"), max_length=64)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(_("confirmed at"))
    #: How the person proved it was them at that moment (``token``, or ``password`` when asked again).
    method = models.CharField(max_length=20, default="token")

    class Meta:
        ordering = ["id"]
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")


class StaffDuty(models.Model):
    """A role a staff account holds within its department (``clerk``, ``reviewer``, ``director``...): a
    workflow step held by that role in that department at its level waits for it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duties")
    role = models.SlugField(_("role"), max_length=40)

    class Meta:
        ordering = ["user", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_duty_per_role")]
        verbose_name = _("staff duty")
        verbose_name_plural = _("staff duties")

    def __str__(self) -> str:
        return self.role


class RegistryRecord(models.Model):
    """A record of the demo government data sources (``approvals.sources.DemoSource``): what the enterprise,
    population, social-organisation and school registries would answer for a holder."""

    source = models.SlugField(_("source"), max_length=40)
    record = models.SlugField(_("record type"), max_length=40)
    subject_digest = models.CharField(_("holder's identity digest"), max_length=64)
    record_id = models.CharField(_("record id"), max_length=60)
    data = models.JSONField(_("data"), default=dict, blank=True)
    valid = models.BooleanField(_("in force"), default=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["source", "record", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "record", "subject_digest"],
                                               name="one_registry_record")]
        verbose_name = _("registry record (demo)")
        verbose_name_plural = _("registry records (demo)")
