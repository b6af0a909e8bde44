"""The append-only audit log (PRODUCT §10)."""

import json

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from portal.accounts import services
from portal.accounts.models import Membership
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.audit.services import record
from tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "sql", ["UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"]
)
def test_update_or_delete_in_sql_fails(acme, alice, sql):
    event = record(action=Action.LOGIN, actor=alice)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    event.refresh_from_db()
    assert event.action == Action.LOGIN


def test_orm_updates_and_deletes_fail_too(alice):
    event = record(action=Action.LOGIN, actor=alice)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_unknown_actions_are_refused(alice):
    with pytest.raises(ValueError, match="Unknown audit action"):
        record(action="claims.teleported", actor=alice)


def test_data_is_shortened_to_a_small_summary_never_refused(alice):
    event = record(action=Action.LOGIN, actor=alice, data={"q": "😀" * 3000, "page": 2})
    assert len(json.dumps(event.data)) <= 2048
    assert event.data["truncated"] is True and event.data["page"] == 2
    assert event.data["q"].startswith("😀")


def test_deleting_a_user_keeps_their_history(alice):
    record(action=Action.LOGIN, actor=alice)
    email, pk = alice.email, alice.pk
    Membership.objects.filter(user=alice).delete()
    alice.delete()
    event = AuditEvent.objects.get(actor_id=pk)
    assert event.actor_email == email


def test_membership_changes_are_audited_with_actor_and_details(acme, alice):
    membership = services.membership_add(
        customer=acme, email="new@acme.test", role="viewer", actor=alice
    )
    services.membership_change_role(membership=membership, role="analyst", actor=alice)
    services.membership_remove(membership=membership, actor=alice)
    events = list(
        AuditEvent.objects.filter(customer=acme, actor=alice)
        .order_by("id")
        .values_list("action", "data")
    )
    assert events == [
        ("membership.added", {"member": "new@acme.test", "role": "viewer"}),
        ("membership.role_changed", {"member": "new@acme.test", "from": "viewer", "to": "analyst"}),
        ("membership.removed", {"member": "new@acme.test", "role": "analyst"}),
    ]


def test_a_refused_change_leaves_no_audit_row(acme, alice):
    own = Membership.objects.get(customer=acme, user=alice)
    before = AuditEvent.objects.count()
    with pytest.raises(Exception, match="last owner"):
        services.membership_change_role(membership=own, role="viewer", actor=alice)
    assert AuditEvent.objects.count() == before


def test_token_changes_are_audited(acme, alice):
    token, _ = services.api_token_create(customer=acme, user=alice, name="BI", actor=alice)
    services.api_token_revoke(token=token, actor=alice)
    events = AuditEvent.objects.filter(customer=acme, object_id=str(token.pk)).order_by("id")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["api_token.created", "api_token.revoked"]


def test_logins_failures_and_logouts_are_audited_with_request_metadata(client, alice, password):
    client.post(
        reverse("login"), {"username": alice.email, "password": "wrong"}, HTTP_USER_AGENT="UA/1"
    )
    client.post(
        reverse("login"),
        {"username": alice.email, "password": password},
        HTTP_USER_AGENT="UA/1",
        HTTP_X_REQUEST_ID="req-123",
    )
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": "ghost@nowhere.test", "password": "x"})
    rows = list(
        AuditEvent.objects.filter(action__startswith="auth.")
        .order_by("id")
        .values_list("action", "outcome", "actor_email")
    )
    assert rows == [
        ("auth.login_failed", "failure", alice.email),
        ("auth.login", "success", alice.email),
        ("auth.logout", "success", alice.email),
        ("auth.login_failed", "failure", "ghost@nowhere.test"),
    ]
    login = AuditEvent.objects.get(action="auth.login")
    assert (login.ip, login.user_agent, login.request_id) == ("127.0.0.1", "UA/1", "req-123")


def test_ten_wrong_passwords_lock_the_account_and_the_lockout_is_audited(client, alice, password):
    for _ in range(10):
        client.post(reverse("login"), {"username": alice.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": alice.email, "password": password})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.locked_out", actor=alice).exists()


def test_nine_wrong_passwords_do_not_lock(client, alice, password):
    for _ in range(9):
        client.post(reverse("login"), {"username": alice.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": alice.email, "password": password})
    assert response.status_code == 302


# -- the audit pages ----------------------------------------------------------------------------


def test_admin_sees_the_customers_audit_log_with_member_logins(
    client, acme, alice, globex, charlie, password
):
    adam = member(acme, "admin", email="adam@acme.test")
    client.post(reverse("login"), {"username": alice.email, "password": password})
    client.post(reverse("logout"))
    record(action=Action.LOGIN, actor=charlie)  # Globex's admin: not Acme's business
    client.force_login(adam)
    html = client.get(reverse("audit:customer", args=["acme"])).content.decode()
    assert 'data-action="auth.login"' in html and alice.email in html
    assert charlie.email not in html


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("analyst", 403), ("viewer", 403), ("charlie", 404)]
)
def test_customer_audit_page_access(client, acme, alice, bob, charlie, who, status):
    users = {"owner": alice, "viewer": bob, "charlie": charlie, "analyst": member(acme, "analyst")}
    client.force_login(users[who])
    assert client.get(reverse("audit:customer", args=["acme"])).status_code == status


def test_staff_see_every_customers_audit_log(client, staff, acme, alice, charlie):
    record(action=Action.LOGIN, actor=charlie)
    record(action=Action.LOGIN, actor=alice)
    client.force_login(staff)
    html = client.get(reverse("audit:all")).content.decode()
    assert alice.email in html and charlie.email in html
    client.force_login(alice)
    assert client.get(reverse("audit:all")).status_code == 404


def test_audit_page_filters_by_action(client, acme, alice):
    services.membership_add(customer=acme, email="n@acme.test", role="viewer", actor=alice)
    client.force_login(alice)
    html = client.get(
        reverse("audit:customer", args=["acme"]), {"action": "membership.added"}
    ).content.decode()
    assert 'data-action="membership.added"' in html and 'data-action="auth.login"' not in html


# -- the API ------------------------------------------------------------------------------------


def test_audit_events_api_is_paginated_filtered_and_admin_only(
    bearer, acme, alice, bob, charlie, globex
):
    for i in range(3):
        services.membership_add(customer=acme, email=f"m{i}@acme.test", role="viewer", actor=alice)
    record(action=Action.LOGIN, actor=charlie, customer=globex)
    client = bearer(alice, acme)
    body = client.get(
        "/api/v1/audit-events/", {"action": "membership.added", "page_size": 2}
    ).json()
    assert body["count"] == 5  # alice and bob joined, plus three
    assert len(body["results"]) == 2 and body["next"]
    assert {e["customer"] for e in body["results"]} == {"acme"}
    assert charlie.email not in str(client.get("/api/v1/audit-events/", {"page_size": 200}).json())
    viewer = bearer(bob, acme)
    assert viewer.get("/api/v1/audit-events/").status_code == 403


def test_the_flat_audit_serializer_writes_what_drf_writes(acme, alice):
    """``FlatSerializerMixin`` on the audit list: the same JSON as DRF's own machinery, for
    events with and without a customer, an actor, an address and data."""
    from rest_framework import serializers as drf
    from rest_framework.renderers import JSONRenderer

    from portal.api.audit_events import AuditEventSerializer

    class Generic(drf.ModelSerializer):
        customer = drf.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
        actor = drf.EmailField(source="actor_email", read_only=True, allow_blank=True)

        class Meta(AuditEventSerializer.Meta):
            pass

    from portal.audit import context

    record(action=Action.LOGIN, actor=alice)  # no customer, no request: no address
    token = context.bind(context.RequestMeta(ip="10.0.0.7", user_agent="UA", request_id="r-1"))
    try:
        record(action=Action.CLAIMS_VIEWED, actor=alice, customer=acme, data={"q": "é"})
    finally:
        context.unbind(token)
    record(action=Action.CUSTOMER_CREATED, customer=acme, obj=acme, actor_email="ops@x.test")
    events = list(AuditEvent.objects.select_related("customer").order_by("id"))
    assert {e.customer_id is None for e in events} == {True, False}
    flat = JSONRenderer().render(AuditEventSerializer(events, many=True).data)
    assert flat == JSONRenderer().render(Generic(events, many=True).data)
    one = AuditEventSerializer(events[0])
    assert one.data and one.__dict__["_flat_plan"]  # the flat way was taken
    assert b'"customer":null' in flat and b'"customer":"acme"' in flat
