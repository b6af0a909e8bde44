import django_tables2 as tables
from django.utils.html import format_html

from portal.core.tables import DateColumn, TemplateColumn
from portal.drift.models import DriftEvent, DriftRun

NUMBER = {"th": {"class": "num"}, "td": {"class": "num"}}

# How each drift type's values read (units differ: a rate, days, dollars).
PERCENT_TYPES = {"denial_rate", "new_denial_reason"}


def format_value(drift_type: str, value: float | None) -> str:
    if value is None:
        return "—"
    if drift_type in PERCENT_TYPES:
        return f"{value * 100:.1f}%"
    if drift_type == "decision_time":
        return f"{value:.1f} d"
    return f"${value:,.2f}"


def format_delta(drift_type: str, value: float) -> str:
    if drift_type in PERCENT_TYPES:
        return f"{value * 100:+.1f} pp"
    if drift_type == "decision_time":
        return f"{value:+.1f} d"
    return f"{'+' if value >= 0 else '−'}${abs(value):,.2f}"


class DriftRunTable(tables.Table):
    id = TemplateColumn(
        verbose_name="Run",
        template_code=(
            '<a href="{% url "drift:run-detail" customer.slug record.pk %}">#{{ value }}</a>'
        ),
    )
    as_of = DateColumn(verbose_name="As of", format="Y-m-d")
    trigger = tables.Column()
    status = TemplateColumn(template_name="claims/_upload_status.html")
    segments = tables.Column(
        empty_values=(), verbose_name="Segments", accessor="segments_examined", attrs=NUMBER
    )
    tests_run = tables.Column(verbose_name="Tests", attrs=NUMBER)
    events_created = tables.Column(verbose_name="Events new", attrs=NUMBER)
    events_updated = tables.Column(verbose_name="Events updated", attrs=NUMBER)
    duration = tables.Column(
        empty_values=(), verbose_name="Duration", orderable=False, attrs=NUMBER
    )
    requested_by = tables.Column(
        accessor="requested_by__email",
        verbose_name="Requested by",
        order_by=("requested_by__email",),
        default="the system",
    )

    class Meta:
        model = DriftRun
        fields = (
            "id",
            "as_of",
            "trigger",
            "status",
            "segments",
            "tests_run",
            "events_created",
            "events_updated",
            "duration",
            "requested_by",
        )
        empty_text = "No drift runs yet."
        attrs = {"class": "table", "id": "runs-table"}
        row_attrs = {"data-run": lambda record: record.pk}

    def render_segments(self, record):
        return f"{record.segments_examined} / {record.segments_total}"

    def render_duration(self, record):
        return "—" if record.seconds is None else f"{record.seconds:.1f} s"


class DriftEventTable(tables.Table):
    severity = tables.Column(attrs=NUMBER, order_by=("severity", "id"))
    drift_type = TemplateColumn(
        verbose_name="Drift",
        orderable=False,
        template_code=(
            '<a href="{% url "drift:event-detail" customer.slug record.pk %}">{{ value }}</a>'
        ),
    )
    payer = tables.Column(accessor="payer__name", verbose_name="Payer", orderable=False)
    cpt_group = tables.Column(verbose_name="CPT group", orderable=False)
    direction = tables.Column(orderable=False)
    values = tables.Column(
        empty_values=(), verbose_name="Baseline → current", orderable=False, attrs=NUMBER
    )
    delta = tables.Column(orderable=False, attrs=NUMBER)
    p_value = tables.Column(verbose_name="p", orderable=False, attrs=NUMBER)
    revenue_impact = tables.Column(
        verbose_name="Revenue impact", attrs=NUMBER, order_by=("revenue_impact", "id")
    )
    window = tables.Column(
        empty_values=(), verbose_name="Current window", orderable=False, accessor="current_end"
    )

    class Meta:
        model = DriftEvent
        fields = (
            "severity",
            "drift_type",
            "payer",
            "cpt_group",
            "direction",
            "values",
            "delta",
            "p_value",
            "revenue_impact",
            "window",
        )
        order_by = ("-severity",)
        empty_text = "No drift found yet: events appear here after a detection run finds one."
        attrs = {"class": "table", "id": "events-table"}
        row_attrs = {"data-event": lambda record: record.pk}

    def render_severity(self, value, record):
        return format_html(
            '<span class="severity severity-{}">{} {}</span>',
            record.label,
            f"{value:.2f}",
            record.label,
        )

    def render_direction(self, value):
        return format_html('<span class="direction direction-{}">{}</span>', value, value)

    def render_values(self, record):
        kind = record.drift_type
        return (
            f"{format_value(kind, record.baseline_value)} → "
            f"{format_value(kind, record.current_value)}"
        )

    def render_delta(self, value, record):
        return format_delta(record.drift_type, value)

    def render_p_value(self, value):
        return f"{value:.2g}"

    def render_revenue_impact(self, value):
        return f"${value:,.0f}"

    def render_window(self, record):
        return f"{record.current_start:%Y-%m-%d} – {record.current_end:%Y-%m-%d}"
