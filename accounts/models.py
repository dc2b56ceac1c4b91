"""People, their departments and roles, and the tokens the mobile app holds."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import WorkflowLevel


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    DEPARTMENT_STAFF = "department_staff", _("Department staff")
    SUPERVISOR = "supervisor", _("Community or street supervisor")
    OPERATOR = "operator", _("Command-centre operator")
    CITIZEN = "citizen", _("Citizen")
    BUSINESS = "business", _("Business")
    PARK_EMPLOYEE = "park_employee", _("Park employee")
    PARK_OPERATOR = "park_operator", _("Park operator")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")


#: Roles that see the whole district (the command-centre screen and oversight).
DISTRICT_WIDE_ROLES = frozenset({Role.OPERATOR, Role.AUDITOR, Role.ADMIN})
#: Roles that act for the whole district (notices, assignments, the command centre's actions).  Seeing the
#: district never implies this: the auditor reads everything and writes nothing.
DISTRICT_COMMAND_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})
#: Roles that work for the government: they see the names of the people the cases they handle involve.
#: Everyone else (citizens, businesses, park people) sees only their own name (PIPL): others appear as roles.
GOVERNMENT_ROLES = frozenset({Role.GRID_WORKER, Role.DEPARTMENT_STAFF, Role.SUPERVISOR, Role.OPERATOR,
                              Role.AUDITOR, Role.ADMIN})
#: Roles that may read the audit log.
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.ADMIN})


class BusinessCapacity(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    AUTHORISED_AGENT = "authorised_agent", _("Authorised agent")


class Department(models.Model):
    """A government department that events, licences and tasks are routed to."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    #: District departments, and the provincial and national offices whose staff hold steps of an approval.
    level = models.CharField(_("level"), max_length=10, choices=WorkflowLevel.choices, default=WorkflowLevel.DISTRICT)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CITIZEN, db_index=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    phone = models.CharField(_("mobile phone"), max_length=20, unique=True, null=True, blank=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    business_capacity = models.CharField(
        _("business capacity"), max_length=24, choices=BusinessCapacity.choices, blank=True
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                name="business_role_has_capacity",
                condition=~models.Q(role="business") | ~models.Q(business_capacity=""),
            ),
            models.CheckConstraint(
                name="department_staff_has_department",
                condition=~models.Q(role="department_staff") | models.Q(department__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def sees_whole_district(self) -> bool:
        return self.is_active and (self.is_superuser or self.role in DISTRICT_WIDE_ROLES)

    @property
    def commands_district(self) -> bool:
        """May act for the whole district (write); a read-wide role such as the auditor may not."""
        return self.is_active and (self.is_superuser or self.role in DISTRICT_COMMAND_ROLES)

    @property
    def sees_names_of_others(self) -> bool:
        return self.is_active and (self.is_superuser or self.role in GOVERNMENT_ROLES)

    @property
    def is_department_staff(self) -> bool:
        return self.is_active and self.role == Role.DEPARTMENT_STAFF and self.department_id is not None

    @property
    def may_read_audit(self) -> bool:
        return self.is_active and (self.is_superuser or self.role in AUDIT_ROLES)


class TokenKind(models.TextChoices):
    ACCESS = "access", _("Access token")
    REFRESH = "refresh", _("Refresh token")


class AuthToken(models.Model):
    """A bearer token.  Only its SHA-256 digest is stored.

    Tokens of one login share a ``family``: logging out revokes the family, and a
    refresh token presented twice (a replay) revokes it too.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    digest = models.CharField(max_length=64, unique=True)
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "kind", "revoked_at"])]
        verbose_name = _("token")
        verbose_name_plural = _("tokens")

    def __str__(self) -> str:
        return f"{self.kind} token of {self.user_id} ({self.family})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
