"""An analyst uploads a 200,000-row file in the portal; a real django-q2 worker imports it while
the page shows progress; the rejected rows can be read and downloaded; the claims table filters
the result in place (ISSUE: claims ingestion, "tried as a new user would")."""

import csv
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from e2e.conftest import login
from portal.accounts.roles import Role
from portal.claims import generator
from tests.core.test_task_queue import database_url
from tests.factories import member

pytestmark = [pytest.mark.e2e, pytest.mark.worker]
ROWS = 200_000


@pytest.fixture
def worker(live_server):
    """A real qcluster on the live server's database."""
    env = {**os.environ, "DATABASE_URL": database_url(), "Q_WORKERS": "1", "Q_SYNC": "false"}
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


@pytest.fixture
def big_file(tmp_path) -> Path:
    """200,000 realistic rows, three of them broken on purpose."""
    path = generator.write_csv(generator.ClaimsSpec(rows=ROWS, days=180), tmp_path / "big.csv")
    lines = path.read_text().splitlines(keepends=True)
    lines[1001] = "C-BAD-1,Aetna,NOTACPT,2026-01-01,2026-01-05,PAID,1,1,1,,,\n"
    lines[2001] = "C-BAD-2,Aetna,99213,2026-01-05,2026-01-01,PAID,1,1,1,,,\n"
    lines[3001] = "C-BAD-3,Aetna,99213,2026-01-05,2026-01-06,PAID,-1,1,1,,,\n"
    path.write_text("".join(lines))
    return path


def test_analyst_uploads_watches_progress_reads_rejections_and_filters_claims(
    page: Page, live_server, worker, acme, alice, big_file, shot
):
    analyst = member(acme, Role.ANALYST, email="ana@acme.test")
    login(page, analyst)
    page.goto("/c/acme/uploads/")
    page.locator("#upload-form input[type=file]").set_input_files(str(big_file))
    page.locator("#upload-form").get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="big.csv")).to_be_visible()
    shot(page, "uploaded-queued")

    # the summary polls while the worker imports; a progress bar is there until it finishes
    summary = page.locator("#upload-summary")
    expect(summary.locator("progress")).to_be_visible()
    expect(summary).to_contain_text("Partially succeeded", timeout=120_000)
    shot(page, "import-finished")
    counts = summary.locator("dl.counts")
    expect(counts).to_contain_text(f"{ROWS}")
    expect(counts.locator(".bad dd")).to_have_text("3")

    # the rejected rows appear in place, with their row numbers and reasons
    table = page.locator("#table-region")
    expect(table).to_contain_text("decided_date is before submitted_date.")
    expect(table).to_contain_text("Not a CPT")
    expect(table).to_contain_text("Not an amount")
    shot(page, "rejected-rows")
    with page.expect_download() as download_info:
        page.locator("#rejected-csv").click()
    download = download_info.value
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert len(rows) == 1 + 3  # header and the three rejected rows
    assert {r[0] for r in rows[1:]} == {"1001", "2001", "3001"}

    # the claims table filters the imported claims in place
    page.goto("/c/acme/claims/")
    page.evaluate("window.__marker = 1")
    page.get_by_label("Payer").select_option(label="Humana")
    expect(page).to_have_url(re.compile(r"[?&]payer=\d+"))
    expect(page.locator("#table-region tbody tr").first).to_contain_text("Humana")
    assert page.evaluate("window.__marker") == 1  # filtered without a page load
    shot(page, "claims-filtered")
