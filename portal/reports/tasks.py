"""django-q2 tasks of the reports app (queued by services after commit, or by the schedule)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from portal.reports import services


def generate(report_id: int) -> str:
    """Generate a report queued by ``services.report_request`` (or the weekly schedule)."""
    report = services.report_generate(report_id=report_id)
    return report.status if report is not None else "gone"


def weekly_all(today: str | None = None) -> int:
    """The daily ``reports-weekly`` schedule: queue the weekly summary of every customer whose
    configured weekday is today and who has not got this week's yet (idempotent: running it
    twice a day, or again after a restart, queues nothing new). Returns how many were queued."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    queued = 0
    for customer in services.customers_due(today=day):
        if services.weekly_schedule_request(customer=customer, today=day) is not None:
            queued += 1
    return queued
