import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from portal.alerts.models import Alert, AlertRule
from portal.drift.tables import NUMBER, format_value

STATUS_CLASS = {"open": "status-failed", "acknowledged": "status-partially_succeeded"}


class AlertRuleTable(tables.Table):
    name = tables.TemplateColumn(
        template_code=(
            '{% load portal %}{% can "manage_alert_rules" customer as can_manage %}'
            '{% if can_manage %}<a href="{% url "alerts:rule-edit" customer.slug record.pk %}">'
            "{{ value }}</a>{% else %}{{ value }}{% endif %}"
        ),
        order_by=("name", "id"),
    )
    enabled = tables.TemplateColumn(template_name="alerts/_rule_toggle.html", orderable=False)
    filters = tables.Column(empty_values=(), verbose_name="Matches", orderable=False)
    min_severity = tables.Column(verbose_name="Min. severity", attrs=NUMBER)
    direction = tables.Column(orderable=False)
    channels = tables.Column(empty_values=(), verbose_name="Channels", orderable=False)
    cooldown_hours = tables.Column(verbose_name="Cooldown", attrs=NUMBER)
    alert_count = tables.Column(verbose_name="Alerts", attrs=NUMBER)
    actions = tables.TemplateColumn(
        template_name="alerts/_rule_actions.html", orderable=False, verbose_name=""
    )

    class Meta:
        model = AlertRule
        fields = (
            "name",
            "enabled",
            "filters",
            "min_severity",
            "direction",
            "channels",
            "cooldown_hours",
            "alert_count",
            "actions",
        )
        empty_text = "No alert rules yet: a rule decides which drift events raise an alert."
        attrs = {"class": "table", "id": "rules-table"}
        row_attrs = {"data-rule": lambda record: record.pk}

    def __init__(self, *args, payer_names: dict[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.payer_names = payer_names or {}

    def render_filters(self, record):
        payers = [self.payer_names[p] for p in record.payer_ids if p in self.payer_names]
        parts = [
            ("Drift", ", ".join(record.drift_types) or "any type"),
            ("Payers", ", ".join(payers) or "any payer"),
            ("CPT", ", ".join(record.cpt_groups) or "any group"),
        ]
        return format_html_join(" · ", "<span>{}: {}</span>", parts)

    def render_min_severity(self, value):
        return f"{value:.2f}"

    def render_channels(self, record):
        parts = []
        if n := len(record.email_recipients):
            parts.append(f"{n} e-mail{'s' if n != 1 else ''}")
        if n := len(record.webhook_endpoint_ids):
            parts.append(f"{n} webhook{'s' if n != 1 else ''}")
        return ", ".join(parts) or "none (listed here only)"

    def render_cooldown_hours(self, value):
        return f"{value} h"


class AlertTable(tables.Table):
    select = tables.TemplateColumn(
        template_code=(
            '<input type="checkbox" name="alert" value="{{ record.pk }}" form="bulk-form" '
            'aria-label="Select alert {{ record.pk }}">'
        ),
        verbose_name="",
        orderable=False,
    )
    created_at = tables.TemplateColumn(
        verbose_name="Raised",
        template_code=(
            '<a href="{% url "alerts:alert-detail" customer.slug record.pk %}">'
            '{{ value|date:"Y-m-d H:i" }}</a>'
        ),
        order_by=("created_at", "id"),
    )
    severity = tables.Column(attrs=NUMBER, order_by=("severity", "id"))
    drift_type = tables.Column(verbose_name="Drift", order_by=("drift_type", "id"))
    payer = tables.Column(accessor="payer__name", verbose_name="Payer", order_by=("payer__name",))
    cpt_group = tables.Column(
        accessor="event__cpt_group", verbose_name="CPT group", orderable=False
    )
    values = tables.Column(
        empty_values=(), verbose_name="Baseline → current", orderable=False, attrs=NUMBER
    )
    rule_name = tables.Column(verbose_name="Rule", order_by=("rule_name", "id"))
    status = tables.Column(order_by=("status", "id"))

    class Meta:
        model = Alert
        fields = (
            "select",
            "created_at",
            "severity",
            "drift_type",
            "payer",
            "cpt_group",
            "values",
            "rule_name",
            "status",
        )
        order_by = ("-created_at",)
        empty_text = "No alerts yet: they appear when a detection run finds drift a rule asks for."
        attrs = {"class": "table", "id": "alerts-table"}
        row_attrs = {
            "data-alert": lambda record: record.pk,
            "class": lambda record: "suppressed" if record.suppressed else "",
        }

    def render_severity(self, value, record):
        return format_html(
            '<span class="severity severity-{}">{} {}</span>', record.label, f"{value:.2f}",
            record.label,
        )  # fmt: skip

    def render_values(self, record):
        kind = record.drift_type
        baseline = format_value(kind, record.event.baseline_value)
        return f"{baseline} → {format_value(kind, record.event.current_value)}"

    def render_status(self, value, record):
        css = STATUS_CLASS.get(record.status, "status-succeeded")
        badge = format_html('<span class="status {}">{}</span>', css, record.get_status_display())
        if record.suppressed:
            return format_html(
                '{} <span class="suppressed-reason">Suppressed: {}</span>',
                badge,
                record.suppressed_reason,
            )
        return badge
