"""Workflows stored as data: definitions (versions of a sequence of steps) and the cases that run on them.

An approval workflow is configured, not coded: a definition lists its steps, each held by a role in an
organisation at a level, each with a deadline.  A definition is a version: once a case runs on it, it is
never changed (a new version is published instead), so a running case finishes on the steps it started with.

The organisation is named by its code, not a foreign key: ``core`` sits below the apps that keep
organisations; the app that registers a step workflow says who holds a step (``core.workflow.steps``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnlyModel


class WorkflowLevel(models.TextChoices):
    DISTRICT = "district", _("District")
    PROVINCE = "province", _("Province")
    NATIONAL = "national", _("National")


class WorkflowDefinition(models.Model):
    """One version of a workflow: its steps (``steps``), in order.  The newest version of a key is the one new
    cases start on."""

    key = models.SlugField(_("key"), max_length=60, help_text=_("What a kind of application names its workflow by."))
    version = models.PositiveIntegerField(_("version"), default=1)
    title = models.CharField(_("title"), max_length=120)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="one_workflow_version")]
        verbose_name = _("workflow definition")
        verbose_name_plural = _("workflow definitions")

    def __str__(self) -> str:
        return f"{self.title} ({self.key} v{self.version})"

    @property
    def in_use(self) -> bool:
        """A case runs (or ran) on this version: its steps are fixed."""
        return self.pk is not None and self.cases.exists()


class WorkflowStep(models.Model):
    """One step of a definition: who holds it (a role in an organisation at a level) and how long it may take."""

    definition = models.ForeignKey(WorkflowDefinition, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"), validators=[MinValueValidator(1)])
    code = models.SlugField(_("code"), max_length=40, help_text=_("accept, review, inspect, approve, announce, file"))
    name = models.CharField(_("name"), max_length=80)
    level = models.CharField(_("level"), max_length=10, choices=WorkflowLevel.choices)
    organisation = models.SlugField(_("organisation"), max_length=60,
                                    help_text=_("The code of the organisation that holds the step."))
    role = models.CharField(_("role"), max_length=40, help_text=_("The role within it that acts on the step."))
    deadline_hours = models.PositiveIntegerField(_("deadline (hours)"), validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["definition", "position"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "position"], name="one_step_per_position"),
            models.UniqueConstraint(fields=["definition", "code"], name="one_step_per_code"),
            models.CheckConstraint(condition=models.Q(position__gte=1), name="step_position_from_one"),
            models.CheckConstraint(condition=models.Q(deadline_hours__gte=1), name="step_has_a_deadline"),
        ]
        indexes = [models.Index(fields=["organisation", "level", "role"], name="workflow_step_holder")]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow steps")

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class WorkflowCase(models.Model):
    """A case of a workflow whose object keeps no lifecycle of its own: every run of a stored definition (an
    application points at its case), and small code-defined flows that need nothing beyond a status, a step,
    a deadline and a little data.  ``workflow`` names the registered workflow whose hooks it runs under."""

    workflow = models.CharField(_("workflow"), max_length=60, db_index=True)
    definition = models.ForeignKey(WorkflowDefinition, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="cases", verbose_name=_("workflow definition"))
    #: The step the case is at (where it ended, once finished).
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, null=True, blank=True, related_name="cases",
                             verbose_name=_("step"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=30, db_index=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("opened by"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    #: The small state of a code-defined flow (meter readings, what was asked for).
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["step", "status"], name="workflow_case_at_step"),
            models.Index(fields=["workflow", "status", "deadline"], name="workflow_case_due"),
        ]
        verbose_name = _("workflow case")
        verbose_name_plural = _("workflow cases")

    def __str__(self) -> str:
        return self.title or f"{self.workflow} #{self.pk}"


class WorkflowCaseHistory(AppendOnlyModel):
    """Who did what to a case, at which step, when: kept through returns and resubmissions."""

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(WorkflowCase, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30)
    #: The step the action was taken at.
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.TextField(max_length=2000, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("workflow case history")
        verbose_name_plural = _("workflow case history")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
