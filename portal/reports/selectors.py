"""Reads of the reports app. Every read takes the customer (or an object already scoped to one)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from portal.accounts.models import Customer
from portal.claims.selectors import weeks_until
from portal.reports.builders import Week, WeeklySummary
from portal.reports.models import Report, ReportFile, ReportSettings

CHART_WEEKS = 12


def report_list(*, customer: Customer) -> QuerySet[Report]:
    """The customer's reports, newest first, with who asked for them and their files."""
    return (
        Report.objects.filter(customer=customer)
        .select_related("requested_by")
        .prefetch_related("files")
        .order_by("-created_at", "-id")
    )


def report_get(*, customer: Customer, pk: int) -> Report:
    """One report of the customer, or ``Report.DoesNotExist`` (another customer's is a 404)."""
    return report_list(customer=customer).get(pk=pk)


def report_file_get(*, report: Report, format: str) -> ReportFile:
    """A generated file of the report, or ``ReportFile.DoesNotExist``."""
    return ReportFile.objects.get(customer_id=report.customer_id, report=report, format=format)


def report_settings(*, customer: Customer) -> ReportSettings:
    """The customer's stored settings, or the defaults (unsaved) when there are none."""
    return ReportSettings.objects.filter(customer=customer).first() or ReportSettings(
        customer=customer
    )


# -- the weekly summary ---------------------------------------------------------------------------

EVENT_COLUMNS = [
    ("event_id", "id"),
    ("severity", "severity"),
    ("label", "label"),
    ("drift_type", "drift_type"),
    ("payer", "payer__name"),
    ("cpt_group", "cpt_group"),
    ("direction", "direction"),
    ("baseline_value", "baseline_value"),
    ("current_value", "current_value"),
    ("delta", "delta"),
    ("revenue_impact", "revenue_impact"),
    ("current_start", "current_start"),
    ("current_end", "current_end"),
]
EVENT_HEADERS = [name for name, _ in EVENT_COLUMNS]
PDF_EVENT_HEADERS = [
    "Severity", "Drift type", "Payer", "CPT group", "Direction", "Baseline", "Current", "Delta",
    "Impact (30 d)", "Current window",
]  # fmt: skip


def period_events(*, customer: Customer, start: date, end: date) -> QuerySet:
    """Drift events written (found or re-confirmed) by a detection run during the period, most
    severe first: what drifted that week."""
    from portal.drift.selectors import drift_event_list

    return (
        drift_event_list(customer=customer)
        .filter(updated_at__date__gte=start, updated_at__date__lte=end)
        .order_by("-severity", "-revenue_impact", "id")
    )


def event_rows(events: QuerySet) -> list[tuple]:
    return list(events.values_list(*(lookup for _, lookup in EVENT_COLUMNS)))


def pdf_event_row(row: tuple) -> list[str]:
    from portal.drift.tables import format_delta, format_value

    values = dict(zip(EVENT_HEADERS, row, strict=True))
    kind = values["drift_type"]
    return [
        f"{values['severity']:.2f} {values['label']}",
        kind,
        values["payer"],
        values["cpt_group"],
        values["direction"],
        format_value(kind, values["baseline_value"]),
        format_value(kind, values["current_value"]),
        format_delta(kind, values["delta"]),
        f"{'-' if values['revenue_impact'] < 0 else ''}${abs(values['revenue_impact']):,.0f}",
        f"{values['current_start']:%Y-%m-%d} - {values['current_end']:%Y-%m-%d}",
    ]


def weekly_denial_rates(*, customer: Customer, end: date, weeks: int = CHART_WEEKS) -> list[Week]:
    """Decided and denied claims per week of decision (all payers), one grouped query."""
    from portal.claims.models import Claim, Outcome

    mondays = weeks_until(end, weeks)
    counts = {
        row["week"]: row
        for row in Claim.objects.filter(
            customer=customer, decided_date__gte=mondays[0], decided_date__lte=end
        )
        .exclude(outcome=Outcome.PENDING)
        .annotate(week=TruncWeek("decided_date"))
        .values("week")
        .annotate(decided=Count("id"), denied=Count("id", filter=Q(outcome=Outcome.DENIED)))
    }

    def week_of(value) -> date:
        return value.date() if isinstance(value, datetime) else value

    counts = {week_of(key): row for key, row in counts.items()}
    return [
        Week(start=monday, decided=counts.get(monday, {}).get("decided", 0),
             denied=counts.get(monday, {}).get("denied", 0))
        for monday in mondays
    ]  # fmt: skip


def weekly_summary(
    *, customer: Customer, start: date, end: date, rows: list[tuple], now: datetime | None = None
) -> WeeklySummary:
    """Everything the PDF shows, from a few aggregate queries (``rows``: the events table)."""
    from portal.alerts.models import Alert
    from portal.claims.models import Claim, Outcome

    values = [dict(zip(EVENT_HEADERS, row, strict=True)) for row in rows]
    worsening = [v for v in values if v["direction"] == "worsening"]
    at_risk = sum((v["revenue_impact"] for v in worsening), Decimal("0"))
    decided = Claim.objects.filter(
        customer=customer, decided_date__gte=start, decided_date__lte=end
    ).exclude(outcome=Outcome.PENDING).aggregate(
        n=Count("id"), denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
        denied_billed=Sum("billed_amount", filter=Q(outcome=Outcome.DENIED)),
    )  # fmt: skip
    rate = f"{decided['denied'] / decided['n'] * 100:.1f}%" if decided["n"] else "-"
    alerts = Alert.objects.filter(
        customer=customer, created_at__date__gte=start, created_at__date__lte=end
    ).count()
    kpis = [
        ("Drift events", f"{len(values)}"),
        ("Worsening", f"{len(worsening)}"),
        ("High or critical", f"{sum(v['label'] in ('high', 'critical') for v in values)}"),
        ("Revenue at risk (30 d)", f"${at_risk:,.0f}"),
        ("Claims decided", f"{decided['n']:,}"),
        ("Denial rate", rate),
        ("Alerts raised", f"{alerts}"),
    ]
    return WeeklySummary(
        customer_name=customer.name,
        period_start=start,
        period_end=end,
        generated_at=now or timezone.now(),
        kpis=kpis,
        weeks=weekly_denial_rates(customer=customer, end=end),
        event_headers=PDF_EVENT_HEADERS,
        event_rows=[pdf_event_row(row) for row in rows],
        events_total=len(rows),
    )


def default_period(today: date) -> tuple[date, date]:
    """The seven days up to and including ``today``."""
    return today - timedelta(days=6), today
