from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from vision.models import Camera, CameraRule, DetectorModel, PhotoBox, Situation, Snapshot
from vision.registry import algorithm_readiness


@admin.register(DetectorModel)
class DetectorModelAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "format", "detects", "active", "file_present", "origin")
    list_filter = ("active", "format")

    @admin.display(description=_("detects"))
    def detects(self, model: DetectorModel) -> str:
        return ", ".join(sorted(model.classes))

    @admin.display(description=_("file present"), boolean=True)
    def file_present(self, model: DetectorModel) -> bool:
        return model.path.exists()


class CameraRuleInline(admin.StackedInline):
    model = CameraRule
    extra = 0
    fields = ("algorithm", "enabled", "zone", "params", "schedule")


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = ("record", "source_kind", "interval_seconds", "enabled", "status", "failures", "last_snapshot_at")
    list_filter = ("enabled", "status", "source_kind")
    search_fields = ("record__name", "record__external_id")
    raw_id_fields = ("record",)
    readonly_fields = ("status", "failures", "last_error", "last_snapshot_at", "algorithms_ready")
    inlines = [CameraRuleInline]

    @admin.display(description=_("algorithms and their models"))
    def algorithms_ready(self, camera: Camera) -> str:
        if camera.pk is None:
            return "-"
        readiness = algorithm_readiness(rule.algorithm for rule in camera.rules.all())
        return format_html_join(
            "", "<div>{}: {}</div>",
            ((found.algorithm, ", ".join(found.models) if found.ready else _("no model detects %(classes)s") % {
                "classes": ", ".join(found.missing)}) for found in readiness)) or "-"


@admin.register(Situation)
class SituationAdmin(ReadOnlyAdmin):
    list_display = ("camera", "rule", "started_at", "last_seen_at", "ended_at", "peak", "snapshots", "event")
    list_filter = ("rule__algorithm",)
    list_select_related = ("camera__record", "rule", "event")


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("camera", "taken_at", "processed_at", "width", "height", "models_used")
    list_select_related = ("camera__record",)
    date_hierarchy = "taken_at"


@admin.register(PhotoBox)
class PhotoBoxAdmin(admin.ModelAdmin):
    """Staff box the objects on incidents' photos here: the training data of new detectors."""

    list_display = ("photo", "label", "x1", "y1", "x2", "y2", "boxed_by", "boxed_at")
    list_filter = ("label",)
    raw_id_fields = ("photo",)
    readonly_fields = ("boxed_by", "boxed_at")

    def save_model(self, request, obj, form, change):
        obj.boxed_by = request.user
        super().save_model(request, obj, form, change)
