from django.contrib import admin

from core.models import AuditEntry, Change, Notification


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only services write (the change feed, the audit log, events): read here, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "kind", "object_type", "object_id", "scopes"]
    list_filter = ["kind"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "actor_label", "action", "target", "result", "error_code", "client_ip"]
    list_filter = ["result", "action"]
    search_fields = ["actor_label", "action", "target"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "title", "created_at", "read_at"]
    raw_id_fields = ["recipient"]


from core.workflow import admin as _workflow_admin  # noqa: E402,F401  (stored workflow definitions and their cases)
