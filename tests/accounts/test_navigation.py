"""The top bar (``accounts.navigation``): rendered once per user, customer and permissions, then
read from the cache; a change of customers, memberships or roles shows on the next page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.accounts import services
from portal.accounts.models import Membership
from portal.accounts.roles import Role

TOPBAR = "core/_topbar.html"


def _bar(response) -> str:
    return re.search(
        r'<header class="topbar">(.*?)<details class="usermenu">', response.text, re.S
    )[1]


def _switcher(response) -> list[str]:
    block = re.search(r'id="customer-switcher">(.*?)</details>', response.text, re.S)[1]
    return re.findall(r"<a [^>]*>([^<]+)</a>", block)


@pytest.fixture
def home(client_for, acme):
    def get(user, customer=acme):
        response = client_for(user).get(f"/c/{customer.slug}/")
        assert response.status_code == 200
        return response

    return get


def test_the_second_page_reads_the_bar_from_the_cache(home, alice, acme):
    first = home(alice)
    assert TOPBAR in [t.name for t in first.templates]
    with CaptureQueriesContext(connection) as queries:
        second = home(alice)
    assert TOPBAR not in [t.name for t in second.templates]
    assert _bar(second) == _bar(first)
    assert not [q for q in queries if 'INNER JOIN "accounts_membership"' in q["sql"]]
    assert _switcher(second) == ["Acme Health"]


def test_each_user_sees_their_own_bar(home, alice, bob, globex, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_add(customer=globex, email=alice.email, role=Role.VIEWER, actor=None)
    assert _switcher(home(alice)) == ["Acme Health", "Globex Clinics"]
    bob_page = home(bob)
    assert _switcher(bob_page) == ["Acme Health"]
    assert "Members</a>" not in _bar(bob_page)  # a viewer; alice (owner) has the link
    assert "Members</a>" in _bar(home(alice))


def test_a_new_membership_shows_in_the_switcher(
    home, alice, globex, django_capture_on_commit_callbacks
):
    assert _switcher(home(alice)) == ["Acme Health"]
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_add(customer=globex, email=alice.email, role=Role.VIEWER, actor=None)
    assert _switcher(home(alice)) == ["Acme Health", "Globex Clinics"]


def test_a_renamed_customer_shows_its_new_name(
    home, alice, acme, django_capture_on_commit_callbacks
):
    assert "Acme Health" in _bar(home(alice))
    with django_capture_on_commit_callbacks(execute=True):
        acme.name = "Acme Medical"
        acme.save()
    bar = _bar(home(alice))
    assert "Acme Medical" in bar and "Acme Health" not in bar


def test_a_new_role_shows_its_links(home, alice, bob, acme, django_capture_on_commit_callbacks):
    assert "Members</a>" not in _bar(home(bob))
    membership = Membership.objects.get(customer=acme, user=bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_change_role(membership=membership, role=Role.ADMIN, actor=alice)
    assert "Members</a>" in _bar(home(bob))


def test_a_removed_member_loses_the_customer(
    home, alice, bob, acme, globex, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_add(customer=globex, email=bob.email, role=Role.VIEWER, actor=None)
    assert _switcher(home(bob)) == ["Acme Health", "Globex Clinics"]
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_remove(
            membership=Membership.objects.get(customer=globex, user=bob), actor=None
        )
    assert _switcher(home(bob)) == ["Acme Health"]


def test_a_change_is_seen_only_once_committed(home, alice, globex):
    """The generation moves on at the commit: until then the cached bar stands (a test's
    transaction never commits)."""
    assert _switcher(home(alice)) == ["Acme Health"]
    services.membership_add(customer=globex, email=alice.email, role=Role.VIEWER, actor=None)
    assert _switcher(home(alice)) == ["Acme Health"]


def test_anonymous_pages_show_the_brand_alone(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    header = re.search(r'<header class="topbar">(.*?)</header>', response.text, re.S)[1]
    assert 'class="brand"' in header and "mainnav" not in header and "switcher" not in header
