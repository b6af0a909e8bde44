"""E-mail notification of alerts: content (HTML and text, evidence, link), a failure recorded on
the alert with a retry scheduled, then success; suppressed alerts are never e-mailed."""

from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_q.models import Schedule

from portal.alerts import tasks
from portal.alerts.models import Alert, NotifyStatus
from portal.audit.actions import Action
from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """An SMTP server that hangs up on every message."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def failing_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FailingBackend"}}


@pytest.fixture
def working_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def test_the_email_has_the_evidence_and_a_link_in_html_and_text(acme, raise_alert, settings):
    alert = raise_alert()
    (message,) = mail.outbox
    assert message.to == ["rcm@acme.test"]
    assert message.subject == "[Payerwatch] High denial rate drift at Humana (Acme Health)"
    link = f"{settings.SITE_URL}/c/acme/alerts/{alert.pk}/"
    text = message.body
    for fact in ("Baseline", "8.0%", "35.0%", "+27.0 pp", "Severity: 0.70 (high)",
                 "$18,250", "n = 1800", "n = 260", link, "Rule: Denials"):  # fmt: skip
        assert fact in text, fact
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}"' in html and "35.0%" in html and "+27.0 pp" in html
    alert.refresh_from_db()
    assert (alert.notify_status, alert.notify_attempts, alert.notify_error) == ("sent", 1, "")
    assert AuditEvent.objects.filter(action=Action.ALERT_NOTIFIED, object_id=str(alert.pk)).exists()


def test_a_failed_send_is_recorded_and_retried_until_it_works(
    acme, raise_alert, failing_mail, settings, django_capture_on_commit_callbacks
):
    before = timezone.now()
    alert = raise_alert()  # the first attempt runs after the commit, and fails
    alert.refresh_from_db()
    assert (alert.notify_status, alert.notify_attempts) == (NotifyStatus.FAILED, 1)
    assert alert.notify_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    retry = Schedule.objects.get(name__startswith=f"alert-notify-retry-{alert.pk}-")
    assert (retry.func, retry.args, retry.schedule_type) == (
        "portal.alerts.tasks.notify", repr(alert.pk), Schedule.ONCE,
    )  # fmt: skip
    assert before + timedelta(minutes=1) <= retry.next_run <= timezone.now() + timedelta(minutes=1)
    failure = AuditEvent.objects.get(action=Action.ALERT_NOTIFY_FAILED)
    assert failure.outcome == "failure" and failure.data["attempt"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.notify(alert.pk) == NotifyStatus.FAILED  # second attempt: 5 minutes later
    assert Schedule.objects.filter(name__startswith=f"alert-notify-retry-{alert.pk}-").count() == 2

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert tasks.notify(alert.pk) == NotifyStatus.SENT
    alert.refresh_from_db()
    assert (alert.notify_status, alert.notify_attempts, alert.notify_error) == ("sent", 3, "")
    assert len(mail.outbox) == 1 and alert.notified_at is not None
    assert tasks.notify(alert.pk) == NotifyStatus.SENT  # idempotent: not sent twice
    assert len(mail.outbox) == 1


def test_after_the_last_attempt_no_retry_is_scheduled(
    acme, raise_alert, failing_mail, django_capture_on_commit_callbacks
):
    from portal.alerts.notifications import MAX_ATTEMPTS

    alert = raise_alert()
    Alert.objects.filter(pk=alert.pk).update(notify_attempts=MAX_ATTEMPTS - 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.notify(alert.pk) == NotifyStatus.FAILED
    retries = Schedule.objects.filter(name__startswith=f"alert-notify-retry-{alert.pk}-")
    assert retries.count() == 1  # only the one after the first failure


def test_a_rule_without_recipients_or_a_suppressed_alert_is_not_emailed(acme, raise_alert):
    alert = raise_alert()
    mail.outbox.clear()
    Alert.objects.filter(pk=alert.pk).update(notify_status=NotifyStatus.PENDING)
    alert.rule.email_recipients = []
    alert.rule.save()
    assert tasks.notify(alert.pk) == NotifyStatus.SKIPPED
    assert mail.outbox == []
