from django.contrib import admin

from approvals.models import (
    Application,
    ApplicationKind,
    Authorisation,
    Certificate,
    CertificateHistory,
    Holder,
    LicenceKind,
    MaterialCheck,
    MaterialRequirement,
    RegistryRecord,
    SigningKey,
    StaffDuty,
    StatusList,
)


@admin.register(LicenceKind)
class LicenceKindAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "department", "validity_months", "electronic", "holders", "active")
    list_filter = ("electronic", "department", "holders", "active")
    search_fields = ("code", "name", "name_en")


@admin.register(Holder)
class HolderAdmin(admin.ModelAdmin):
    """Identity numbers appear masked only: the digest and the sealed copy are not shown."""

    list_display = ("name", "kind", "id_masked", "user", "representative")
    list_filter = ("kind",)
    search_fields = ("name",)
    fields = ("kind", "name", "id_masked", "user", "representative")
    readonly_fields = ("kind", "id_masked")
    raw_id_fields = ("user", "representative")

    def has_add_permission(self, request) -> bool:
        return False  # holders are registered through approvals.services.holder_register (the number is checked)


@admin.register(Authorisation)
class AuthorisationAdmin(admin.ModelAdmin):
    list_display = ("organisation", "agent", "kinds", "valid_from", "valid_until", "withdrawn_at")
    raw_id_fields = ("organisation", "agent", "granted_by")


class HistoryInline(admin.TabularInline):
    model = CertificateHistory
    extra = 0
    can_delete = False
    readonly_fields = ("action", "from_status", "to_status", "reason", "actor", "at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Read-only: certificates change through the services (signed, in the status list, in the feed)."""

    list_display = ("number", "kind", "holder", "status", "valid_from", "valid_until")
    list_filter = ("status", "kind")
    search_fields = ("number",)
    inlines = [HistoryInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Public halves only; `manage.py certificate_keys` rotates and withdraws."""

    list_display = ("kid", "algorithm", "state", "created_at", "retired_at", "withdrawn_at")
    readonly_fields = ("kid", "algorithm", "public_jwk", "state", "created_at", "retired_at", "withdrawn_at",
                       "withdrawn_reason")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(StatusList)
class StatusListAdmin(admin.ModelAdmin):
    list_display = ("number", "size", "bits", "version", "token_issued_at")
    exclude = ("data", "token")
    readonly_fields = ("number", "size", "bits", "version", "token_version", "token_issued_at")


class MaterialInline(admin.TabularInline):
    model = MaterialRequirement
    extra = 0
    fields = ("position", "code", "name", "name_en", "proofs", "upload_allowed")


@admin.register(ApplicationKind)
class ApplicationKindAdmin(admin.ModelAdmin):
    """What one applies for and its materials.  Its workflow is a stored definition (core's workflow admin):
    a changed workflow is published as a new version, which new applications start on."""

    list_display = ("code", "name", "licence_kind", "purpose", "workflow_key", "issue_at_step", "active")
    list_filter = ("purpose", "active", "licence_kind__department")
    search_fields = ("code", "name", "name_en")
    inlines = [MaterialInline]


class CheckInline(admin.TabularInline):
    model = MaterialCheck
    extra = 0
    can_delete = False
    readonly_fields = ("submission", "material", "outcome", "provenance", "reason", "checked_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-only: applications change through their services (the workflow, the checks, the feed)."""

    list_display = ("number", "kind", "holder", "status", "submitted_at", "decided_at")
    list_filter = ("status", "kind__purpose")
    search_fields = ("number",)
    inlines = [CheckInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(StaffDuty)
class StaffDutyAdmin(admin.ModelAdmin):
    list_display = ("user", "role")
    search_fields = ("user__username", "role")
    raw_id_fields = ("user",)


@admin.register(RegistryRecord)
class RegistryRecordAdmin(admin.ModelAdmin):
    list_display = ("source", "record", "record_id", "valid", "updated_at")
    list_filter = ("source", "record", "valid")
    search_fields = ("record_id",)
