"""The staff back office for webhooks: endpoints (disable in bulk), messages (replay dead ones in
bulk), attempts and secrets read-only."""

from django.contrib import admin, messages

from portal.core.exceptions import DomainError
from portal.webhooks import services
from portal.webhooks.models import (
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
    WebhookSecret,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = (
        "name", "customer", "url", "enabled", "disabled_reason", "failing_since", "created_at",
    )  # fmt: skip
    list_filter = ("enabled", "customer")
    search_fields = ("name", "url", "customer__slug", "customer__name")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)
    readonly_fields = ("failing_since", "disabled_at", "created_by", "created_at", "updated_at")
    actions = ["disable_endpoints"]

    @admin.action(description="Disable the selected endpoints")
    def disable_endpoints(self, request, queryset):
        count = 0
        for endpoint in queryset.filter(enabled=True).select_related("customer"):
            services.endpoint_disable(
                endpoint=endpoint, actor=request.user, reason=f"Disabled by staff {request.user}"
            )
            count += 1
        self.message_user(request, f"{count} endpoint(s) disabled.", messages.SUCCESS)


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    list_display = (
        "webhook_id", "customer", "endpoint", "event_type", "status", "attempts",
        "last_status_code", "next_attempt_at", "created_at",
    )  # fmt: skip
    list_filter = ("status", "event_type", "customer")
    search_fields = ("webhook_id", "event_key", "endpoint__name")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "endpoint")
    readonly_fields = [f.name for f in WebhookMessage._meta.fields]
    actions = ["replay_dead"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected dead messages")
    def replay_dead(self, request, queryset):
        count, skipped = 0, 0
        for message in queryset.filter(status=MessageStatus.DEAD).select_related("customer"):
            try:
                services.message_replay(message=message, actor=request.user)
                count += 1
            except DomainError:
                skipped += 1  # e.g. its endpoint is disabled
        self.message_user(
            request, f"{count} message(s) replayed, {skipped} skipped.", messages.SUCCESS
        )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = (
        "message", "customer", "number", "started_at", "status_code", "latency_ms", "outcome",
    )  # fmt: skip
    list_filter = ("outcome", "customer")
    search_fields = ("message__webhook_id", "error")
    date_hierarchy = "started_at"
    list_select_related = ("customer", "message")
    readonly_fields = [f.name for f in WebhookAttempt._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookSecret)
class WebhookSecretAdmin(admin.ModelAdmin):
    """Secrets are listed (for support: which ones are valid) but never shown."""

    list_display = ("endpoint", "customer", "created_at", "expires_at")
    list_filter = ("customer",)
    search_fields = ("endpoint__name",)
    date_hierarchy = "created_at"
    list_select_related = ("customer", "endpoint")
    exclude = ("secret",)
    readonly_fields = ("endpoint", "customer", "expires_at", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
