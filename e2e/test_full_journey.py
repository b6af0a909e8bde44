"""The whole product in one go, as its people would use it, in Chromium against the live server
and a real django-q2 worker (PRODUCT §2, §3, §4, §5, §6, §7):

a. staff creates a customer and its owner; the owner chooses a password from the invitation;
b. the owner invites an analyst, who chooses a password from her invitation;
c. the analyst uploads claims with planted drifts and watches the import's progress bar;
d. detection (after the upload, and once more from "Run detection now") lists drift events;
e. the owner adds a webhook endpoint (a local receiver), then an alert rule routed to it, then
   runs detection again;
f. the alert is listed and its ``alert.triggered`` webhook arrives, signed (standardwebhooks);
g. the analyst gives feedback on it in place;
h. the analyst generates the weekly summary and downloads the PDF.

Settings-like pages are reached by URL (the top navigation is being regrouped); everything else
through links and buttons on the pages themselves.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from e2e.conftest import login
from portal.accounts.models import User
from portal.alerts.models import Alert
from portal.claims import generator
from portal.drift.models import DriftRun, RunStatus
from portal.webhooks.models import WebhookMessage
from tests.core.test_task_queue import database_url
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

ROWS = 30_000
SLUG = "initech"
OWNER = "olivia@initech.test"
ANALYST = "arno@initech.test"
NEW_PASSWORD = "Quartz-Lantern-Meadow-81"


@pytest.fixture
def receiver(settings):
    """A local Standard Webhooks receiver the live server and the worker may reach."""
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def worker(live_server, settings, receiver, tmp_path):
    """A real qcluster on the live server's database and media folder, allowed to reach the
    receiver on 127.0.0.1. Its output goes to ``qcluster.log`` in the test's folder."""
    settings.SITE_URL = live_server.url  # links in e-mails lead to the live server
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "Q_WORKERS": "1",
        "Q_SYNC": "false",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SITE_URL": live_server.url,
        "WEBHOOK_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION": "true",  # else the system check stops it
        "WEBHOOK_TIMEOUT_SECONDS": "5",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = (tmp_path / "qcluster.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "qcluster"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = tmp_path / "qcluster.log"
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def claims_file(tmp_path) -> Path:
    """Claims up to today: Humana denies far more for 40 days, Aetna uses a new denial reason."""
    today = timezone.localdate()
    planted = [
        generator.Drift("Humana", today - timedelta(days=40), denial_rate=0.45),
        generator.Drift("Aetna", today - timedelta(days=20), new_reason=("CO-252", "Attachment")),
    ]
    spec = generator.ClaimsSpec(rows=ROWS, end=today, days=180, seed=5, drifts=planted)
    return generator.write_csv(spec, tmp_path / "initech-claims.csv")


def wait_for(predicate, *, what: str, timeout: float = 30.0):
    """Poll ``predicate`` until it returns something truthy (the worker runs in another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def choose_password_from_invitation(page: Page, mailoutbox, email: str) -> None:
    """Follow the link of the invitation e-mailed to ``email`` and choose a password."""
    (invitation,) = [m for m in mailoutbox if m.to == [email]]
    link = re.search(r"https?://\S+/accounts/reset/\S+/", invitation.body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label(re.compile(r"^New password:?$")).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"^New password confirmation")).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()


def run_detection_now(page: Page) -> None:
    """On the drift page: Runs → "Run detection now"; the run page polls until it finished."""
    page.goto(f"/c/{SLUG}/drift/")
    page.locator("main").get_by_role("link", name="Runs", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Drift runs of"))).to_be_visible()
    page.locator("#run-form").get_by_role("button", name="Run detection now").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Drift run #\d+"))).to_be_visible()
    expect(page.locator("#run-status h2")).to_have_text("Status: Succeeded", timeout=30_000)


def test_staff_to_owner_to_analyst_upload_drift_alert_webhook_feedback_and_report(
    new_context, live_server, worker, receiver, staff, claims_file, mailoutbox, shot
):
    started = time.monotonic()

    # a. Staff creates the customer and its owner; the owner is invited to choose a password.
    staff_page = new_context().new_page()
    login(staff_page, staff)
    staff_page.locator("main").get_by_role("link", name="New customer").click()
    expect(staff_page.get_by_role("heading", name="New customer")).to_be_visible()
    staff_page.get_by_label("Name").fill("Initech Medical")
    staff_page.get_by_label("Slug").fill(SLUG)
    staff_page.get_by_label("Owner's e-mail").fill(OWNER)
    shot(staff_page, "staff-new-customer")
    staff_page.get_by_role("button", name="Create customer").click()
    expect(staff_page.locator(".message.success")).to_have_text("Customer Initech Medical created.")
    expect(staff_page).to_have_url(re.compile(rf"/c/{SLUG}/$"))
    shot(staff_page, "staff-customer-created")
    staff_page.goto("/customers/")
    expect(staff_page.locator("#table-region")).to_contain_text("Initech Medical")
    shot(staff_page, "staff-customers-list")

    owner = new_context().new_page()
    choose_password_from_invitation(owner, mailoutbox, OWNER)
    shot(owner, "owner-password-set")
    login(owner, User.objects.get(email=OWNER), with_password=NEW_PASSWORD)
    owner.locator("main").get_by_role("link", name="Initech Medical").click()
    expect(owner.locator("#your-role")).to_contain_text("You are owner here")
    shot(owner, "owner-home")

    # b. The owner invites an analyst on the members page; she chooses her password.
    owner.goto(f"/c/{SLUG}/members/")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Members of Initech Medical")
    add_form = owner.locator("#member-add-form")
    add_form.get_by_label("E-mail").fill(ANALYST)
    add_form.get_by_label("Role").select_option("analyst")
    add_form.get_by_role("button", name="Add member").click()
    expect(owner.locator(".message.success")).to_have_text(f"{ANALYST} added as Analyst.")
    expect(owner.locator(f'tr[data-member="{ANALYST}"]')).to_contain_text("Analyst")
    shot(owner, "owner-invited-analyst")

    analyst = new_context().new_page()
    choose_password_from_invitation(analyst, mailoutbox, ANALYST)
    login(analyst, User.objects.get(email=ANALYST), with_password=NEW_PASSWORD)
    shot(analyst, "analyst-logged-in")

    # c. The analyst uploads the claims; the worker imports them while a progress bar shows.
    assert worker.poll() is None, worker.log_path.read_text()[-3000:]  # the worker is up
    analyst.goto(f"/c/{SLUG}/uploads/")
    analyst.locator("#upload-form input[type=file]").set_input_files(str(claims_file))
    analyst.locator("#upload-form").get_by_role("button", name="Upload").click()
    expect(analyst.get_by_role("heading", name="initech-claims.csv")).to_be_visible()
    summary = analyst.locator("#upload-summary")
    expect(summary.locator("progress")).to_be_visible()
    shot(analyst, "upload-in-progress")
    expect(summary.locator("h2")).to_have_text("Status: Succeeded", timeout=60_000)
    expect(summary.locator("progress")).to_have_count(0)
    expect(summary.locator("dl.counts")).to_contain_text(str(ROWS))
    expect(summary.locator("dl.counts .bad")).to_have_count(0)  # nothing rejected
    shot(analyst, "upload-finished")

    # d. The upload started a drift run on the worker; the analyst runs one more herself, and the
    #    events of the window are listed.
    upload_run = wait_for(
        lambda: DriftRun.objects.filter(
            customer__slug=SLUG, trigger="upload", status=RunStatus.SUCCEEDED
        ).first(),
        what="the drift run started by the upload",
    )
    assert upload_run.events_created > 0
    run_detection_now(analyst)
    shot(analyst, "analyst-run-finished")
    analyst.locator("#run-events").click()
    events = analyst.locator("#events-table")
    expect(events.locator("tbody tr[data-event]").first).to_be_visible()
    humana_rate = events.locator("tr[data-event]", has_text="Humana").filter(has_text="denial_rate")
    expect(humana_rate.filter(has_text="ALL")).to_have_count(1)
    expect(events.locator("tr[data-event]", has_text="new_denial_reason")).to_contain_text("Aetna")
    shot(analyst, "drift-events")

    # e. The owner adds a webhook endpoint (its secret is shown once), then a rule routed to it.
    owner.goto(f"/c/{SLUG}/webhooks/")
    expect(owner.locator("#endpoints-table")).to_contain_text("No webhook endpoints yet.")
    owner.get_by_role("link", name="Add endpoint").click()
    endpoint_form = owner.locator("#endpoint-form")
    endpoint_form.get_by_label("Name").fill("Ops receiver")
    endpoint_form.get_by_label("URL").fill(receiver.url)  # no events ticked: every event
    shot(owner, "endpoint-form")
    endpoint_form.get_by_role("button", name="Create endpoint").click()
    secret = owner.locator("#new-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    shot(owner, "endpoint-secret-shown-once")
    owner.get_by_role("link", name="Done").click()
    expect(owner.get_by_role("heading", name="Ops receiver")).to_be_visible()

    owner.goto(f"/c/{SLUG}/alerts/")
    expect(owner.locator("#table-region")).to_contain_text("No active alerts")
    owner.locator("#rules-link").click()
    owner.get_by_role("link", name="New rule").click()
    rule_form = owner.locator("#rule-form")
    rule_form.get_by_label("Name").fill("Humana denials to ops")
    rule_form.get_by_label("denial rate", exact=True).check()
    rule_form.get_by_label("Payers").select_option(label="Humana")
    rule_form.get_by_label("CPT groups").select_option(label="ALL")
    rule_form.get_by_label("Webhook endpoints").select_option(label="Ops receiver")
    rule_form.get_by_label("Cooldown (hours)").fill("0")
    shot(owner, "rule-form")
    rule_form.get_by_role("button", name="Save rule").click()
    expect(owner.locator(".message.success")).to_have_text(
        "Alert rule “Humana denials to ops” saved."
    )
    shot(owner, "rule-saved")

    run_detection_now(owner)
    shot(owner, "owner-run-finished")

    # f. The alert is listed, and its alert.triggered webhook arrived with a valid signature.
    owner.goto(f"/c/{SLUG}/alerts/")
    rows = owner.locator("#alerts-table tbody tr[data-alert]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Humana")
    expect(rows.first).to_contain_text("denial_rate")
    expect(rows.first).to_contain_text("Humana denials to ops")
    shot(owner, "alert-listed")
    alert = Alert.objects.select_related("rule").get(customer__slug=SLUG)

    def triggered():
        return [r for r in receiver.requests if json.loads(r.body)["type"] == "alert.triggered"]

    (request,) = wait_for(triggered, what="the alert.triggered webhook")
    assert request.verified_with == [secret]  # standardwebhooks' verifier accepted it
    body = json.loads(request.body)
    assert body["data"]["customer"] == SLUG
    assert body["data"]["alert_id"] == alert.pk
    assert body["data"]["rule_id"] == alert.rule.pk
    assert body["data"]["drift_event_id"] == alert.event_id
    assert body["data"]["drift_type"] == "denial_rate"
    message = wait_for(  # the worker records the 204 just after the receiver answered
        lambda: WebhookMessage.objects.filter(
            customer__slug=SLUG, event_type="alert.triggered", status="succeeded"
        ).first(),
        what="the alert.triggered message recorded as delivered",
    )
    assert request.headers["webhook-id"] == message.webhook_id and message.attempts == 1
    owner.goto(f"/c/{SLUG}/webhooks/{message.endpoint_id}/")
    delivered = owner.locator(
        "#messages-table tr[data-status=succeeded]", has_text="alert.triggered"
    )
    expect(delivered).to_have_count(1)
    shot(owner, "webhook-delivered")

    # g. The analyst opens the alert and says it is real, in place: it is acknowledged.
    analyst.goto(f"/c/{SLUG}/alerts/")
    analyst.locator(f'#alerts-table tr[data-alert="{alert.pk}"] a').first.click()
    expect(analyst.locator("#status-badge")).to_have_text("Open")
    analyst.evaluate("window.__marker = 1")
    feedback = analyst.locator("#feedback")
    feedback.get_by_label("Real").check()
    feedback.get_by_label("Payer policy change").check()
    feedback.get_by_label("Notes").fill("Humana's new prior-auth policy; appeals filed.")
    feedback.get_by_label("Recovered ($)").fill("1250")
    shot(analyst, "feedback-form")
    feedback.get_by_role("button", name="Save feedback").click()
    expect(analyst.locator("#feedback .message.success")).to_have_text("Feedback saved.")
    expect(analyst.locator(f'#feedback-history tr[data-feedback="{ANALYST}"]')).to_contain_text(
        "Real"
    )
    expect(analyst.locator("#status-badge")).to_have_text("Acknowledged")
    assert analyst.evaluate("window.__marker") == 1  # saved without a page load
    shot(analyst, "feedback-saved")

    # h. The analyst generates the weekly summary, watches it, and downloads the PDF.
    analyst.goto(f"/c/{SLUG}/reports/")
    analyst.get_by_role("button", name="Generate weekly summary now").click()
    expect(
        analyst.get_by_role("heading", name=re.compile("^Weekly drift summary #"))
    ).to_be_visible()
    shot(analyst, "report-requested")
    expect(analyst.locator("#report-status h2")).to_have_text("Status: Succeeded", timeout=60_000)
    shot(analyst, "report-finished")
    with analyst.expect_download() as download_info:
        analyst.locator("#download-pdf").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # Every request the receiver got was signed with the endpoint's secret, and the report's
    # completion was announced too.
    wait_for(
        lambda: any(json.loads(r.body)["type"] == "report.completed" for r in receiver.requests),
        what="the report.completed webhook",
    )
    assert receiver.requests and all(r.verified_with == [secret] for r in receiver.requests)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == len(receiver.requests)
    assert time.monotonic() - started < 120, "the journey got slow"
