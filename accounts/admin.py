from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import AuthToken, Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "level"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "role", "department", "phone", "is_active"]
    list_filter = ["role", "department", "is_active"]
    search_fields = ["username", "display_name", "phone"]
    fieldsets = BaseUserAdmin.fieldsets + (
        ("OneGrid", {"fields": ("role", "department", "phone", "display_name", "business_capacity")}),
    )


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "family", "created_at", "expires_at", "revoked_at"]
    list_filter = ["kind"]
    readonly_fields = ["user", "kind", "digest", "family", "created_at", "expires_at", "client_ip", "user_agent"]
    raw_id_fields = ["user"]
