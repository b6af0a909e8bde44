"""Alerts, tried as a new user would (issue #6): an admin creates a rule in the portal, detection
runs on drifting claims (two weekly windows), the alerts appear; she calls both of them noise with
the in-place feedback form, and the next matching alert comes in suppressed, with its reason
visible."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from e2e.conftest import expect_same_document, login, mark_window
from portal.alerts.models import Alert
from portal.claims import generator
from portal.claims import services as claims
from portal.drift import services as drift
from portal.drift.models import RunStatus

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 6, 30)
PLANTED = [generator.Drift("Humana", AS_OF - timedelta(days=40), denial_rate=0.45)]


@pytest.fixture
def drifting_claims(acme, tmp_path):
    """Acme's claims: Humana has denied far more since 40 days before AS_OF."""
    spec = generator.ClaimsSpec(rows=16_000, end=AS_OF, days=180, seed=5, drifts=PLANTED)
    path = generator.write_csv(spec, tmp_path / "acme.csv")
    assert claims.ingest_file(customer=acme, raw_path=str(path)).status == "succeeded"


def detect(customer, as_of: date) -> None:
    run = drift.detect_now(customer=customer, as_of=as_of, trigger="portal")
    assert run.status == RunStatus.SUCCEEDED, run.error


def give_noise(page: Page, shot, step: str) -> None:
    """On an alert's page: say "noise" with the in-place form; the page is not reloaded."""
    mark_window(page)
    feedback = page.locator("#feedback")
    feedback.get_by_label("Noise").check()
    feedback.get_by_label("Seasonal or expected").check()
    feedback.get_by_label("Notes").fill("Humana re-bills these every quarter.")
    feedback.get_by_role("button", name="Save feedback").click()
    expect(page.locator("#feedback .message.success")).to_have_text("Feedback saved.")
    expect(page.locator("#feedback-history")).to_contain_text("Noise")
    expect(page.locator("#status-badge")).to_have_text("Resolved")  # swapped out of band
    expect_same_document(page)
    shot(page, step)


def test_admin_creates_a_rule_gives_noise_twice_and_the_third_alert_is_suppressed(
    page: Page, live_server, acme, alice, drifting_claims, shot
):
    login(page, alice)
    page.goto("/c/acme/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts of Acme Health")
    expect(page.locator("#table-region")).to_contain_text("No active alerts")
    shot(page, "alerts-empty")

    # 1. A rule: Humana's denial rate, e-mailed, no cooldown.
    page.get_by_role("link", name="Alert rules").click()
    expect(page.locator("#rules-table")).to_contain_text("No alert rules yet")
    page.get_by_role("link", name="New rule").click()
    form = page.locator("#rule-form")
    form.get_by_label("Name").fill("Humana denials")
    form.get_by_label("denial rate", exact=True).check()
    form.get_by_label("Payers").select_option(label="Humana")
    form.get_by_label("E-mail recipients").fill("rcm@acme.test, cfo@acme.test")
    form.get_by_label("Cooldown (hours)").fill("0")
    shot(page, "rule-form")
    form.get_by_role("button", name="Save rule").click()
    expect(page.locator(".message.success")).to_have_text("Alert rule “Humana denials” saved.")
    row = page.locator("#rules-table tbody tr").first
    expect(row).to_contain_text("Humana denials")
    expect(row).to_contain_text("Drift: denial_rate · Payers: Humana")
    expect(row).to_contain_text("2 e-mails")
    shot(page, "rule-created")

    # 2. Detection, two weeks ago and last week, finds the drift: two alerts, e-mailed.
    detect(acme, AS_OF - timedelta(days=14))
    detect(acme, AS_OF - timedelta(days=7))
    first_alerts = list(Alert.objects.filter(customer=acme).order_by("-severity"))
    assert len(first_alerts) >= 2, "the data must give two alerts on Humana's denial rate"
    assert {(a.payer.name, a.drift_type) for a in first_alerts} == {("Humana", "denial_rate")}
    assert len(mail.outbox) == len(first_alerts)

    page.get_by_role("link", name="Alerts", exact=True).first.click()
    rows = page.locator("#alerts-table tbody tr[data-alert]")
    expect(rows).to_have_count(len(first_alerts))
    expect(rows.first).to_contain_text("Humana")
    expect(page.locator("#alerts-table")).to_contain_text("denial_rate")
    shot(page, "alerts-listed")

    # 3. Two of them are noise, said in place on each alert's page.
    for n, alert in enumerate(first_alerts[:2], start=1):
        page.goto(f"/c/acme/alerts/{alert.pk}/")
        expect(page.locator("#evidence")).to_contain_text("Baseline")
        expect(page.locator("#notify-status")).to_have_text("Sent")
        shot(page, f"alert-{n}-open")
        give_noise(page, shot, f"alert-{n}-noise")

    # 4. This week: the same drift again, now held back as learned noise.
    sent_before = len(mail.outbox)
    detect(acme, AS_OF)
    fresh = Alert.objects.filter(customer=acme).exclude(pk__in=[a.pk for a in first_alerts])
    assert fresh.exists() and all(a.suppressed for a in fresh)
    assert len(mail.outbox) == sent_before  # nothing e-mailed

    page.goto("/c/acme/alerts/")
    page.get_by_label("Suppressed").select_option(label="Suppressed")
    expect(page).to_have_url(re.compile(r"suppressed=true"))
    expect(page.locator("#table-region")).to_contain_text("Nothing matches these filters")
    shot(page, "active-tab-has-no-suppressed")
    page.locator("#tab-all").click()
    expect(page).to_have_url(re.compile(r"tab=all"))
    page.get_by_label("Suppressed").select_option(label="Suppressed")
    suppressed_rows = page.locator("#alerts-table tbody tr[data-alert]")
    expect(suppressed_rows).to_have_count(fresh.count())
    expect(suppressed_rows.first).to_contain_text("Suppressed: Learned suppression")
    shot(page, "suppressed-listed")

    suppressed_rows.first.get_by_role("link").first.click()
    expect(page.locator("#suppressed-reason")).to_contain_text(
        "Learned suppression: 2 or more alerts on Humana · denial_rate were marked noise in the "
        "last 30 days."
    )
    expect(page.locator("#notify-status")).to_have_text("Not sent")
    shot(page, "suppressed-alert")
