import django_tables2 as tables

from portal.reports.models import Report

NUMBER = {"th": {"class": "num"}, "td": {"class": "num"}}


class ReportTable(tables.Table):
    id = tables.TemplateColumn(
        verbose_name="Report",
        template_code=(
            '<a href="{% url "reports:report-detail" customer.slug record.pk %}">#{{ value }}</a>'
        ),
    )
    kind = tables.Column(orderable=False)
    period = tables.Column(empty_values=(), verbose_name="Period", orderable=False)
    status = tables.TemplateColumn(template_name="reports/_status_cell.html", orderable=False)
    row_count = tables.Column(verbose_name="Rows", attrs=NUMBER)
    requested_by = tables.Column(
        accessor="requested_by__email",
        verbose_name="Requested by",
        order_by=("requested_by__email",),
        default="the schedule",
    )
    created_at = tables.DateTimeColumn(
        verbose_name="Created", format="Y-m-d H:i", attrs={"td": {"class": "nowrap"}}
    )
    files = tables.TemplateColumn(
        template_name="reports/_download_links.html", orderable=False, verbose_name="Download"
    )

    class Meta:
        model = Report
        fields = (
            "id", "kind", "period", "status", "row_count", "requested_by", "created_at", "files",
        )  # fmt: skip
        order_by = ("-created_at",)
        empty_text = "No reports yet: generate the weekly summary, or export a table."
        attrs = {"class": "table", "id": "reports-table"}
        row_attrs = {"data-report": lambda record: record.pk}

    def render_kind(self, record):
        return record.get_kind_display()

    def render_period(self, record):
        if record.period_start:
            return f"{record.period_start:%Y-%m-%d} – {record.period_end:%Y-%m-%d}"
        return "filters: " + (", ".join(f"{k}={v}" for k, v in record.filters.items()) or "none")
