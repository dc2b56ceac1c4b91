from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from gridapp.models import Community, Grid, GridNotice, Street


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "area_m2"]
    search_fields = ["code", "name"]
    exclude = ["boundary"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "street", "area_m2"]
    list_filter = ["street"]
    search_fields = ["code", "name"]
    exclude = ["boundary"]


@admin.register(Grid)
class GridAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "community", "area_m2"]
    list_filter = ["community__street"]
    search_fields = ["code", "name"]
    list_select_related = ["community"]
    exclude = ["boundary"]


@admin.register(GridNotice)
class GridNoticeAdmin(admin.ModelAdmin):
    list_display = ["id", "grid", "title", "author", "created_at", "delivered_at"]
    raw_id_fields = ["grid", "author"]
