from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _
from guardian.admin import GuardedModelAdmin

from core.admin import ReadOnlyAdmin
from gridapp.geography.models import BaseRecord, Community, Generation, Grid, GridNotice, IndustryGrid, Street
from gridapp.geography.services import grid_notice_post
from gridapp.incidents.models import Event, EventCategory, EventHistory, EventPhoto
from gridapp.sensors.models import Household, HouseholdConsent, ReadingRefusal, WaterMeter


class AreaAdmin(admin.ModelAdmin):
    """Boundaries change through imports and redraws (new generations), not by hand-editing GeoJSON."""

    list_display = ["code", "name", "area_m2", "generation_low", "generation_high"]
    list_filter = [("generation_high", admin.EmptyFieldListFilter)]
    search_fields = ["code", "name"]
    readonly_fields = ["boundary", "min_lng", "min_lat", "max_lng", "max_lat", "area_m2", "generation_low",
                       "generation_high"]


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "description", "created_at"]


@admin.register(Street)
class StreetAdmin(AreaAdmin):
    filter_horizontal = ["supervisors"]


@admin.register(Community)
class CommunityAdmin(AreaAdmin):
    list_display = [*AreaAdmin.list_display, "street"]
    list_select_related = ["street"]
    filter_horizontal = ["supervisors"]


@admin.register(Grid)
class GridAdmin(GuardedModelAdmin, AreaAdmin):
    """Grid workers are assigned on each grid's 'Object permissions' page (django-guardian)."""

    list_display = [*AreaAdmin.list_display, "community"]
    list_filter = [*AreaAdmin.list_filter, "community__street"]
    list_select_related = ["community", "generation_low", "generation_high"]
    readonly_fields = [*AreaAdmin.readonly_fields, "centroid_lng", "centroid_lat"]


@admin.register(IndustryGrid)
class IndustryGridAdmin(AreaAdmin):
    list_display = [*AreaAdmin.list_display, "department"]
    list_filter = [*AreaAdmin.list_filter, "department"]
    filter_horizontal = ["basic_grids"]


@admin.register(BaseRecord)
class BaseRecordAdmin(admin.ModelAdmin):
    list_display = ["external_id", "kind", "name", "address", "grid", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["external_id", "name", "address"]
    raw_id_fields = ["grid"]
    list_select_related = ["grid"]
    show_full_result_count = False  # 1.6 M rows: no COUNT(*) on every page


@admin.register(GridNotice)
class GridNoticeAdmin(admin.ModelAdmin):
    """A notice added here is posted by ``grid_notice_post``, as the API posts it: with its change-feed row and
    its delivery task, by the command centre only.  A posted notice is read, not edited: its grid's workers
    already have it in their inboxes."""

    list_display = ["id", "grid", "title", "author", "created_at", "delivered_at"]
    raw_id_fields = ["grid"]

    def get_fields(self, request, obj=None):
        return ["grid", "title", "body"] if obj is None else ["grid", "title", "body", "author", "created_at",
                                                               "delivered_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and request.user.commands_district

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        posted = grid_notice_post(author=request.user, grid=obj.grid, title=obj.title, body=obj.body)
        for column in GridNotice._meta.concrete_fields:  # the admin logs and links the object it was given
            setattr(obj, column.attname, getattr(posted, column.attname))


@admin.register(EventCategory)
class EventCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "platform", "department", "severity", "photo_required",
                    "accept_hours", "dispatch_hours", "handle_hours", "verify_hours", "active"]
    list_filter = ["platform", "major_code", "department", "severity", "active"]
    list_editable = ["department", "severity", "photo_required", "accept_hours", "dispatch_hours", "handle_hours",
                     "verify_hours", "active"]
    search_fields = ["code", "name", "name_en"]


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventHistoryInline(_ReadOnlyInline):
    model = EventHistory
    fields = ["at", "actor_label", "action", "from_status", "to_status", "note"]


class EventPhotoInline(_ReadOnlyInline):
    model = EventPhoto
    fields = ["stage", "uploaded_by", "width", "height", "exif_lng", "exif_lat", "taken_at", "created_at"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """Events are read here; they move only through ``event_transition`` (rules, history, live feed)."""

    list_display = ["case_number", "category", "status", "grid", "department", "assignee", "reported_at", "deadline",
                    "escalation_level"]
    list_filter = ["status", "source", "department", "severity", "escalation_level"]
    list_select_related = ["category", "grid", "department", "assignee"]
    search_fields = ["case_number", "description"]
    date_hierarchy = "reported_at"
    inlines = [EventHistoryInline, EventPhotoInline]


class ConsentInline(_ReadOnlyInline):
    """Consent is recorded and withdrawn on a visit (the phone), with who and when: read here."""

    model = HouseholdConsent
    fk_name = "household"
    fields = ["given_by", "relation", "given_at", "recorded_by", "withdrawn_at", "withdrawn_by"]


class MeterInline(admin.TabularInline):
    model = WaterMeter
    extra = 0
    fields = ["serial", "active", "installed_at", "last_reading_at"]
    readonly_fields = ["last_reading_at"]


class HouseholdForm(forms.ModelForm):
    class Meta:
        model = Household
        exclude = ["grid"]

    def clean(self):
        """The household's grid follows its place; a place outside the district is refused on the form."""
        from gridapp.geography.locator import OutsideDistrict, district_locator

        cleaned = super().clean()
        lng, lat = cleaned.get("lng"), cleaned.get("lat")
        if lng is not None and lat is not None:
            try:
                self.instance.grid_id = district_locator().locate_wgs84(lng, lat).grid_id
            except OutsideDistrict:
                self.add_error("lng", _("This point is outside the district."))
        return cleaned


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    """A watched household: its people, its rules (per household), its meter; its grid follows its place."""

    form = HouseholdForm
    list_display = ["code", "address", "grid", "watched", "no_use_hours", "running_hours", "silent_hours"]
    list_filter = ["watched"]
    list_select_related = ["grid"]
    search_fields = ["code", "address"]
    readonly_fields = ["grid", "watched", "watched_since"]
    inlines = [MeterInline, ConsentInline]


@admin.register(ReadingRefusal)
class ReadingRefusalAdmin(ReadOnlyAdmin):
    """Readings refused, per day, path, reason and meter: where a meter or a gateway needs a look."""

    list_display = ["day", "source", "code", "serial", "count"]
    list_filter = ["source", "code", "day"]
    search_fields = ["serial"]
