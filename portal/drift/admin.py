from django.contrib import admin

from portal.drift.models import DetectionSettings, DriftEvent, DriftRun


@admin.register(DetectionSettings)
class DetectionSettingsAdmin(admin.ModelAdmin):
    list_display = ("customer", "current_days", "baseline_days", "min_volume", "updated_at")
    search_fields = ("customer__slug", "customer__name")


@admin.register(DriftRun)
class DriftRunAdmin(admin.ModelAdmin):
    list_display = (
        "id", "customer", "as_of", "trigger", "status", "segments_examined", "tests_run",
        "events_created", "events_updated", "created_at",
    )  # fmt: skip
    list_filter = ("status", "trigger", "customer")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)
    readonly_fields = [f.name for f in DriftRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DriftEvent)
class DriftEventAdmin(admin.ModelAdmin):
    list_display = (
        "customer", "payer", "cpt_group", "drift_type", "direction", "label", "severity",
        "baseline_value", "current_value", "p_value", "current_end",
    )  # fmt: skip
    list_filter = ("drift_type", "direction", "label", "customer")
    search_fields = ("payer__name", "cpt_group", "reason_code")
    date_hierarchy = "current_end"
    list_select_related = ("customer", "payer")
    readonly_fields = [f.name for f in DriftEvent._meta.fields]

    def has_add_permission(self, request):
        return False
