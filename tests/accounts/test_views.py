"""Every portal page of the accounts app, for every role (PRODUCT §2): charlie gets 404."""

import pytest
from django.urls import reverse

from portal.accounts.models import Customer, Membership
from portal.accounts.roles import Role
from tests.factories import CustomerFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(acme, alice, bob, charlie, staff):
    return {
        "owner": alice,
        "admin": member(acme, Role.ADMIN, email="adam@acme.test"),
        "analyst": member(acme, Role.ANALYST, email="ana@acme.test"),
        "viewer": bob,
        "charlie": charlie,
        "staff": staff,
    }


PAGE_ACCESS = [
    # (url name, kwargs, {who: expected status})
    (
        "accounts:home",
        {},
        dict(owner=200, admin=200, analyst=200, viewer=200, charlie=200, staff=200),
    ),
    (
        "accounts:customer-home",
        {"slug": "acme"},
        dict(owner=200, admin=200, analyst=200, viewer=200, charlie=404, staff=200),
    ),
    (
        "accounts:member-list",
        {"slug": "acme"},
        dict(owner=200, admin=200, analyst=403, viewer=403, charlie=404, staff=200),
    ),
    (
        "accounts:customer-list",
        {},
        dict(owner=404, admin=404, analyst=404, viewer=404, charlie=404, staff=200),
    ),
    (
        "accounts:customer-create",
        {},
        dict(owner=404, admin=404, analyst=404, viewer=404, charlie=404, staff=200),
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), PAGE_ACCESS)
def test_page_access_by_role(client, cast, name, kwargs, expected):
    url = reverse(name, kwargs=kwargs)
    for who, status in expected.items():
        client.force_login(cast[who])
        assert client.get(url).status_code == status, (who, url)


@pytest.mark.parametrize(("name", "kwargs", "_"), PAGE_ACCESS)
def test_anonymous_is_sent_to_login(client, db, acme, name, kwargs, _):
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_unknown_customer_is_404_even_for_staff(client, staff):
    client.force_login(staff)
    assert client.get("/c/nope/").status_code == 404


# -- members: writes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "created"),
    [
        ("owner", 302, True),
        ("admin", 302, True),
        ("staff", 302, True),
        ("analyst", 403, False),
        ("viewer", 403, False),
        ("charlie", 404, False),
    ],
)
def test_add_member_by_role(client, cast, acme, who, status, created):
    client.force_login(cast[who])
    response = client.post(
        reverse("accounts:member-list", args=["acme"]),
        {"email": "new@acme.test", "role": "analyst"},
    )
    assert response.status_code == status
    assert Membership.objects.filter(customer=acme, user__email="new@acme.test").exists() is created


def test_add_member_errors_rerender_the_form(client, cast, acme):
    client.force_login(cast["admin"])
    response = client.post(
        reverse("accounts:member-list", args=["acme"]), {"email": "bob@acme.test", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    response = client.post(
        reverse("accounts:member-list", args=["acme"]), {"email": "not-an-email", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "valid email" in response.content.decode().lower()


def test_admin_cannot_add_an_owner_and_sees_why(client, cast, acme):
    client.force_login(cast["admin"])
    response = client.post(
        reverse("accounts:member-list", args=["acme"]), {"email": "boss@acme.test", "role": "owner"}
    )
    assert response.status_code == 400
    assert "Only an owner" in response.content.decode()
    assert not Membership.objects.filter(user__email="boss@acme.test").exists()


@pytest.mark.parametrize(
    ("who", "status", "changed"),
    [
        ("owner", 302, True),
        ("admin", 302, True),
        ("analyst", 403, False),
        ("viewer", 403, False),
        ("charlie", 404, False),
    ],
)
def test_change_role_by_role(client, cast, acme, who, status, changed):
    target = Membership.objects.get(customer=acme, user=cast["analyst"])
    client.force_login(cast[who])
    response = client.post(
        reverse("accounts:member-role", args=["acme", target.pk]), {"role": "admin"}
    )
    assert response.status_code == status
    target.refresh_from_db()
    assert (target.role == Role.ADMIN) is changed


def test_demoting_the_last_owner_shows_an_error_and_changes_nothing(client, cast, acme):
    own = Membership.objects.get(customer=acme, user=cast["owner"])
    client.force_login(cast["owner"])
    response = client.post(
        reverse("accounts:member-role", args=["acme", own.pk]), {"role": "viewer"}, follow=True
    )
    assert "last owner cannot be demoted" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.OWNER


@pytest.mark.parametrize(
    ("who", "status", "removed"),
    [
        ("owner", 302, True),
        ("admin", 302, True),
        ("analyst", 403, False),
        ("viewer", 403, False),
        ("charlie", 404, False),
    ],
)
def test_remove_member_by_role(client, cast, acme, who, status, removed):
    target = Membership.objects.get(customer=acme, user=cast["analyst"])
    client.force_login(cast[who])
    response = client.post(reverse("accounts:member-remove", args=["acme", target.pk]))
    assert response.status_code == status
    assert Membership.objects.filter(pk=target.pk).exists() is not removed


def test_another_customers_membership_is_404_through_my_customer(client, cast, globex):
    """Charlie's membership id under Acme's URL: not found, and untouched."""
    theirs = Membership.objects.get(customer=globex, user=cast["charlie"])
    client.force_login(cast["owner"])
    assert (
        client.post(reverse("accounts:member-remove", args=["acme", theirs.pk])).status_code == 404
    )
    assert (
        client.post(
            reverse("accounts:member-role", args=["acme", theirs.pk]), {"role": "viewer"}
        ).status_code
        == 404
    )
    assert Membership.objects.get(pk=theirs.pk).role == Role.ADMIN


def test_member_pages_do_not_accept_get_for_writes(client, cast, acme):
    target = Membership.objects.get(customer=acme, user=cast["analyst"])
    client.force_login(cast["owner"])
    assert (
        client.get(reverse("accounts:member-remove", args=["acme", target.pk])).status_code == 405
    )


def test_change_role_returns_to_the_same_table_state(client, cast, acme):
    target = Membership.objects.get(customer=acme, user=cast["analyst"])
    client.force_login(cast["owner"])
    response = client.post(
        reverse("accounts:member-role", args=["acme", target.pk]),
        {"role": "viewer", "next_query": "sort=role&page=1"},
    )
    assert response["Location"] == "/c/acme/members/?sort=role&page=1"


# -- the table recipe --------------------------------------------------------------------------


def rows(response, attr="data-member"):
    html = response.content.decode()
    return [chunk.split('"', 1)[0] for chunk in html.split(f'{attr}="')[1:]]


def test_members_table_filters_sorts_and_paginates(client, cast, acme):
    for i in range(30):
        member(acme, Role.VIEWER, email=f"zz{i:02d}@acme.test")
    client.force_login(cast["owner"])
    url = reverse("accounts:member-list", args=["acme"])

    first = rows(client.get(url))
    assert len(first) == 25 and first == sorted(first)
    second = rows(client.get(url, {"page": 2}))
    assert len(second) == 34 - 25 and not set(first) & set(second)

    assert rows(client.get(url, {"role": "analyst"})) == ["ana@acme.test"]
    assert rows(client.get(url, {"q": "ADAM@"})) == ["adam@acme.test"]
    by_role = rows(client.get(url, {"sort": "-role"}))
    assert by_role[:1] == ["alice@acme.test"]  # owner ranks highest


def test_htmx_request_gets_only_the_table_partial(client, cast, acme):
    client.force_login(cast["owner"])
    url = reverse("accounts:member-list", args=["acme"])
    partial = client.get(url, {"sort": "role"}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="table-region"')
    assert "<html" not in html and 'id="filter-form"' not in html
    assert 'name="sort" value="role" form="filter-form"' in html
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()


def test_sort_and_page_links_work_with_and_without_htmx(client, cast, acme):
    client.force_login(cast["owner"])
    html = client.get(reverse("accounts:member-list", args=["acme"])).content.decode()
    assert 'href="?sort=name" hx-get="?sort=name"' in html
    assert (
        'href="?sort=-email" hx-get="?sort=-email"' in html
    )  # sorted by e-mail: next is descending
    assert 'hx-push-url="true"' in html
    assert 'hx-headers=\'{"x-csrftoken": "' in html


def test_empty_states_tell_nothing_yet_from_nothing_matches(client, staff):
    client.force_login(staff)
    url = reverse("accounts:customer-list")
    assert "No customers yet." in client.get(url).content.decode()
    CustomerFactory(slug="one")
    html = client.get(url, {"q": "zzz"}).content.decode()
    assert "Nothing matches these filters" in html


def test_invalid_filter_value_shows_an_error_not_a_crash(client, staff, acme):
    client.force_login(staff)
    response = client.get(reverse("accounts:customer-list"), {"created_after": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()


def test_customers_table_counts_members_and_owners(client, cast):
    client.force_login(cast["staff"])
    html = client.get(reverse("accounts:customer-list"), {"q": "acme"}).content.decode()
    row = html.split('data-customer="acme"')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("<")[0].strip() for c in row.split("<td")[1:]]
    assert cells[1:4] == ["acme", "4", "1"]  # slug, members, owners
    assert 'data-customer="globex"' not in html


def test_staff_creates_a_customer(client, staff):
    client.force_login(staff)
    response = client.post(
        reverse("accounts:customer-create"),
        {"name": "Initech", "slug": "initech", "owner_email": "peter@initech.test"},
    )
    assert response.status_code == 302 and response["Location"] == "/c/initech/"
    customer = Customer.objects.get(slug="initech")
    assert customer.membership_set.get().user.email == "peter@initech.test"


def test_customer_create_errors_are_shown(client, staff, acme):
    client.force_login(staff)
    response = client.post(
        reverse("accounts:customer-create"),
        {"name": "Dup", "slug": "acme", "owner_email": "x@x.test"},
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


# -- navigation --------------------------------------------------------------------------------


def test_switcher_lists_only_my_customers(client, cast, acme, globex):
    client.force_login(cast["owner"])
    html = client.get("/").content.decode()
    assert "/c/acme/" in html and "/c/globex/" not in html
    client.force_login(cast["staff"])
    html = client.get("/").content.decode()
    assert "/c/acme/" in html and "/c/globex/" in html


def test_navigation_follows_the_role(client, cast):
    client.force_login(cast["viewer"])
    html = client.get("/c/acme/").content.decode()
    assert "/c/acme/members/" not in html and "/admin/" not in html
    client.force_login(cast["admin"])
    html = client.get("/c/acme/").content.decode()
    assert "/c/acme/members/" in html and "/customers/" not in html
    client.force_login(cast["staff"])
    html = client.get("/c/acme/").content.decode()
    assert "/customers/" in html and "/admin/" in html


def test_customer_home_lists_what_the_role_may_do(client, cast):
    client.force_login(cast["analyst"])
    html = client.get("/c/acme/").content.decode()
    assert 'Upload claims<span class="visually-hidden">: allowed' in html
    assert 'Manage members below owner<span class="visually-hidden">: not allowed' in html
