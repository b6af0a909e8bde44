"""A viewer opens Acme's dashboard and payer pages on demo-like claims (the demo's own planted
drifts, at a third of its size) and sees what drifts: the denial-rate change, Humana's rise in
the top-payers chart, Humana flagged in the payer table, and its page with charts and events."""

import dataclasses
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from playwright.sync_api import Page, expect

from e2e.conftest import login, wait_for_htmx_idle
from portal.claims import generator
from portal.claims import services as claims
from portal.core.demo import demo_claims_spec
from portal.drift import services as drift

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_acme(acme, tmp_path):
    spec = dataclasses.replace(demo_claims_spec("acme"), rows=20_000)
    path = generator.write_csv(spec, tmp_path / "acme.csv")
    assert claims.ingest_file(customer=acme, raw_path=str(path)).status == "succeeded"
    run = drift.detect_now(customer=acme)
    assert run.status == "succeeded", run.error
    cache.clear()  # the live server's transaction-less requests compute fresh numbers
    return acme


def test_viewer_sees_the_planted_drifts_on_dashboard_and_payer_pages(
    page: Page, demo_acme, bob, shot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, bob)
    page.goto("/c/acme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Health")

    # KPIs: the denial rate went up, said in words and with an arrow, not only in red
    change = page.locator("#kpi-denial-rate .kpi-change")
    expect(change).to_contain_text(re.compile(r"\+\d+\.\d pp"))
    expect(change).to_contain_text("worse than the previous 30 days")
    expect(page.locator("#kpi-last-run")).to_contain_text("succeeded")
    expect(page.locator("#kpi-last-upload")).to_contain_text("acme.csv")

    # the chart: an accessible title, Humana among the top payers, labelled at its line's end
    chart = page.get_by_role("img", name=re.compile("Weekly denial rate of the top payers"))
    expect(chart).to_be_visible()
    expect(page.locator('#top-payers-chart g[data-series="Humana"] .series-label')).to_contain_text(
        "Humana"
    )
    _readme_shot(page)
    page.locator("#top-payers-table summary").click()
    expect(page.locator("#top-payers-table th", has_text="Humana")).to_be_visible()
    expect(page.locator("#newest-drift")).to_contain_text("Humana")
    shot(page, "dashboard")

    # payers: Humana is flagged with open drift events and has a sparkline
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Payers").click()
    expect(page).to_have_url(re.compile(r"/c/acme/payers/$"))
    humana = page.locator('#payers-table tr[data-payer="Humana"]')
    expect(humana).to_have_class(re.compile("drifting"))
    expect(humana.locator(".flag")).to_contain_text(re.compile(r"⚠ \d+ open"))
    expect(humana.get_by_role("img", name=re.compile(r"^denial rate .*% → .*%$"))).to_be_visible()
    shot(page, "payers")

    # sort in place (htmx) with the URL in step
    page.locator("#payers-table th a", has_text="Denial rate").click()
    expect(page).to_have_url(re.compile(r"\?sort=denial_rate$"))
    wait_for_htmx_idle(page)
    page.locator("#payers-table th a", has_text="Denial rate").click()
    expect(page).to_have_url(re.compile(r"\?sort=-denial_rate$"))
    wait_for_htmx_idle(page)
    expect(page.locator("#payers-table tbody tr").first).to_have_attribute("data-payer", "Humana")
    shot(page, "payers-by-denial-rate")

    # the payer page: three charts, each with its numbers, and Humana's drift events
    humana.get_by_role("link", name="Humana").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Humana")
    for name in ("Denial rate", "Median days to decision", "Denied dollars"):
        expect(page.get_by_role("img", name=re.compile(f"^{name}"))).to_be_visible()
    expect(page.locator("#payer-events #events-table tbody tr").first).to_contain_text("worsening")
    shot(page, "humana")
    page.locator("#payer-events #events-table tbody a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Humana")


def _readme_shot(page: Page) -> None:
    """With PAYERWATCH_README_SHOTS=1, the top of the dashboard goes to docs/ (tracked)."""
    if os.environ.get("PAYERWATCH_README_SHOTS") == "1":
        docs = Path(settings.BASE_DIR) / "docs"
        docs.mkdir(exist_ok=True)
        page.screenshot(path=str(docs / "dashboard.png"))
