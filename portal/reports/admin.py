from django.contrib import admin

from portal.reports import services
from portal.reports.models import Report, ReportFile, ReportSettings


class ReportFileInline(admin.TabularInline):
    model = ReportFile
    extra = 0
    fields = ("format", "file_name", "size_bytes", "sha256", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "id", "customer", "kind", "status", "trigger", "period_start", "period_end", "row_count",
        "requested_by", "created_at", "finished_at",
    )  # fmt: skip
    list_filter = ("kind", "status", "trigger", "customer")
    search_fields = ("customer__slug", "customer__name", "requested_by__email", "error")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "requested_by")
    readonly_fields = [f.name for f in Report._meta.fields]
    inlines = [ReportFileInline]
    actions = ["regenerate"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Regenerate the selected reports")
    def regenerate(self, request, queryset):
        queued = 0
        for report in queryset.select_related("customer"):
            if report.is_finished:  # a queued or running report is left to finish
                services.report_regenerate(report=report, actor=request.user)
                queued += 1
        self.message_user(request, f"Queued {queued} report(s) for regeneration.")


@admin.register(ReportFile)
class ReportFileAdmin(admin.ModelAdmin):
    list_display = ("report", "customer", "format", "file_name", "size_bytes", "created_at")
    list_filter = ("format", "customer")
    search_fields = ("file_name", "sha256")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "report")
    readonly_fields = [f.name for f in ReportFile._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ReportSettings)
class ReportSettingsAdmin(admin.ModelAdmin):
    list_display = ("customer", "weekly_enabled", "weekday", "email_pdf", "updated_at")
    list_filter = ("weekly_enabled", "weekday", "email_pdf")
    search_fields = ("customer__slug", "customer__name")
    list_select_related = ("customer",)
