from django.contrib import admin

from portal.alerts.models import Alert, AlertFeedback, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name", "customer", "enabled", "min_severity", "direction", "cooldown_hours", "updated_at",
    )  # fmt: skip
    list_filter = ("enabled", "direction", "customer")
    search_fields = ("name", "customer__slug", "customer__name")
    list_select_related = ("customer",)


class FeedbackInline(admin.TabularInline):
    model = AlertFeedback
    extra = 0
    fields = ("user", "verdict", "reason_codes", "recovered_amount", "recovered_on", "updated_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "id", "customer", "rule_name", "payer", "drift_type", "label", "status", "suppressed",
        "notify_status", "created_at",
    )  # fmt: skip
    list_filter = ("status", "suppressed", "notify_status", "drift_type", "label", "customer")
    search_fields = ("rule_name", "payer__name", "suppressed_reason")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "payer")
    readonly_fields = [f.name for f in Alert._meta.fields]
    inlines = [FeedbackInline]
    actions = ["resend_notification"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send the e-mail notification again")
    def resend_notification(self, request, queryset):
        from portal.alerts.models import NotifyStatus
        from portal.core.tasks import enqueue

        ids = list(queryset.filter(suppressed=False).values_list("pk", flat=True))
        queryset.filter(pk__in=ids).update(notify_status=NotifyStatus.PENDING, notify_attempts=0)
        for pk in ids:
            enqueue("portal.alerts.tasks.notify", pk)
        self.message_user(request, f"Queued {len(ids)} notification(s).")


@admin.register(AlertFeedback)
class AlertFeedbackAdmin(admin.ModelAdmin):
    list_display = ("alert", "customer", "user", "verdict", "recovered_amount", "updated_at")
    list_filter = ("verdict", "customer")
    search_fields = ("user__email", "notes")
    date_hierarchy = "updated_at"
    list_select_related = ("customer", "user", "alert")
