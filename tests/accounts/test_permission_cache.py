"""Customer permissions are asked once per request (``accounts.backends``): the view, the
navigation's ``{% can %}`` links and the home page's abilities all reuse one query, staff need
none, and a change of role is seen at once — also within the request that made it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.accounts import services
from portal.accounts.backends import request_cache
from portal.accounts.models import Membership
from tests.claims.builders import random_claims

pytestmark = pytest.mark.django_db

PERMISSION_TABLES = ("customeruserobjectpermission", "customergroupobjectpermission")


def _get(client, path, **extra):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **extra)
    assert response.status_code == 200, response.content[:300]
    sqls = [q["sql"] for q in queries.captured_queries]
    return sqls, [sql for sql in sqls if any(table in sql for table in PERMISSION_TABLES)]


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/c/acme/", 10),  # the home page asks about 13 abilities and 3 navigation links
        ("/c/acme/claims/", 14),
        ("/c/acme/drift/", 12),
    ],
)
def test_a_portal_page_asks_for_permissions_once(client, acme, alice, bob, path, most):
    """Before: two queries per question (42 on the home page, 20 on the claims page)."""
    random_claims(acme, claims=60, payers=3, today=timezone.localdate())
    for user in (alice, bob):
        client.force_login(user)
        client.get(path)  # the session's first renewal and the dashboard cache are not the point
        queries, permission_queries = _get(client, path)
        assert len(permission_queries) == 1, permission_queries
        # read inside the statement that finds the customer by its slug: no query of its own
        assert "accounts_customer" in permission_queries[0] and "slug =" in permission_queries[0]
        assert len(queries) <= most, "\n".join(queries)


def test_staff_pages_ask_no_permission_query(client, acme, staff):
    client.force_login(staff)
    client.get("/c/acme/")
    _, permission_queries = _get(client, "/c/acme/")
    assert permission_queries == []
    response = client.get("/c/acme/")
    assert reverse("accounts:member-list", args=["acme"]) in response.text  # staff manage all


def test_the_api_list_asks_for_permissions_once(bearer, acme, bob):
    """Before: 13 queries, two of them permissions, four the rate-limit cache table."""
    random_claims(acme, claims=60, payers=3, today=timezone.localdate())
    client = bearer(bob, acme)
    client.get("/api/v1/claims/")
    queries, permission_queries = _get(client, "/api/v1/claims/")
    assert len(permission_queries) == 1, permission_queries
    assert "accounts_apitoken" in permission_queries[0]  # read with the token, membership too
    membership_checks = [
        q for q in queries if re.match(r'SELECT \S+ AS "a" FROM "accounts_membership"', q)
    ]
    assert membership_checks == []
    assert len(queries) <= 14, "\n".join(queries)


def test_the_navigation_follows_the_role_on_the_next_request(client, acme, alice, bob):
    client.force_login(bob)
    members = reverse("accounts:member-list", args=["acme"])
    assert members not in client.get("/c/acme/").text
    membership = Membership.objects.get(customer=acme, user=bob)
    services.membership_change_role(membership=membership, role="admin", actor=alice)
    assert members in client.get("/c/acme/").text
    services.membership_change_role(membership=membership, role="viewer", actor=alice)
    assert members not in client.get("/c/acme/").text
    assert client.get(members).status_code == 403


def test_a_change_within_the_request_is_seen_by_the_next_question(acme, alice, bob):
    membership = Membership.objects.get(customer=acme, user=bob)
    with request_cache():
        assert not bob.has_perm("accounts.upload_claims", acme)
        with CaptureQueriesContext(connection) as queries:
            assert not bob.has_perm("accounts.run_detection", acme)
        assert len(queries) == 0  # remembered
        services.membership_change_role(membership=membership, role="analyst", actor=alice)
        assert bob.has_perm("accounts.upload_claims", acme)
        services.membership_remove(membership=membership, actor=alice)
        assert not bob.has_perm("accounts.view_customer_data", acme)


def test_nothing_is_remembered_outside_a_request(acme, bob):
    with CaptureQueriesContext(connection) as queries:
        bob.has_perm("accounts.view_customer_data", acme)
        bob.has_perm("accounts.view_customer_data", acme)
    assert len(queries) == 2


def test_answers_are_per_user_and_per_customer(acme, globex, alice, bob, charlie):
    with request_cache():
        assert alice.has_perm("accounts.manage_members", acme)
        assert not bob.has_perm("accounts.manage_members", acme)
        assert not alice.has_perm("accounts.view_customer_data", globex)
        assert charlie.has_perm("accounts.manage_members", globex)
        assert not charlie.has_perm("accounts.view_customer_data", acme)


def test_group_permissions_on_the_customer_count(acme, charlie):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    group = Group.objects.create(name="auditors")
    assign_perm("accounts.view_audit_log", group, acme)
    with request_cache():
        assert not charlie.has_perm("accounts.view_audit_log", acme)
        charlie.groups.add(group)
        assert charlie.has_perm("accounts.view_audit_log", acme)
        assert not charlie.has_perm("accounts.manage_members", acme)


def test_an_inactive_user_holds_nothing(acme, alice):
    alice.is_active = False
    with request_cache():
        assert not alice.has_perm("accounts.view_customer_data", acme)


def test_the_token_statement_reads_what_the_orm_reads(acme, globex, bob, charlie):
    """``backends.token_entry``: the token, its user and its customer field by field as the
    ORM reads them, whether the user is a member, and their permissions including a group's."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    from portal.accounts.backends import customer_codenames, token_entry
    from portal.accounts.models import ApiToken
    from portal.accounts.services import hash_token

    group = Group.objects.create(name="auditors")
    assign_perm("accounts.view_audit_log", group, acme)
    bob.groups.add(group)
    token, plain = services.api_token_create(
        customer=acme, user=bob, name="read", scope="read", actor=None
    )
    expected = ApiToken.objects.select_related("user", "customer").get(pk=token.pk)
    with request_cache():
        with CaptureQueriesContext(connection) as queries:
            read = token_entry(hash_token(plain))
            codenames = customer_codenames(bob, acme)  # remembered: no second statement
        assert len(queries) == 1
    for mine, theirs in (
        (read, expected),
        (read.user, expected.user),
        (read.customer, expected.customer),
    ):
        fields = [field.attname for field in type(theirs)._meta.concrete_fields]
        assert [getattr(mine, f) for f in fields] == [getattr(theirs, f) for f in fields]
    assert read.is_member is True
    assert "view_audit_log" in codenames and "view_customer_data" in codenames
    assert "manage_members" not in codenames
    assert token_entry(hash_token(plain + "x")) is None
    # charlie's token for globex, after charlie left globex: not a member any more
    _, other_plain = services.api_token_create(
        customer=globex, user=charlie, name="r", scope="read", actor=None
    )
    Membership.objects.filter(customer=globex, user=charlie).delete()
    assert token_entry(hash_token(other_plain)).is_member is False
