import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from portal.core.tables import DateTimeColumn, TemplateColumn
from portal.webhooks.models import WebhookEndpoint, WebhookMessage

NUMBER = {"th": {"class": "num"}, "td": {"class": "num"}}


class WebhookEndpointTable(tables.Table):
    name = TemplateColumn(
        template_code=(
            '<a href="{% url "webhooks:endpoint-detail" customer.slug record.pk %}">{{ value }}</a>'
        ),
        order_by=("name", "id"),
    )
    url = tables.Column(verbose_name="URL", orderable=False)
    event_types = tables.Column(verbose_name="Events", orderable=False, empty_values=())
    enabled = tables.Column(verbose_name="State", empty_values=())
    pending_count = tables.Column(verbose_name="Pending", attrs=NUMBER)
    dead_count = tables.Column(verbose_name="Dead", attrs=NUMBER)
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")

    class Meta:
        model = WebhookEndpoint
        fields = (
            "name", "url", "event_types", "enabled", "pending_count", "dead_count", "created_at",
        )  # fmt: skip
        empty_text = "No webhook endpoints yet."
        attrs = {"class": "table", "id": "endpoints-table"}
        row_attrs = {"data-endpoint": lambda record: record.pk}

    def render_event_types(self, value):
        return ", ".join(value) if value else "all events"

    def render_enabled(self, value, record):
        if value:
            return mark_safe('<span class="status status-succeeded">enabled</span>')
        return format_html(
            '<span class="status status-failed" title="{}">disabled</span>', record.disabled_reason
        )


class WebhookMessageTable(tables.Table):
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d H:i:s")
    webhook_id = TemplateColumn(
        verbose_name="Webhook id",
        orderable=False,
        template_code=(
            '<a href="{% url "webhooks:message-detail" customer.slug record.pk %}">'
            "<code>{{ value }}</code></a>"
        ),
    )
    event_type = tables.Column(verbose_name="Event", orderable=False)
    endpoint = tables.Column(accessor="endpoint__name", verbose_name="Endpoint", orderable=False)
    status = tables.Column()
    attempts = tables.Column(attrs=NUMBER)
    last_status_code = tables.Column(verbose_name="Last response", attrs=NUMBER, default="—")
    next_attempt_at = DateTimeColumn(verbose_name="Next attempt", format="Y-m-d H:i:s", default="—")

    class Meta:
        model = WebhookMessage
        fields = (
            "created_at", "webhook_id", "event_type", "endpoint", "status", "attempts",
            "last_status_code", "next_attempt_at",
        )  # fmt: skip
        order_by = ("-created_at",)
        empty_text = "No messages yet: events and tests appear here once sent."
        attrs = {"class": "table", "id": "messages-table"}
        row_attrs = {
            "data-message": lambda record: record.pk,
            "data-status": lambda record: record.status,
        }

    def render_event_type(self, record):
        return record.event_type  # the type's code, as on the wire (not its description)

    def render_status(self, record):
        value = record.status
        css = {"pending": "queued", "succeeded": "succeeded", "dead": "failed"}.get(value, value)
        return format_html('<span class="status status-{}">{}</span>', css, value)


class DeadMessageTable(WebhookMessageTable):
    replay = TemplateColumn(
        verbose_name="",
        orderable=False,
        empty_values=(),
        template_code=(
            "{% load portal %}{% can 'manage_webhooks' customer as can_manage %}"
            "{% if can_manage %}<form method='post' "
            "action='{% url \"webhooks:message-replay\" customer.slug record.pk %}'>"
            "{% csrf_token %}<button type='submit' class='button-secondary'>Replay</button></form>"
            "{% endif %}"
        ),
    )

    class Meta(WebhookMessageTable.Meta):
        fields = (*WebhookMessageTable.Meta.fields, "replay")
        empty_text = "No dead messages: every message was delivered or is still being tried."
        attrs = {"class": "table", "id": "dead-table"}
