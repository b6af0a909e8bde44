"""The members resource: list for every role, managed by admins (PRODUCT §2, §9)."""

import pytest

from portal.accounts.models import Membership
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def test_any_role_lists_members_paginated(bearer, acme, alice, bob):
    for i in range(5):
        member(acme, "viewer", email=f"m{i}@acme.test")
    body = (
        bearer(bob, acme)
        .get("/api/v1/members/", {"page_size": 3, "ordering": "user__email"})
        .json()
    )
    assert body["count"] == 7 and len(body["results"]) == 3 and body["next"]
    assert [m["email"] for m in body["results"]] == [
        "alice@acme.test",
        "bob@acme.test",
        "m0@acme.test",
    ]


def test_page_size_is_capped_at_200(bearer, acme, alice):
    for _ in range(205):
        Membership.objects.create(customer=acme, user=UserFactory(), role="viewer")
    body = bearer(alice, acme).get("/api/v1/members/", {"page_size": 500}).json()
    assert len(body["results"]) == 200


def test_filters_search_and_ordering(bearer, acme, alice, bob):
    member(acme, "analyst", email="ana@acme.test")
    client = bearer(alice, acme)
    assert [
        m["email"] for m in client.get("/api/v1/members/", {"role": "analyst"}).json()["results"]
    ] == ["ana@acme.test"]
    assert [
        m["email"] for m in client.get("/api/v1/members/", {"search": "bob@"}).json()["results"]
    ] == ["bob@acme.test"]
    ordered = client.get("/api/v1/members/", {"ordering": "-user__email"}).json()["results"]
    assert [m["email"] for m in ordered] == ["bob@acme.test", "ana@acme.test", "alice@acme.test"]
    bad = client.get("/api/v1/members/", {"ordering": "user__password"}).json()["results"]
    assert len(bad) == 3  # unknown ordering fields are ignored, never exposed


def test_admin_adds_changes_and_removes_a_member(bearer, acme, alice):
    client = bearer(alice, acme, "write")
    created = client.post("/api/v1/members/", {"email": "new@acme.test", "role": "analyst"})
    assert created.status_code == 201 and created.json()["role"] == "analyst"
    pk = created.json()["id"]
    changed = client.patch(f"/api/v1/members/{pk}/", {"role": "admin"})
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert Membership.objects.get(pk=pk).user.has_perm("accounts.manage_members", acme)
    assert client.delete(f"/api/v1/members/{pk}/").status_code == 204
    assert not Membership.objects.filter(pk=pk).exists()


def test_put_is_not_offered(bearer, acme, alice):
    pk = Membership.objects.get(user=alice).pk
    response = bearer(alice, acme, "write").put(f"/api/v1/members/{pk}/", {"role": "admin"})
    assert response.status_code == 405


def test_last_owner_cannot_be_removed_through_the_api(bearer, acme, alice):
    pk = Membership.objects.get(user=alice).pk
    response = bearer(alice, acme, "write").delete(f"/api/v1/members/{pk}/")
    assert response.status_code == 400
    assert "last owner" in response.json()["errors"][0]["detail"]
    assert Membership.objects.filter(pk=pk).exists()


def test_viewer_cannot_manage_members(bearer, acme, bob):
    response = bearer(bob, acme, "write").post(
        "/api/v1/members/", {"email": "x@acme.test", "role": "viewer"}
    )
    assert response.status_code == 403


def test_unknown_member_id_is_404(bearer, acme, alice):
    assert bearer(alice, acme).get("/api/v1/members/999999/").status_code == 404


def test_cursor_pagination_pages_without_offsets(rf, acme, alice):
    """The cursor class later feeds use: stable pages, newest first, no overlap."""
    from rest_framework.request import Request

    from portal.api.pagination import NewestFirstCursorPagination
    from portal.audit.actions import Action
    from portal.audit.models import AuditEvent
    from portal.audit.services import record

    for _ in range(5):
        record(action=Action.LOGIN, actor=alice, customer=acme)
    queryset = AuditEvent.objects.filter(customer=acme, action=Action.LOGIN)
    paginator = NewestFirstCursorPagination()
    first = paginator.paginate_queryset(queryset, Request(rf.get("/x", {"page_size": 3})))
    next_url = paginator.get_next_link()
    second = paginator.paginate_queryset(queryset, Request(rf.get(next_url)))
    ids = [e.id for e in first + second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert "cursor=" in next_url and "page=" not in next_url
