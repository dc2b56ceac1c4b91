"""Workflows stored as data, configured here: a definition and its steps; a version in use is fixed, and
"Save as new" publishes the next version (running cases keep theirs)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.workflow.models import WorkflowCase, WorkflowCaseHistory, WorkflowDefinition, WorkflowStep


class WorkflowStepInline(admin.TabularInline):
    model = WorkflowStep
    extra = 0
    min_num = 1
    fields = ["position", "code", "name", "level", "organisation", "role", "deadline_hours"]


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "title", "created_at"]
    search_fields = ["key", "title"]
    readonly_fields = ["version", "created_at"]
    inlines = [WorkflowStepInline]
    save_as = True

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class FixedOnceUsed(form):
            def clean(self):
                cleaned = super().clean()
                if self.instance.pk is not None and self.instance.in_use:
                    raise ValidationError(
                        _("Cases run on this version, so its steps are fixed. Use “Save as new” to publish "
                          "the next version: new cases start on it, running ones keep theirs."), code="in_use")
                return cleaned

        return FixedOnceUsed

    def save_model(self, request, obj, form, change):
        if not change:  # a new key, or "Save as new": the next version of the key
            latest = WorkflowDefinition.objects.filter(key=obj.key).aggregate(latest=Max("version"))["latest"]
            obj.version = (latest or 0) + 1
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not obj.in_use)


class WorkflowCaseHistoryInline(admin.TabularInline):
    model = WorkflowCaseHistory
    fields = ["at", "actor_label", "action", "from_status", "to_status", "step", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkflowCase)
class WorkflowCaseAdmin(ReadOnlyAdmin):
    """Cases move only through their workflow's actions: read here, never edited."""

    list_display = ["id", "workflow", "title", "status", "step", "deadline", "updated_at"]
    list_filter = ["workflow", "status"]
    search_fields = ["title"]
    inlines = [WorkflowCaseHistoryInline]
