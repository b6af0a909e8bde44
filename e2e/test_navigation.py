"""The header's menus (``static/js/portal.js``): a click elsewhere or Escape closes an open menu,
and opening one menu closes the other."""

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_menus_close_on_a_click_elsewhere_on_escape_and_when_another_opens(
    page: Page, acme, alice, shot
):
    login(page, alice)
    page.goto("/c/acme/")
    settings = page.locator("details#settings-menu")
    switcher = page.locator("details#customer-switcher")
    user_menu = page.locator("header details.usermenu")

    settings.locator("summary").click()
    expect(settings).to_have_attribute("open", "")
    shot(page, "settings-open")
    page.get_by_role("heading", level=1).click()  # anywhere outside the menu
    expect(settings).not_to_have_attribute("open", "")

    switcher.locator("summary").click()
    expect(switcher).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(switcher).not_to_have_attribute("open", "")
    expect(switcher.locator("summary")).to_be_focused()

    settings.locator("summary").click()
    user_menu.locator("summary").click()  # opening the user menu closes the settings
    expect(user_menu).to_have_attribute("open", "")
    expect(settings).not_to_have_attribute("open", "")
    shot(page, "user-menu-open")

    # a click inside an open menu keeps it open, and its links still work
    settings.locator("summary").click()
    settings.get_by_role("link", name="Members").click()
    expect(page).to_have_url(f"{page.url.split('/c/')[0]}/c/acme/members/")
