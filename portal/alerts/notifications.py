"""E-mail notification of alerts (PRODUCT §5): HTML and text, with the evidence and a link.

Sent by a django-q2 task after the alert's transaction commits. A failed send is recorded on the
alert and retried with growing pauses; webhooks are the other channel (``portal.webhooks``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.alerts.models import Alert, AlertFeedback, NotifyStatus, Verdict
from portal.audit.actions import Action, Outcome
from portal.audit.services import record
from portal.drift.tables import format_delta, format_value

log = logging.getLogger(__name__)

# Pauses before retries 1..4 of a failed send; after the last the alert stays "failed".
RETRY_DELAYS = [
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
]  # fmt: skip
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def alert_link(alert: Alert) -> str:
    path = reverse("alerts:alert-detail", kwargs={"slug": alert.customer.slug, "pk": alert.pk})
    return f"{settings.SITE_URL}{path}"


def render(alert: Alert) -> EmailMultiAlternatives:
    event = alert.event
    context = {
        "alert": alert,
        "event": event,
        "customer": alert.customer,
        "link": alert_link(alert),
        "baseline": format_value(event.drift_type, event.baseline_value),
        "current": format_value(event.drift_type, event.current_value),
        "delta": format_delta(event.drift_type, event.delta),
    }
    subject = (
        f"[Payerwatch] {alert.label.title()} {event.drift_type.replace('_', ' ')} drift at "
        f"{event.payer.name} ({alert.customer.name})"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("alerts/email/alert.txt", context),
        to=alert.rule.email_recipients if alert.rule else [],
    )
    message.attach_alternative(render_to_string("alerts/email/alert.html", context), "text/html")
    return message


def notify(alert_id: int) -> str:
    """Send one alert's e-mail. Idempotent: an alert already sent, suppressed, or marked
    ``needs_followup`` after its first send is not e-mailed again."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("customer", "rule", "event", "event__payer", "payer")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None:
            return "gone"
        if alert.notify_status in (NotifyStatus.SENT, NotifyStatus.SKIPPED):
            return alert.notify_status
        followup = AlertFeedback.objects.filter(
            customer_id=alert.customer_id, alert=alert, verdict=Verdict.NEEDS_FOLLOWUP
        ).exists()
        if alert.suppressed or followup or alert.rule is None or not alert.rule.email_recipients:
            alert.notify_status = NotifyStatus.SKIPPED
            alert.save(update_fields=["notify_status", "updated_at"])
            return NotifyStatus.SKIPPED
        alert.notify_attempts += 1
        try:
            render(alert).send()
        except Exception as exc:  # any backend failure: record it, retry later
            log.warning("alert %s e-mail failed: %s", alert.pk, exc)
            alert.notify_status = NotifyStatus.FAILED
            alert.notify_error = f"{type(exc).__name__}: {exc}"[:2000]
            alert.save(update_fields=["notify_status", "notify_error", "notify_attempts",
                                      "updated_at"])  # fmt: skip
            record(
                action=Action.ALERT_NOTIFY_FAILED, customer=alert.customer, obj=alert,
                outcome=Outcome.FAILURE,
                data={"attempt": alert.notify_attempts, "error": alert.notify_error[:200]},
            )  # fmt: skip
            if alert.notify_attempts < MAX_ATTEMPTS:
                _schedule_retry(alert.pk, RETRY_DELAYS[alert.notify_attempts - 1])
            return NotifyStatus.FAILED
        alert.notify_status = NotifyStatus.SENT
        alert.notified_at = timezone.now()
        alert.notify_error = ""
        alert.save(update_fields=["notify_status", "notified_at", "notify_error",
                                  "notify_attempts", "updated_at"])  # fmt: skip
        record(
            action=Action.ALERT_NOTIFIED, customer=alert.customer, obj=alert,
            data={"recipients": len(alert.rule.email_recipients), "attempt": alert.notify_attempts},
        )  # fmt: skip
        return NotifyStatus.SENT


def _schedule_retry(alert_id: int, delay: timedelta) -> None:
    from django_q.models import Schedule

    transaction.on_commit(
        lambda: Schedule.objects.create(
            func="portal.alerts.tasks.notify",
            args=repr(alert_id),
            schedule_type=Schedule.ONCE,
            repeats=1,
            next_run=timezone.now() + delay,
            name=f"alert-notify-retry-{alert_id}-{timezone.now():%Y%m%d%H%M%S%f}",
        )
    )
