"""Reads of the claims app. Every read takes the customer (or an object already scoped to one)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Aggregate,
    Avg,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncWeek
from django.utils import timezone

from portal.accounts.models import Customer
from portal.claims.cpt import DEFAULT_GROUPS
from portal.claims.models import (
    Claim,
    CptGroupOverride,
    Outcome,
    Payer,
    PayerAlias,
    RejectedRow,
    Upload,
)
from portal.dashboard import services as dashboard

# -- claims ---------------------------------------------------------------------------------------


def claim_list(*, customer: Customer) -> QuerySet[Claim]:
    """The customer's claims, newest submission first, with their payer (one query per page)."""
    return (
        Claim.objects.filter(customer=customer)
        .select_related("payer")
        .order_by("-submitted_date", "-id")
    )


CLAIM_EXPORT_COLUMNS = [
    ("claim_id", "claim_id"),
    ("payer", "payer__name"),
    ("cpt", "cpt"),
    ("cpt_group", "cpt_group"),
    ("submitted_date", "submitted_date"),
    ("decided_date", "decided_date"),
    ("outcome", "outcome"),
    ("billed_amount", "billed_amount"),
    ("allowed_amount", "allowed_amount"),
    ("paid_amount", "paid_amount"),
    ("denial_reason_code", "denial_reason_code"),
    ("denial_reason_text", "denial_reason_text"),
    ("payment_date", "payment_date"),
]


def claim_export_rows(queryset: QuerySet[Claim]) -> Iterator[tuple]:
    """Plain tuples in ``CLAIM_EXPORT_COLUMNS`` order, streamed from a server-side cursor: memory
    stays flat whatever the number of claims."""
    fields = [lookup for _, lookup in CLAIM_EXPORT_COLUMNS]
    return queryset.values_list(*fields).iterator(chunk_size=2000)


# -- uploads --------------------------------------------------------------------------------------


def upload_list(*, customer: Customer) -> QuerySet[Upload]:
    return (
        Upload.objects.filter(customer=customer)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )


def upload_get(*, customer: Customer, pk: int) -> Upload:
    """One upload of the customer, or ``Upload.DoesNotExist`` (another customer's is a 404)."""
    return upload_list(customer=customer).get(pk=pk)


def rejected_rows(*, upload: Upload, kind: str | None = None) -> QuerySet[RejectedRow]:
    """The rejected rows (and warnings) of one upload, in file order; ``kind`` narrows to one."""
    rows = RejectedRow.objects.filter(customer_id=upload.customer_id, upload=upload)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("row_number", "id")


# -- payers, aliases, CPT groups ------------------------------------------------------------------


def payer_list(*, customer: Customer) -> QuerySet[Payer]:
    return Payer.objects.filter(customer=customer).order_by("name", "id")


def payer_alias_list(*, customer: Customer) -> QuerySet[PayerAlias]:
    return (
        PayerAlias.objects.filter(customer=customer)
        .select_related("payer")
        .order_by("raw_name", "id")
    )


def payer_alias_get(*, customer: Customer, pk: int) -> PayerAlias:
    return payer_alias_list(customer=customer).select_related("customer").get(pk=pk)


def cpt_group_list(*, customer: Customer) -> QuerySet[CptGroupOverride]:
    """The customer's own CPT group overrides."""
    return CptGroupOverride.objects.filter(customer=customer).order_by("cpt", "id")


def cpt_group_get(*, customer: Customer, pk: int) -> CptGroupOverride:
    return cpt_group_list(customer=customer).select_related("customer").get(pk=pk)


def cpt_group_names(*, customer: Customer | None) -> list[str]:
    """Every group a claim of the customer can be in: the default sections plus the customer's
    own override groups. Read from the small overrides table, never by scanning the claims."""
    names = set(DEFAULT_GROUPS)
    if customer is not None:
        names.update(cpt_group_list(customer=customer).values_list("group", flat=True).distinct())
    return sorted(names, key=str.casefold)


# -- payer summaries (PRODUCT §8: payers, payer detail) -------------------------------------------
#
# By *decision* date: a claim counts in the range it was decided in (PENDING claims have no
# decision yet). Submission-date cohorts are right-censored: recent ones hold mostly the quick
# denials, so they would show every payer denying more this month. Every aggregate reads
# columns of the covering index claim_payer_decided_cover (customer, payer, decided_date INCLUDE
# cpt_group, outcome, submitted_date, billed_amount, …): the summary never visits the table.

DECIDED_OUTCOMES = [o for o in Outcome.values if o != Outcome.PENDING]
SUMMARY_DAYS = 90  # the range when none is chosen: decided in the last 90 days
TREND_WEEKS = 12  # the sparkline: weekly denial rate over the last 12 weeks of the range
DETAIL_WEEKS = 26  # the payer page's charts

DECISION_DAYS = Func(
    F("claims__decided_date"),
    F("claims__submitted_date"),
    arg_joiner=" - ",
    template="(%(expressions)s)",
    output_field=IntegerField(),
)


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``: the median, interpolated between the middle two."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class SubqueryCount(Subquery):
    """The number of rows of a correlated subquery (0 for none), without a GROUP BY inside it."""

    template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


def summary_range(
    decided_from: date | None, decided_until: date | None, today: date | None = None
) -> tuple[date, date]:
    """The decision dates a summary covers: as chosen, else the last ``SUMMARY_DAYS`` days."""
    until = decided_until or today or timezone.localdate()
    start = decided_from or until - timedelta(days=SUMMARY_DAYS - 1)
    return start, until


def _active_event_count(customer: Customer) -> SubqueryCount:
    """Open drift events of the payer (``OuterRef("pk")``): those of the current window of the
    customer's latest succeeded run, as on the drift pages — read inside the same statement."""
    from portal.drift.models import DriftEvent, DriftRun, RunStatus

    latest = DriftRun.objects.filter(customer=customer, status=RunStatus.SUCCEEDED).order_by(
        "-created_at", "-id"
    )
    events = DriftEvent.objects.filter(
        customer=customer,
        payer=OuterRef("pk"),
        current_start=Subquery(latest.values("current_start")[:1]),
        current_end=Subquery(latest.values("current_end")[:1]),
    )
    return SubqueryCount(events.order_by().values("pk"))


def payer_summary(
    queryset: QuerySet[Payer],
    *,
    customer: Customer,
    decided_from: date | None = None,
    decided_until: date | None = None,
    cpt_group: str | None = None,
) -> QuerySet[Payer]:
    """The customer's payers with their claims decided in the range (one grouped statement):
    ``claim_count``, ``denied_count``, ``denial_rate``, ``mean_days``, ``median_days``,
    ``billed`` and ``denied_dollars`` (billed amounts of denied claims), ``open_events``.
    Payers without a decided claim in the range are left out. Most open events first, then the
    most claims."""
    start, until = summary_range(decided_from, decided_until)
    # ``outcome__in`` the decided outcomes, not ``~Q(outcome=PENDING)``: across the join Django
    # spells the negation as a NOT EXISTS probe of every claim's row (half the statement's time)
    decided = Q(
        claims__customer=customer,
        claims__decided_date__gte=start,
        claims__decided_date__lte=until,
        claims__outcome__in=DECIDED_OUTCOMES,
    )
    if cpt_group:
        decided &= Q(claims__cpt_group=cpt_group)
    denied = Q(claims__outcome=Outcome.DENIED)
    return (
        queryset.filter(customer=customer)
        .filter(decided)
        .annotate(
            # counting a column of the covering index (never NULL in the range), not the claim
            # id, lets PostgreSQL answer from the index alone
            claim_count=Count("claims__decided_date"),
            denied_count=Count("claims__decided_date", filter=denied),
            mean_days=Avg(DECISION_DAYS, output_field=FloatField()),
            median_days=Median(DECISION_DAYS),
            billed=Coalesce(Sum("claims__billed_amount"), Decimal("0")),
            denied_dollars=Coalesce(Sum("claims__billed_amount", filter=denied), Decimal("0")),
            open_events=_active_event_count(customer),
        )
        .annotate(denial_rate=Cast("denied_count", FloatField()) / F("claim_count"))
        .order_by("-open_events", "-claim_count", "name", "id")
    )


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_until(until: date, weeks: int) -> list[date]:
    """The Mondays of the ``weeks`` weeks up to the week of ``until`` (last)."""
    last = week_start(until)
    return [last - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def payer_weekly_denials(
    *,
    customer: Customer,
    payer_ids: list[int],
    until: date,
    weeks: int = TREND_WEEKS,
    cpt_group: str | None = None,
) -> tuple[list[date], dict[int, list[tuple[int, int]]]]:
    """(decided, denied) per week of decision for each of ``payer_ids``, over the ``weeks`` weeks
    up to ``until``: ONE grouped query for a whole page of payers (the sparklines)."""
    mondays = weeks_until(until, weeks)
    series = {pk: [(0, 0)] * len(mondays) for pk in payer_ids}
    if not payer_ids:
        return mondays, series
    claims = Claim.objects.filter(
        customer=customer,
        payer_id__in=payer_ids,
        decided_date__gte=mondays[0],
        decided_date__lte=until,
    ).exclude(outcome=Outcome.PENDING)
    if cpt_group:
        claims = claims.filter(cpt_group=cpt_group)
    rows = (
        claims.annotate(week=TruncWeek("decided_date"))
        .values("payer_id", "week")
        .annotate(  # a column of the covering index, not the id: an index-only scan
            decided=Count("decided_date"),
            denied=Count("decided_date", filter=Q(outcome=Outcome.DENIED)),
        )
        .order_by()
    )
    position = {monday: i for i, monday in enumerate(mondays)}
    for row in rows:
        week = row["week"]
        week = week.date() if hasattr(week, "date") else week
        series[row["payer_id"]] = list(series[row["payer_id"]])
        series[row["payer_id"]][position[week]] = (row["decided"], row["denied"])
    return mondays, series


def payer_summary_rows(*, customer: Customer) -> QuerySet[Payer]:
    """The customer's payers for ``payer_summary`` (the page and the API), their summary rows
    read from the customer's cache until the next upload, run, alias or group change."""
    return dashboard.cached_rows(payer_list(customer=customer), customer_id=customer.pk)


def payer_weekly_denials_cached(
    *, customer: Customer, payer_ids: list[int], until: date, cpt_group: str | None = None
) -> tuple[list[date], dict[int, list[tuple[int, int]]]]:
    """``payer_weekly_denials`` from the customer's cache until the next upload or run."""
    return dashboard.remember(
        customer.pk,
        "payer-trends",
        (sorted(payer_ids), until, cpt_group, TREND_WEEKS),
        lambda: payer_weekly_denials(
            customer=customer, payer_ids=payer_ids, until=until, cpt_group=cpt_group
        ),
    )


def payer_get(*, customer: Customer, pk: int) -> Payer:
    """One payer of the customer, or ``Payer.DoesNotExist`` (another customer's is a 404)."""
    return payer_list(customer=customer).get(pk=pk)


@dataclass(frozen=True)
class PayerWeek:
    week: date
    decided: int
    denied: int
    median_days: float | None
    denied_dollars: Decimal

    @property
    def denial_rate(self) -> float | None:
        return self.denied / self.decided if self.decided else None


def payer_weekly(
    *, payer: Payer, until: date | None = None, weeks: int = DETAIL_WEEKS
) -> list[PayerWeek]:
    """The payer's weeks of decision up to ``until`` (default today): decided and denied claims,
    median decision days and denied dollars (billed) — one grouped query; empty weeks are 0."""
    until = until or timezone.localdate()
    mondays = weeks_until(until, weeks)
    rows = (
        Claim.objects.filter(
            customer_id=payer.customer_id,
            payer=payer,
            decided_date__gte=mondays[0],
            decided_date__lte=until,
        )
        .exclude(outcome=Outcome.PENDING)
        .annotate(week=TruncWeek("decided_date"))
        .values("week")
        .annotate(
            decided=Count("decided_date"),  # index-only, as above
            denied=Count("decided_date", filter=Q(outcome=Outcome.DENIED)),
            median_days=Median(
                Func(
                    F("decided_date"),
                    F("submitted_date"),
                    arg_joiner=" - ",
                    template="(%(expressions)s)",
                    output_field=IntegerField(),
                )
            ),
            denied_dollars=Coalesce(
                Sum("billed_amount", filter=Q(outcome=Outcome.DENIED)), Decimal("0")
            ),
        )
        .order_by()
    )
    found = {}
    for row in rows:
        week = row["week"]
        found[week.date() if hasattr(week, "date") else week] = row
    return [
        PayerWeek(
            week=monday,
            decided=found[monday]["decided"] if monday in found else 0,
            denied=found[monday]["denied"] if monday in found else 0,
            median_days=found[monday]["median_days"] if monday in found else None,
            denied_dollars=found[monday]["denied_dollars"] if monday in found else Decimal("0"),
        )
        for monday in mondays
    ]
