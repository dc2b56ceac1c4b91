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
