"""Token and session authentication, scopes, and tenancy in the API (PRODUCT §9, §2)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.accounts import services
from portal.accounts.models import ApiToken, Membership
from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"] in {"client_error", "validation_error", "server_error"}
    assert isinstance(body["errors"], list) and body["errors"]
    assert set(body["errors"][0]) == {"code", "detail", "attr"}
    assert body["request_id"] == response["X-Request-ID"]
    if code:
        assert body["errors"][0]["code"] == code
    return body


def test_token_from_the_command_lists_me(api, acme, alice, capsys):
    call_command("create_api_token", "--customer", "acme", "--user", alice.email, "--scope", "read")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("pw_")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "user": {
            "id": alice.pk,
            "email": alice.email,
            "full_name": alice.full_name,
            "is_staff": False,
        },
        "customer": {"slug": "acme", "name": "Acme Health"},
        "role": "owner",
        "scope": "read",
        "token": {"name": "Command-line token", "prefix": token[:11], "expires_at": None},
    }


def test_tokens_are_stored_hashed(acme, alice, token_for):
    plain = token_for(alice, acme)
    stored = ApiToken.objects.get(customer=acme)
    assert plain not in {stored.key_hash, stored.prefix}
    assert stored.key_hash == services.hash_token(plain)


def test_missing_credentials_is_401_with_a_challenge(api, acme):
    response = api.get("/api/v1/me/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401_in_the_standard_format(api, acme, alice, token_for):
    plain = token_for(alice, acme)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/me/").status_code == 200
    services.api_token_revoke(token=ApiToken.objects.get(customer=acme), actor=alice)
    assert_error(api.get("/api/v1/me/"), 401, "authentication_failed")


def test_expired_token_is_401(api, acme, alice, token_for):
    plain = token_for(alice, acme)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert_error(api.get("/api/v1/me/"), 401)


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer pw_doesnotexist", "Bearer a b"])
def test_bad_tokens_are_401(api, acme, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    assert_error(api.get("/api/v1/me/"), 401)


def test_token_of_a_removed_member_loses_access(api, acme, alice, token_for):
    adam = services.membership_add(customer=acme, email="adam@acme.test", role="admin", actor=None)
    plain = token_for(adam.user, acme)
    services.membership_remove(membership=Membership.objects.get(pk=adam.pk), actor=alice)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert_error(api.get("/api/v1/me/"), 401, "authentication_failed")


def test_read_token_gets_403_on_a_write(bearer, acme, alice):
    client = bearer(alice, acme, "read")
    response = client.post("/api/v1/members/", {"email": "x@acme.test", "role": "viewer"})
    body = assert_error(response, 403, "permission_denied")
    assert "read scope" in body["errors"][0]["detail"]
    assert not Membership.objects.filter(user__email="x@acme.test").exists()


def test_write_token_acts_with_the_users_role(bearer, acme, bob):
    """A write token of a viewer still cannot manage members: the role decides."""
    client = bearer(bob, acme, "write")
    assert_error(client.post("/api/v1/members/", {"email": "x@acme.test", "role": "viewer"}), 403)


def test_globex_token_gets_404_on_acme_objects(bearer, acme, alice, globex, charlie):
    acme_member = Membership.objects.get(customer=acme, user=alice)
    client = bearer(charlie, globex, "write")
    assert_error(client.get(f"/api/v1/members/{acme_member.pk}/"), 404)
    assert_error(client.patch(f"/api/v1/members/{acme_member.pk}/", {"role": "viewer"}), 404)
    assert_error(client.delete(f"/api/v1/members/{acme_member.pk}/"), 404)
    # and the list shows only Globex
    emails = [m["email"] for m in client.get("/api/v1/members/").json()["results"]]
    assert emails == [charlie.email]


def test_a_token_cannot_switch_customer_with_the_header(bearer, acme, alice, globex, charlie):
    client = bearer(charlie, globex)
    response = client.get("/api/v1/me/", HTTP_X_CUSTOMER="acme")
    assert response.json()["customer"]["slug"] == "globex"


def test_token_use_is_audited_and_stamped(bearer, acme, alice):
    client = bearer(alice, acme)
    client.get("/api/v1/me/")
    token = ApiToken.objects.get(customer=acme)
    assert token.last_used_at is not None
    used = AuditEvent.objects.filter(action="api_token.used", customer=acme)
    assert used.count() == 1 and used.get().object_id == str(token.pk)


# -- sessions -----------------------------------------------------------------------------------


def test_session_with_one_customer_needs_no_header(api, acme, alice):
    api.force_login(alice)
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["scope"] == "session" and response.json()["token"] is None


def test_session_with_several_customers_must_say_which(api, acme, alice, globex):
    services.membership_add(customer=globex, email=alice.email, role="viewer", actor=None)
    api.force_login(alice)
    assert_error(api.get("/api/v1/me/"), 400, "customer_required")
    assert api.get("/api/v1/me/", HTTP_X_CUSTOMER="globex").json()["role"] == "viewer"
    assert api.get("/api/v1/me/?customer=acme").json()["role"] == "owner"


def test_session_naming_another_customer_gets_404(api, acme, alice, globex):
    api.force_login(alice)
    assert_error(api.get("/api/v1/me/", HTTP_X_CUSTOMER="globex"), 404)
    assert_error(api.get("/api/v1/me/", HTTP_X_CUSTOMER="nope"), 404)


def test_staff_session_works_in_any_customer(api, acme, globex, staff):
    api.force_login(staff)
    body = api.get("/api/v1/me/", HTTP_X_CUSTOMER="globex").json()
    assert body["customer"]["slug"] == "globex" and body["role"] is None
    assert_error(api.get("/api/v1/me/"), 400, "customer_required")


def test_session_writes_need_csrf(acme, alice):
    from rest_framework.test import APIClient

    strict = APIClient(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post("/api/v1/members/", {"email": "x@acme.test", "role": "viewer"})
    body = assert_error(response, 403)
    assert "CSRF" in body["errors"][0]["detail"]
