"""The parks in Django's admin: the operator keeps parks, buildings, gates, enterprises and staff here; employee
status changes go through the service (revoking credentials), passages and credentials are read-only; car parks
and their spaces, registered vehicles (plates checked), barrier events and stays (read-only); lamp posts (their key
made here), videos and playlists (read-only: approval and scheduling go through the API's services)."""

import secrets

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from parks.keys import secret_digest
from parks.models import (
    BarrierEvent,
    BoardPost,
    BoardResponse,
    Building,
    Charger,
    ChargerMessage,
    ChargingSession,
    Employee,
    EmployeeStatus,
    Enterprise,
    Floor,
    Gate,
    Invitation,
    LampPost,
    Park,
    ParkingArea,
    ParkingSpace,
    ParkingStay,
    ParkKey,
    ParkStaff,
    Passage,
    PassCredential,
    PlaylistEntry,
    PlaylistSlot,
    PromoVideo,
    Vehicle,
)
from parks.plates import PlateInvalid, plate_parse
from parks.services import employee_status_set
from passkit.rules import windows_parse


class BuildingInline(admin.TabularInline):
    model = Building
    extra = 0


@admin.register(Park)
class ParkAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "revocation_version")
    inlines = [BuildingInline]


class FloorInline(admin.TabularInline):
    model = Floor
    extra = 0


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "park")
    list_filter = ("park",)
    inlines = [FloorInline]


@admin.register(Gate)
class GateAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "park", "kind", "building", "parking_area", "active", "enrolled_at",
                    "last_seen_at")
    list_filter = ("park", "kind", "active")
    readonly_fields = ("enrolled_at", "last_seen_at")

    def save_model(self, request, obj, form, change):
        try:
            windows_parse(obj.windows or [])
        except ValueError as error:
            raise ValidationError({"windows": str(error)}) from error
        super().save_model(request, obj, form, change)


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ("name", "park")
    list_filter = ("park",)
    filter_horizontal = ("buildings", "floors")
    search_fields = ("name", "name_en")


@admin.action(description=_("Block the selected employees (their codes are refused at once)"))
def block(modeladmin, request, queryset):
    _status(modeladmin, request, queryset, EmployeeStatus.BLOCKED, _("blocked in the admin"))


@admin.action(description=_("Record that the selected employees left"))
def leave(modeladmin, request, queryset):
    _status(modeladmin, request, queryset, EmployeeStatus.LEFT, "")


def _status(modeladmin, request, queryset, status, reason):
    for employee in queryset:
        try:
            employee_status_set(actor=request.user, employee_id=employee.pk, status=status, reason=str(reason))
        except (PermissionDenied, ValidationError) as error:
            modeladmin.message_user(request, f"{employee}: {error}", messages.ERROR)


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ("user", "enterprise", "building", "status", "card_id", "joined_at")
    list_filter = ("status", "enterprise__park")
    raw_id_fields = ("user",)
    readonly_fields = ("status", "status_reason", "status_changed_at")
    actions = [block, leave]


@admin.register(ParkStaff)
class ParkStaffAdmin(admin.ModelAdmin):
    list_display = ("user", "park", "active")
    raw_id_fields = ("user",)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnly):
    list_display = ("visitor_name", "host", "park", "valid_from", "valid_until", "withdrawn_at")
    list_filter = ("park",)
    exclude = ("token_digest",)


@admin.register(PassCredential)
class PassCredentialAdmin(ReadOnly):
    list_display = ("credential_id", "subject_kind", "park", "issued_at", "expires_at", "revoked_at",
                    "revoked_reason")
    list_filter = ("park", "subject_kind", "revoked_reason")
    exclude = ("token",)


@admin.register(Passage)
class PassageAdmin(ReadOnly):
    list_display = ("at", "gate", "direction", "result", "reason", "mode", "subject_kind")
    list_filter = ("park", "result", "mode", "reason")
    date_hierarchy = "at"


@admin.register(ParkKey)
class ParkKeyAdmin(ReadOnly):
    list_display = ("kid", "park", "state", "created_at", "retired_at")


class ChargerForm(forms.ModelForm):
    password = forms.CharField(label=_("password"), required=False, widget=forms.PasswordInput,
                               help_text=_("What the charger sends with its identity (HTTP Basic); only its digest "
                                           "is kept. Empty: unchanged."))

    class Meta:
        model = Charger
        fields = ("park", "identity", "name", "building", "tariff_per_kwh")

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("password"):
            self.add_error("password", _("A new charger needs a password."))
        return cleaned

    def save(self, commit=True):
        if self.cleaned_data.get("password"):
            self.instance.password_digest = secret_digest(self.cleaned_data["password"])
        return super().save(commit)


@admin.register(Charger)
class ChargerAdmin(admin.ModelAdmin):
    form = ChargerForm
    list_display = ("identity", "name", "park", "connected", "vendor", "model", "last_seen_at", "tariff_per_kwh")
    list_filter = ("park", "connected")


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnly):
    list_display = ("id", "charger", "connector", "id_tag", "status", "started_at", "stopped_at", "cost")
    list_filter = ("status", "charger__park")


@admin.register(ChargerMessage)
class ChargerMessageAdmin(ReadOnly):
    list_display = ("at", "identity", "action", "reason", "unique_id", "detail")
    list_filter = ("reason", "action")


class ParkingSpaceInline(admin.TabularInline):
    model = ParkingSpace
    extra = 0


@admin.register(ParkingArea)
class ParkingAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "park", "building", "max_stay_hours")
    list_filter = ("park",)
    inlines = [ParkingSpaceInline]


class VehicleForm(forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = ("park", "employee", "plate")

    def clean_plate(self):
        try:
            return plate_parse(self.cleaned_data["plate"]).text
        except PlateInvalid as error:
            raise ValidationError(error.message, code="invalid_plate") from None


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    form = VehicleForm
    list_display = ("plate", "employee", "park", "registered_at")
    list_filter = ("park",)
    search_fields = ("plate",)
    raw_id_fields = ("employee",)


@admin.register(BarrierEvent)
class BarrierEventAdmin(ReadOnly):
    list_display = ("at", "gate", "direction", "state", "plate", "confidence", "result", "reason", "queue_reason")
    list_filter = ("park", "state", "result", "direction")
    search_fields = ("plate",)


@admin.register(ParkingStay)
class ParkingStayAdmin(ReadOnly):
    list_display = ("plate", "area", "entered_at", "exited_at", "overstay_at")
    list_filter = ("park", "area")
    search_fields = ("plate",)


@admin.register(LampPost)
class LampPostAdmin(admin.ModelAdmin):
    """A post added here gets its player's key, shown once in the message after saving (only its digest is kept)."""

    list_display = ("code", "name", "park", "building", "active", "last_seen_at")
    list_filter = ("park", "active")
    readonly_fields = ("last_seen_at",)

    def save_model(self, request, obj, form, change):
        if not change:
            key = secrets.token_urlsafe(32)
            obj.key_digest = secret_digest(key)
            messages.warning(request, _("The post's key (shown this once; set it in its player): %(key)s")
                             % {"key": key})
        super().save_model(request, obj, form, change)


@admin.register(PromoVideo)
class PromoVideoAdmin(ReadOnly):
    list_display = ("title", "enterprise", "status", "size", "seconds", "submitted_at", "reviewed_at")
    list_filter = ("park", "status")


class PlaylistEntryInline(admin.TabularInline):
    model = PlaylistEntry
    extra = 0


@admin.register(PlaylistSlot)
class PlaylistSlotAdmin(ReadOnly):
    list_display = ("name", "park", "days", "starts", "ends")
    list_filter = ("park",)
    inlines = [PlaylistEntryInline]


class BoardResponseInline(admin.TabularInline):
    model = BoardResponse
    extra = 0
    can_delete = False
    readonly_fields = ("enterprise", "author", "body", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BoardPost)
class BoardPostAdmin(ReadOnly):
    """Read-only: moderation goes through the service (``moderateBoardPost``), which tells the enterprise why."""

    list_display = ("title", "enterprise", "kind", "category", "status", "created_at")
    list_filter = ("park", "kind", "category", "status")
    search_fields = ("title",)
    inlines = [BoardResponseInline]
