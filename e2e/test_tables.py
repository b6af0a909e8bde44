"""The one table recipe, tried as a new user would: the members and customers tables sort, filter
and paginate in place, the URL follows, the back button restores the previous state, and a reload
shows the same page. Without JavaScript the same links and form work as plain requests."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.conftest import expect_same_document, login, mark_window, wait_for_htmx_idle
from portal.accounts.roles import Role
from tests.factories import CustomerFactory, member

pytestmark = pytest.mark.e2e

CLINICS = 50
HOSPITALS = 10


@pytest.fixture
def sixty_customers(db):
    """Three pages of 25 on the staff customers page: 50 clinics, then 10 hospitals by name."""
    for n in range(1, CLINICS + 1):
        CustomerFactory(slug=f"clinic-{n:02d}", name=f"Clinic {n:02d}")
    for n in range(1, HOSPITALS + 1):
        CustomerFactory(slug=f"hospital-{n:02d}", name=f"Hospital {n:02d}")


def customer_rows(page: Page) -> Locator:
    return page.locator("#customers-table tbody tr[data-customer]")


def shown_customers(page: Page) -> list[str]:
    wait_for_htmx_idle(page)
    return customer_rows(page).evaluate_all("rows => rows.map(r => r.dataset.customer)")


def expect_customers_page(page: Page, *, first: str, last: str, count: int, pager: str) -> None:
    """The table shows ``count`` rows from ``first`` to ``last`` and the pager says ``pager``."""
    rows = customer_rows(page)
    expect(rows.first).to_have_attribute("data-customer", first)
    expect(rows.last).to_have_attribute("data-customer", last)
    expect(rows).to_have_count(count)
    expect(page.locator("#table-region .pagination .count")).to_have_text(pager)


def sort_link(page: Page, header: str) -> Locator:
    return page.locator("#table-region thead").get_by_role("link", name=re.compile(rf"^{header}\b"))


def test_staff_sorts_filters_and_pages_customers_in_place(page: Page, staff, sixty_customers, shot):
    login(page, staff)
    page.goto("/customers/")
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="60 rows · page 1 of 3"
    )
    expect(sort_link(page, "Name")).to_have_attribute("aria-sort", "ascending")  # the default
    shot(page, "customers-default")
    mark_window(page)

    # (a) Sort: the name column is already ascending, so the first click turns it around.
    sort_link(page, "Name").click()
    expect(page).to_have_url(re.compile(r"/customers/\?sort=-name$"))
    expect_customers_page(
        page, first="hospital-10", last="clinic-36", count=25, pager="60 rows · page 1 of 3"
    )
    expect(sort_link(page, "Name")).to_have_attribute("aria-sort", "descending")
    expect_same_document(page)
    shot(page, "sorted-by-name-descending")

    sort_link(page, "Name").click()
    expect(page).to_have_url(re.compile(r"/customers/\?sort=name$"))
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="60 rows · page 1 of 3"
    )
    expect(sort_link(page, "Name")).to_have_attribute("aria-sort", "ascending")
    expect_same_document(page)
    shot(page, "sorted-by-name-ascending")

    # (b) Filter: typing searches once, after the debounce, keeps the sort and updates the URL.
    table_requests = []
    page.on(
        "request",
        lambda r: table_requests.append(r.url) if r.headers.get("hx-request") else None,
    )
    page.get_by_label("Search").press_sequentially("hosp", delay=20)
    expect(page).to_have_url(re.compile(r"[?&]q=hosp(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]sort=name(&|$)"))
    expect_customers_page(page, first="hospital-01", last="hospital-10", count=10, pager="10 rows")
    expect_same_document(page)
    assert [re.search(r"q=([^&]*)", url)[1] for url in table_requests] == ["hosp"]
    shot(page, "filtered-hosp")

    page.get_by_label("Search").fill("clinic")
    expect(page).to_have_url(re.compile(r"[?&]q=clinic(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]sort=name(&|$)"))
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="50 rows · page 1 of 2"
    )
    expect_same_document(page)
    filtered_url = page.url
    filtered_page_1 = shown_customers(page)
    shot(page, "filtered-clinic-page-1")

    # (c) Paginate: page 2 of the filtered, sorted list.
    page.locator("#table-region .pagination").get_by_role("link", name="2", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]page=2(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]q=clinic(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]sort=name(&|$)"))
    expect_customers_page(
        page, first="clinic-26", last="clinic-50", count=25, pager="50 rows · page 2 of 2"
    )
    expect(page.locator("#table-region .pagination .current")).to_have_text("2")
    expect_same_document(page)
    page_2_url = page.url
    page_2 = shown_customers(page)
    assert page_2 == [f"clinic-{n:02d}" for n in range(26, 51)]
    shot(page, "filtered-clinic-page-2")

    # (d) Back restores the previous URL and rows, step by step; forward returns to page 2.
    page.go_back()
    expect(page).to_have_url(filtered_url)
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="50 rows · page 1 of 2"
    )
    assert shown_customers(page) == filtered_page_1
    shot(page, "back-to-page-1")

    page.go_back()  # past "clinic" to "hosp"
    expect(page).to_have_url(re.compile(r"[?&]q=hosp(&|$)"))
    expect_customers_page(page, first="hospital-01", last="hospital-10", count=10, pager="10 rows")

    page.go_back()  # before any filter: sorted by name, ascending
    expect(page).to_have_url(re.compile(r"/customers/\?sort=name$"))
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="60 rows · page 1 of 3"
    )
    expect(page.get_by_label("Search")).to_have_value("")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/customers/\?sort=-name$"))
    expect_customers_page(
        page, first="hospital-10", last="clinic-36", count=25, pager="60 rows · page 1 of 3"
    )
    expect(sort_link(page, "Name")).to_have_attribute("aria-sort", "descending")
    shot(page, "back-to-sorted-descending")

    # Forward, one step at a time (each step waits for its rows), back to page 2.
    page.go_forward()
    expect(page).to_have_url(re.compile(r"/customers/\?sort=name$"))
    expect(customer_rows(page).first).to_have_attribute("data-customer", "clinic-01")
    expect(page.locator("#table-region .pagination .count")).to_have_text("60 rows · page 1 of 3")
    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]q=hosp(&|$)"))
    expect(page.locator("#table-region .pagination .count")).to_have_text("10 rows")
    page.go_forward()
    expect(page).to_have_url(filtered_url)
    expect(page.locator("#table-region .pagination .count")).to_have_text("50 rows · page 1 of 2")
    page.go_forward()
    expect(page).to_have_url(page_2_url)
    expect_customers_page(
        page, first="clinic-26", last="clinic-50", count=25, pager="50 rows · page 2 of 2"
    )
    expect_same_document(page)  # history moves were all restored in place

    # (e) Reload: a full page load of the same URL shows the same rows, filter and sort.
    page.reload()
    expect(page).to_have_url(page_2_url)
    expect_customers_page(
        page, first="clinic-26", last="clinic-50", count=25, pager="50 rows · page 2 of 2"
    )
    assert shown_customers(page) == page_2
    expect(page.get_by_label("Search")).to_have_value("clinic")
    expect(sort_link(page, "Name")).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    assert page.evaluate("window.__marker") is None  # it really was a fresh document
    shot(page, "reloaded-page-2")


def test_back_restores_what_the_filter_inputs_said(page: Page, staff, sixty_customers, shot):
    """After Back the filter form must agree with the URL and the rows, or the next "Filter"
    click silently drops the search."""
    login(page, staff)
    page.goto("/customers/")
    page.get_by_label("Search").fill("clinic")
    expect(page).to_have_url(re.compile(r"[?&]q=clinic(&|$)"))
    expect(page.locator("#table-region .pagination .count")).to_have_text("50 rows · page 1 of 2")
    page.locator("#table-region .pagination").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"[?&]page=2(&|$)"))
    expect(page.locator("#table-region .pagination .count")).to_have_text("50 rows · page 2 of 2")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/customers/\?q=clinic&created_after=$"))
    expect(page.locator("#table-region .pagination .count")).to_have_text("50 rows · page 1 of 2")
    shot(page, "back-with-filter")
    expect(page.get_by_label("Search")).to_have_value("clinic", timeout=2_000)


def test_back_after_leaving_a_table_page_shows_the_whole_page(
    page: Page, staff, sixty_customers, shot
):
    """Sort in place, follow a link away, come back: the full page, not the htmx fragment."""
    login(page, staff)
    page.goto("/customers/")
    sort_link(page, "Name").click()
    expect(page).to_have_url(re.compile(r"\?sort=-name$"))
    expect(customer_rows(page).first).to_have_attribute("data-customer", "hospital-10")

    customer_rows(page).first.get_by_role("link", name="Hospital 10").click()
    expect(page).to_have_url(re.compile(r"/c/hospital-10/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hospital 10")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/customers/\?sort=-name$"))
    shot(page, "back-from-customer-home")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers", timeout=2_000)
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.locator("#filter-form")).to_be_visible()
    expect(customer_rows(page).first).to_have_attribute("data-customer", "hospital-10")


@pytest.fixture
def acme_team(acme, alice, bob):
    """Acme: alice (owner), bob (viewer) and five more across the roles."""
    member(acme, Role.VIEWER, email="vera@acme.test", full_name="Vera Viewer")
    member(acme, Role.ANALYST, email="ann@acme.test", full_name="Ann Analyst")
    member(acme, Role.ANALYST, email="otto@acme.test", full_name="Otto Analyst")
    member(acme, Role.ADMIN, email="adam@acme.test", full_name="Adam Admin")
    member(acme, Role.ADMIN, email="zoe@acme.test", full_name="Zoe Admin")


def member_rows(page: Page) -> Locator:
    return page.locator("#members-table tbody tr[data-member]")


def shown_members(page: Page) -> list[str]:
    wait_for_htmx_idle(page)
    return member_rows(page).evaluate_all("rows => rows.map(r => r.dataset.member)")


def test_owner_filters_members_by_role_and_sorts_by_role(page: Page, alice, acme_team, shot):
    login(page, alice)
    page.goto("/c/acme/members/")
    expect(member_rows(page)).to_have_count(7)
    expect(member_rows(page).first).to_have_attribute("data-member", "adam@acme.test")  # by e-mail
    mark_window(page)
    shot(page, "members-default")

    # Sort by role: viewers first (then by e-mail), the owner last; again for the reverse.
    sort_link(page, "Role").click()
    expect(page).to_have_url(re.compile(r"/c/acme/members/\?sort=role$"))
    expect(sort_link(page, "Role")).to_have_attribute("aria-sort", "ascending")
    expect(member_rows(page).first).to_have_attribute("data-member", "bob@acme.test")
    by_role = [
        "bob@acme.test", "vera@acme.test",
        "ann@acme.test", "otto@acme.test",
        "adam@acme.test", "zoe@acme.test",
        "alice@acme.test",
    ]  # fmt: skip
    assert shown_members(page) == by_role
    expect_same_document(page)
    shot(page, "members-sorted-by-role")

    sort_link(page, "Role").click()
    expect(page).to_have_url(re.compile(r"/c/acme/members/\?sort=-role$"))
    expect(sort_link(page, "Role")).to_have_attribute("aria-sort", "descending")
    expect(member_rows(page).first).to_have_attribute("data-member", "alice@acme.test")
    assert shown_members(page) == by_role[::-1]
    expect_same_document(page)

    # Filter by role with the select: the table updates in place and keeps the sort.
    page.locator("#filter-form").get_by_label("Role").select_option(Role.ANALYST)
    expect(page).to_have_url(re.compile(r"[?&]role=analyst(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]sort=-role(&|$)"))
    expect(member_rows(page)).to_have_count(2)
    assert shown_members(page) == ["otto@acme.test", "ann@acme.test"]
    expect(page.locator("#table-region .pagination .count")).to_have_text("2 rows")
    expect_same_document(page)
    shot(page, "members-filtered-analysts")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/c/acme/members/\?sort=-role$"))
    expect(member_rows(page)).to_have_count(7)
    expect(page.locator("#filter-form").get_by_label("Role")).to_have_value("")

    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]role=analyst(&|$)"))
    expect(member_rows(page)).to_have_count(2)

    page.reload()
    expect(member_rows(page)).to_have_count(2)
    assert shown_members(page) == ["otto@acme.test", "ann@acme.test"]
    expect(page.locator("#filter-form").get_by_label("Role")).to_have_value(Role.ANALYST)
    shot(page, "members-reloaded")


def test_tables_work_without_javascript(new_context, staff, sixty_customers, shot):
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, staff)
    page.goto("/customers/")
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="60 rows · page 1 of 3"
    )

    # The filter form is a plain GET form: submitting it loads the filtered page.
    page.get_by_label("Search").fill("clinic")
    page.locator("#filter-form").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/customers/\?q=clinic&created_after=$"))
    expect_customers_page(
        page, first="clinic-01", last="clinic-25", count=25, pager="50 rows · page 1 of 2"
    )
    shot(page, "nojs-filtered")

    # A sort link is a real link that keeps the filter.
    sort_link(page, "Name").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-name(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]q=clinic(&|$)"))
    expect_customers_page(
        page, first="clinic-50", last="clinic-26", count=25, pager="50 rows · page 1 of 2"
    )
    expect(sort_link(page, "Name")).to_have_attribute("aria-sort", "descending")
    shot(page, "nojs-sorted")

    # So is a page link, which keeps both.
    page.locator(".pagination").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"[?&]page=2(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]sort=-name(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]q=clinic(&|$)"))
    expect_customers_page(
        page, first="clinic-25", last="clinic-01", count=25, pager="50 rows · page 2 of 2"
    )
    shot(page, "nojs-page-2")

    # Filtering again from a sorted page keeps the sort (the hidden input in the table region).
    page.get_by_label("Search").fill("hospital")
    page.locator("#filter-form").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]q=hospital(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]sort=-name(&|$)"))
    expect_customers_page(page, first="hospital-10", last="hospital-01", count=10, pager="10 rows")
    shot(page, "nojs-filtered-again")
