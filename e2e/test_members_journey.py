"""An owner who belongs to two customers switches between them and manages Acme's members."""

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import login
from portal.accounts import services
from portal.accounts.models import Membership, User
from portal.accounts.roles import Role

pytestmark = pytest.mark.e2e

NEW_MEMBER = "dana@acme.test"


def _switch_customer(page: Page, name: str) -> None:
    switcher = page.locator("details#customer-switcher")
    switcher.locator("summary").click()
    expect(switcher).to_have_attribute("open", "")
    switcher.get_by_role("link", name=name, exact=True).click()


def _fresh_user(email: str) -> User:
    """A new instance each time: guardian caches permissions on the user object."""
    return User.objects.get(email__iexact=email)


def test_owner_switches_customer_adds_member_and_promotes_them_to_admin(
    page: Page, acme, globex, alice, shot, mailoutbox
):
    services.membership_add(customer=globex, email=alice.email, role=Role.VIEWER, actor=None)

    login(page, alice)
    shot(page, "home-after-login")

    # The switcher lists both customers; Globex, where alice only views, has no Members link.
    _switch_customer(page, "Globex Clinics")
    expect(page).to_have_url(re.compile(r"/c/globex/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Globex Clinics")
    expect(page.locator("main")).to_contain_text("You are viewer here")
    expect(page.locator("details#customer-switcher summary")).to_have_text("Globex Clinics")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Members")
    ).to_have_count(0)
    shot(page, "globex-home-as-viewer")

    _switch_customer(page, "Acme Health")
    expect(page).to_have_url(re.compile(r"/c/acme/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Health")
    expect(page.locator("main")).to_contain_text("You are owner here")
    shot(page, "acme-home-as-owner")

    page.locator("#settings-menu summary").click()  # settings-like pages live in this menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    expect(page).to_have_url(re.compile(r"/c/acme/members/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Members of Acme Health")
    expect(page.locator("tr[data-member]")).to_have_count(1)  # alice alone
    shot(page, "acme-members-before")

    add_form = page.locator("#member-add-form")
    add_form.get_by_label("E-mail").fill(NEW_MEMBER)
    add_form.get_by_label("Role").select_option(Role.ANALYST)
    add_form.get_by_role("button", name="Add member").click()

    expect(page.locator(".message.success")).to_have_text(f"{NEW_MEMBER} added as Analyst.")
    row = page.locator(f'tr[data-member="{NEW_MEMBER}"]')
    expect(row).to_be_visible()
    expect(row.get_by_role("cell").nth(2)).to_have_text("Analyst")
    expect(page.locator("tr[data-member]")).to_have_count(2)
    shot(page, "member-added-as-analyst")
    assert Membership.objects.get(customer=acme, user__email=NEW_MEMBER).role == Role.ANALYST
    assert not _fresh_user(NEW_MEMBER).has_perm("accounts.manage_members", acme)
    assert [m.to for m in mailoutbox] == [[NEW_MEMBER]]  # the invitation to choose a password

    row.get_by_label(f"Role of {NEW_MEMBER}").select_option(Role.ADMIN)
    row.get_by_role("button", name="Change role").click()

    expect(page.locator(".message.success")).to_have_text(f"{NEW_MEMBER} is now Admin.")
    row = page.locator(f'tr[data-member="{NEW_MEMBER}"]')
    expect(row.get_by_role("cell").nth(2)).to_have_text("Admin")
    expect(row.get_by_label(f"Role of {NEW_MEMBER}")).to_have_value(Role.ADMIN)
    shot(page, "member-promoted-to-admin")

    membership = Membership.objects.get(customer=acme, user__email=NEW_MEMBER)
    assert membership.role == Role.ADMIN
    promoted = _fresh_user(NEW_MEMBER)
    assert promoted.has_perm("accounts.manage_members", acme)
    assert not promoted.has_perm("accounts.manage_owners", acme)
    assert not promoted.has_perm("accounts.view_customer_data", globex)
