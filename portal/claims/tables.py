import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils.html import format_html

from portal.claims.cpt import default_group
from portal.claims.models import Claim, CptGroupOverride, Payer, PayerAlias, RejectedRow, Upload
from portal.core.charts import sparkline
from portal.core.tables import DateColumn, DateTimeColumn, TemplateColumn

NUMBER = {"th": {"class": "num"}, "td": {"class": "num"}}


class UploadTable(tables.Table):
    file_name = TemplateColumn(
        verbose_name="File",
        template_code=(
            '<a href="{% url "claims:upload-detail" customer.slug record.pk %}">{{ value }}</a>'
        ),
    )
    status = TemplateColumn(template_name="claims/_upload_status.html")
    rows_total = tables.Column(verbose_name="Rows", attrs=NUMBER)
    inserted = tables.Column(attrs=NUMBER)
    updated = tables.Column(attrs=NUMBER)
    unchanged = tables.Column(attrs=NUMBER)
    rejected = tables.Column(attrs=NUMBER)
    uploaded_by = tables.Column(
        accessor="uploaded_by__email",
        verbose_name="Uploaded by",
        order_by=("uploaded_by__email",),
        default="—",
    )
    created_at = DateTimeColumn(
        verbose_name="When", format="Y-m-d H:i", attrs={"td": {"class": "nowrap"}}
    )

    class Meta:
        model = Upload
        fields = (
            "file_name",
            "status",
            "rows_total",
            "inserted",
            "updated",
            "unchanged",
            "rejected",
            "uploaded_by",
            "created_at",
        )
        empty_text = "No uploads yet."
        attrs = {"class": "table", "id": "uploads-table"}
        row_attrs = {"data-upload": lambda record: record.pk}


class RejectedRowTable(tables.Table):
    row_number = tables.Column(verbose_name="Row", attrs=NUMBER, order_by=("row_number", "id"))
    kind = tables.Column()
    column = tables.Column(default="—")
    value = tables.Column(default="—")
    reason = tables.Column(orderable=False)

    class Meta:
        model = RejectedRow
        fields = ("row_number", "kind", "column", "value", "reason")
        empty_text = "No row was rejected."
        attrs = {"class": "table", "id": "rejected-table"}
        row_attrs = {"data-row": lambda record: record.row_number}


def _amount(value):
    return f"{value:,.2f}"


class ClaimTable(tables.Table):
    claim_id = tables.Column(verbose_name="Claim id", default="—", orderable=False)
    payer = tables.Column(accessor="payer__name", verbose_name="Payer", orderable=False)
    cpt = tables.Column(verbose_name="CPT", orderable=False)
    cpt_group = tables.Column(verbose_name="CPT group", orderable=False)
    submitted_date = DateColumn(
        verbose_name="Submitted", format="Y-m-d", order_by=("submitted_date", "id")
    )
    decided_date = DateColumn(
        verbose_name="Decided", format="Y-m-d", default="—", order_by=("decided_date", "id")
    )
    outcome = tables.Column(orderable=False)
    billed_amount = tables.Column(verbose_name="Billed", attrs=NUMBER, default="—")
    allowed_amount = tables.Column(verbose_name="Allowed", attrs=NUMBER, default="—")
    paid_amount = tables.Column(verbose_name="Paid", attrs=NUMBER, default="—")
    denial_reason_code = tables.Column(verbose_name="Denial code", default="", orderable=False)

    class Meta:
        model = Claim
        fields = (
            "claim_id",
            "payer",
            "cpt",
            "cpt_group",
            "submitted_date",
            "decided_date",
            "outcome",
            "billed_amount",
            "allowed_amount",
            "paid_amount",
            "denial_reason_code",
        )
        order_by = ("-submitted_date",)
        empty_text = "No claims yet: upload a file to see them here."
        attrs = {"class": "table", "id": "claims-table"}
        row_attrs = {"data-claim": lambda record: record.claim_id or record.pk}

    def render_billed_amount(self, value):
        return _amount(value)

    def render_allowed_amount(self, value):
        return _amount(value)

    def render_paid_amount(self, value):
        return _amount(value)

    def render_outcome(self, value, record):
        return format_html(
            '<span class="outcome outcome-{}">{}</span>',
            value.lower(),
            record.get_outcome_display(),
        )


class PayerAliasTable(tables.Table):
    raw_name = tables.Column(verbose_name="Raw name in your files")
    arrow = tables.Column(empty_values=(), verbose_name="", orderable=False, default="→")
    payer = tables.Column(
        accessor="payer__name", verbose_name="Counted as payer", order_by=("payer__name",)
    )
    updated_at = DateTimeColumn(verbose_name="Changed", format="Y-m-d")
    actions = TemplateColumn(
        template_name="claims/_alias_actions.html", orderable=False, verbose_name=""
    )

    class Meta:
        model = PayerAlias
        fields = ("raw_name", "arrow", "payer", "updated_at", "actions")
        empty_text = "No payer aliases yet: every raw payer name counts as a payer of its own."
        attrs = {"class": "table", "id": "aliases-table"}
        row_attrs = {"data-alias": lambda record: record.raw_name}

    def render_arrow(self):
        return "→"


class CptGroupOverrideTable(tables.Table):
    cpt = tables.Column(verbose_name="CPT")
    group = tables.Column(verbose_name="Group")
    default = tables.Column(
        empty_values=(), verbose_name="Default group", orderable=False, accessor="cpt"
    )
    updated_at = DateTimeColumn(verbose_name="Changed", format="Y-m-d")
    actions = TemplateColumn(
        template_name="claims/_cpt_actions.html", orderable=False, verbose_name=""
    )

    class Meta:
        model = CptGroupOverride
        fields = ("cpt", "group", "default", "updated_at", "actions")
        empty_text = "No CPT group overrides yet: every code is in its default group."
        attrs = {"class": "table", "id": "cpt-groups-table"}
        row_attrs = {"data-cpt": lambda record: record.cpt}

    def render_default(self, record):
        return default_group(record.cpt)


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _days(value) -> str:
    return "—" if value is None else f"{value:.1f}"


class PayerSummaryTable(tables.Table):
    """One row per payer. ``trends`` (payer id → weekly (decided, denied)) is set by the view
    after pagination, from one query for the whole page; the sparkline column draws from it."""

    name = TemplateColumn(
        verbose_name="Payer",
        order_by=("name", "id"),
        template_code=(
            '<a href="{% url "claims:payer-detail" customer.slug record.pk %}">{{ value }}</a>'
        ),
    )
    claim_count = tables.Column(
        verbose_name="Claims decided", attrs=NUMBER, order_by=("claim_count", "id")
    )
    denial_rate = tables.Column(
        verbose_name="Denial rate", attrs=NUMBER, order_by=("denial_rate", "id")
    )
    mean_days = tables.Column(verbose_name="Mean days", attrs=NUMBER, order_by=("mean_days", "id"))
    median_days = tables.Column(
        verbose_name="Median days", attrs=NUMBER, order_by=("median_days", "id")
    )
    billed = tables.Column(verbose_name="Billed $", attrs=NUMBER, order_by=("billed", "id"))
    denied_dollars = tables.Column(
        verbose_name="Denied $", attrs=NUMBER, order_by=("denied_dollars", "id")
    )
    open_events = tables.Column(
        verbose_name="Open drift", attrs=NUMBER, order_by=("open_events", "id")
    )
    trend = tables.Column(
        empty_values=(),
        verbose_name="Denial rate, 12 weeks",
        orderable=False,
        attrs={"td": {"class": "trend"}},
    )

    class Meta:
        model = Payer
        fields = (
            "name",
            "claim_count",
            "denial_rate",
            "trend",
            "open_events",
            "mean_days",
            "median_days",
            "billed",
            "denied_dollars",
        )
        empty_text = "No decided claims yet: upload claims to see your payers here."
        attrs = {"class": "table", "id": "payers-table"}
        row_attrs = {
            "data-payer": lambda record: record.name,
            "class": lambda record: "drifting" if record.open_events else "",
        }

    trends: dict[int, list[tuple[int, int]]] = {}
    trend_domain: tuple[float, float] | None = None  # one scale for every row of the page

    def render_denial_rate(self, value):
        return _percent(value)

    def render_mean_days(self, value):
        return _days(value)

    def render_median_days(self, value):
        return _days(value)

    def render_billed(self, value):
        return f"{value:,.0f}"

    def render_denied_dollars(self, value):
        return f"{value:,.0f}"

    def render_open_events(self, value):
        if not value:
            return "0"
        return format_html(
            '<span class="flag" title="Drifting now">⚠ {} open</span>',
            value,
        )

    def render_trend(self, record):
        weeks = self.trends.get(record.pk) or []
        rates = [denied / decided if decided else None for decided, denied in weeks]
        spark = sparkline(rates, domain=self.trend_domain)
        if spark is None:
            return "—"
        label = f"denial rate {_percent(spark.first)} → {_percent(spark.last)}"
        return render_to_string("core/_sparkline.html", {"spark": spark, "label": label})
