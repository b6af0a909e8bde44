from django.contrib import admin

from portal.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, in the database itself too."""

    list_display = (
        "created_at",
        "actor_email",
        "action",
        "outcome",
        "customer",
        "object_type",
        "object_id",
        "ip",
    )
    list_filter = ("action", "outcome", "customer")
    search_fields = ("actor_email", "object_id", "request_id", "ip")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
