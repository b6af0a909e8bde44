"""An analyst generates the weekly drift summary in the portal; a real django-q2 worker builds it
while the page shows its progress; the PDF downloads and holds the week's drift events; the drift
table exports itself as filtered (PRODUCT §7)."""

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from e2e.conftest import login
from portal.accounts.roles import Role
from tests.core.test_task_queue import database_url
from tests.factories import member
from tests.reports.conftest import EVENTS, make_event

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


@pytest.fixture
def worker(live_server, settings):
    """A real qcluster on the live server's database and media folder."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "Q_WORKERS": "1",
        "Q_SYNC": "false",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    process = subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_analyst_generates_the_weekly_summary_watches_it_and_downloads_the_pdf(
    page: Page, live_server, worker, acme, alice, shot
):
    today = timezone.localdate()
    for spec in EVENTS:
        make_event(acme, *spec, end=today, written=today)
    analyst = member(acme, Role.ANALYST, email="ana@acme.test")
    login(page, analyst)

    page.goto("/c/acme/drift/")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports of Acme Health")).to_be_visible()
    expect(page.locator("#reports-table")).to_contain_text("No reports yet")
    shot(page, "reports-empty")

    page.get_by_role("button", name="Generate weekly summary now").click()
    expect(page.get_by_role("heading", name="Weekly drift summary #")).to_be_visible()
    status = page.locator("#report-status")
    expect(status.locator("progress")).to_be_visible()  # queued or running: a progress bar
    shot(page, "summary-in-progress")
    expect(status).to_contain_text("Succeeded", timeout=60_000)
    expect(status.locator("progress")).to_have_count(0)
    shot(page, "summary-finished")

    with page.expect_download() as download_info:
        page.locator("#download-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"weekly-summary-acme-{today:%Y-%m-%d}.pdf"
    data = Path(download.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for payer, _, kind, *_ in EVENTS:
        assert payer in text and kind in text

    # the reports table lists it with its downloads
    page.get_by_role("link", name="Reports", exact=True).first.click()
    row = page.locator("#reports-table tbody tr").first
    expect(row).to_contain_text("Weekly drift summary")
    expect(row).to_contain_text("Succeeded")
    expect(row.get_by_role("link", name="XLSX")).to_be_visible()
    shot(page, "reports-table")

    # the drift table, filtered, exports itself as it is
    page.goto("/c/acme/drift/")
    page.get_by_label("Direction").select_option("improving")
    expect(page).to_have_url(re.compile(r"[?&]direction=improving"))
    page.get_by_role("button", name="Export CSV / XLSX").click()
    expect(page.get_by_role("heading", name="Drift events export #")).to_be_visible()
    expect(page.locator("#report-status")).to_contain_text("Succeeded", timeout=60_000)
    expect(page.locator("#report-status")).to_contain_text("direction=improving")
    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    exported = Path(download_info.value.path()).read_text()
    assert "Medicaid" in exported and "Humana" not in exported
    shot(page, "drift-export-finished")
