"""Swagger UI and Redoc load from our own server only, and Swagger UI calls the API with the
portal session (PRODUCT §9: served locally, no CDN)."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import login

pytestmark = pytest.mark.e2e


def block_other_origins(page: Page, live_server) -> list[str]:
    """Abort every request that is not for the live server; return the ones that were tried."""
    ours = urlparse(live_server.url).netloc
    tried: list[str] = []

    def route(r):
        if urlparse(r.request.url).netloc in {ours, ""} or r.request.url.startswith(
            ("data:", "blob:")
        ):
            r.continue_()
        else:
            tried.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return tried


def test_swagger_ui_loads_offline_and_calls_me_with_the_session(
    page: Page, live_server, alice, shot
):
    tried = block_other_origins(page, live_server)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, alice)
    page.goto("/api/docs/")
    operation = page.locator("#operations-me-me")
    expect(operation).to_be_visible(timeout=15_000)
    shot(page, "swagger-loaded")
    operation.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    response = operation.locator(".responses-wrapper .live-responses-table")
    expect(response.locator("tbody .response-col_status").first).to_have_text("200", timeout=10_000)
    expect(response).to_contain_text(alice.email)
    shot(page, "swagger-me-200")
    assert tried == []
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_redoc_loads_offline(page: Page, live_server, alice, shot):
    tried = block_other_origins(page, live_server)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/api/redoc/")
    expect(page.get_by_text("Payerwatch API").first).to_be_visible(timeout=15_000)
    expect(page.get_by_role("menuitem", name="members")).to_be_visible()
    shot(page, "redoc-loaded")
    assert tried == []
    # Redoc's footer logo points at its CDN; our CSP stops it before any request is made.
    blocked = [e for e in errors if "Content Security Policy" in e and "logo-mini.svg" not in e]
    assert not blocked, errors
