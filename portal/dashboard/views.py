"""The customer dashboard (PRODUCT §8): KPIs, the top payers' weekly denial rate, newest drift,
recent uploads. The numbers come cached from ``selectors.dashboard``; this module only shapes
them for the page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.generic import TemplateView

from portal.core import charts
from portal.core.views import CustomerMixin
from portal.dashboard import selectors
from portal.dashboard.selectors import Dashboard


@dataclass(frozen=True)
class Change:
    """A KPI's change against the previous window, readable without colour (arrow and words)."""

    arrow: str
    text: str  # e.g. "+2.1 pp"
    tone: str  # worse | better | same
    words: str  # e.g. "worse than the previous 30 days"


def change(delta: float | None, *, text: str, threshold: float, days: int) -> Change | None:
    """Higher is worse for both KPIs that have a change (denial rate, decision days)."""
    if delta is None:
        return None
    if delta > threshold:
        return Change("▲", text, "worse", f"up: worse than the previous {days} days")
    if delta < -threshold:
        return Change("▼", text, "better", f"down: better than the previous {days} days")
    return Change("▬", text, "same", f"about the same as the previous {days} days")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def denial_rate_chart(data: Dashboard) -> charts.LineChart | None:
    return charts.line_chart(
        [f"{week:%b %d}" for week in data.weeks],
        [charts.Series(p.name, p.rates) for p in data.top_payers],
        fmt=lambda value: f"{value * 100:.0f}%" if value else "0%",
        width=760,
        height=300,
        label_width=200,
    )


def chart_rows(data: Dashboard) -> list[tuple]:
    """The chart's table alternative: per week, each payer's rate and (denied / decided)."""
    return [
        (
            week,
            [(percent(p.rates[i]), p.denied[i], p.decided[i]) for p in data.top_payers],
        )
        for i, week in enumerate(data.weeks)
    ]


def dashboard_context(data: Dashboard) -> dict:
    kpis = data.kpis
    rate_delta = kpis.denial_rate_change
    days_delta = kpis.median_days_change
    return {
        "dashboard": data,
        "denial_rate": percent(kpis.denial_rate),
        "previous_denial_rate": percent(kpis.previous_denial_rate),
        "denial_change": change(
            rate_delta,
            text=f"{rate_delta * 100:+.1f} pp" if rate_delta is not None else "",
            threshold=0.0005,
            days=data.window_days,
        ),
        "days_change": change(
            days_delta,
            text=f"{days_delta:+.1f} d" if days_delta is not None else "",
            threshold=0.05,
            days=data.window_days,
        ),
        "chart": denial_rate_chart(data),
        "chart_rows": chart_rows(data),
    }


# The body shows "5 minutes ago" (the last run, the last upload): rendered anew at least this often.
BODY_SECONDS = 60


def dashboard_body(data: Dashboard, *, customer) -> str:
    """The dashboard's HTML, rendered once per computation of its numbers: it is the same for
    every member (no form, no CSRF token, nothing of the user) and its numbers only change when
    they are computed again (a new ``computed_at``), so it is cached under that time for
    ``BODY_SECONDS``. (Not through ``services.remember``: ``computed_at`` already names one
    computation, and a generation read would cost every page a cache round trip.)"""
    key = f"dashboard:body:{customer.pk}:{data.computed_at.timestamp()}:{customer.slug}"
    key += ":" + hashlib.sha256(customer.name.encode()).hexdigest()[:16]
    html = cache.get(key)
    if html is None:
        html = render_to_string(
            "dashboard/_body.html", {"customer": customer, **dashboard_context(data)}
        )
        cache.set(key, html, BODY_SECONDS)
    return mark_safe(html)  # our own template's output, escaped when it was rendered


class DashboardView(CustomerMixin, TemplateView):
    template_name = "dashboard/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        data = selectors.dashboard(customer=self.customer)
        context["dashboard"] = data
        context["dashboard_body"] = dashboard_body(data, customer=self.customer)
        return context
