"""Playwright harness: the system Chromium against pytest-django's ``live_server``.

Run with ``.venv/bin/pytest e2e -p no:cacheprovider`` (``DATABASE_URL`` as for the unit tests).
Screenshots of every significant step land in ``e2e/screenshots/`` (git-ignored).
"""

import os
import re
from pathlib import Path

# Playwright's sync API runs an event loop in the main thread; the tests still create their data
# with the ORM there, which Django refuses in an async context unless told otherwise.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest
from playwright.sync_api import Page, expect

# The cast of tests/conftest.py (not loaded for e2e/, a sibling directory): importing the fixtures
# here registers them for every browser test.
from tests.conftest import (  # noqa: F401
    _empty_cache_when_committing,
    _tasks_run_inline,
    acme,
    alice,
    bob,
    charlie,
    globex,
    password,
    staff,
)
from tests.factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Nothing here should take long against a local server; fail fast instead of hanging 30 s.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """The system Chromium (``playwright install`` cannot download one here), headless."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """Every page talks to the live server, so tests write ``page.goto("/customers/")``."""
    return live_server.url


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Manifest storage needs collectstatic; the live server serves from the finders (NOTES)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def shot(request):
    """``shot(page, "step")`` saves ``e2e/screenshots/<test>--NN-step.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
    counter = iter(range(1, 1000))

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{test_name}--{next(counter):02d}-{step}.png"
        # Chromium's full-page capture leaves the page scrolled elsewhere than the user left it
        # and jumps back on the next mousedown, so the following click landed on another element
        # (a swallowed "Save"). Put the scroll position back as it was.
        position = page.evaluate("[window.scrollX, window.scrollY]")
        page.screenshot(path=str(path), full_page=True)
        page.evaluate("([x, y]) => window.scrollTo(x, y)", position)
        return path

    return take


def login(page: Page, user, *, with_password: str = PASSWORD) -> None:
    """Log in through the real form, as a person would, and wait for the landing page."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.email)
    page.locator("input[name=password]").fill(with_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your customers")).to_be_visible()
    expect(page.locator("header .usermenu summary")).to_have_text(user.email)


def mark_window(page: Page) -> None:
    """Tag the current document; ``expect_same_document`` fails if a full page load replaced it."""
    page.evaluate("window.__marker = 1")


def expect_same_document(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page did a full reload"


def wait_for_htmx_idle(page: Page) -> None:
    """No htmx request in flight (htmx puts ``htmx-request`` on the element that issued it)."""
    expect(page.locator(".htmx-request")).to_have_count(0)
