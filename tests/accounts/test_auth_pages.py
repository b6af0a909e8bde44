"""Login, logout, password change and reset, and the back office."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_with_email_case_insensitively_then_logout(client, alice, password):
    response = client.post(reverse("login"), {"username": "ALICE@acme.test", "password": password})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Acme Health" in client.get("/").content.decode()
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client, alice):
    response = client.post(reverse("login"), {"username": alice.email, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()


def test_password_change(client, alice, password):
    client.force_login(alice)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "An0ther-long-pass",
            "new_password2": "An0ther-long-pass",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("An0ther-long-pass")


def test_password_reset_by_email(client, alice, mailoutbox):
    client.post(reverse("password_reset"), {"email": alice.email})
    assert len(mailoutbox) == 1
    link = re.search(r"http://\S+/accounts/reset/\S+/", mailoutbox[0].body).group(0)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Fresh-passw0rd-1", "new_password2": "Fresh-passw0rd-1"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Fresh-passw0rd-1")


def test_password_reset_does_not_reveal_unknown_addresses(client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert mailoutbox == []


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/accounts/customer/",
        "/admin/accounts/user/",
        "/admin/accounts/membership/",
        "/admin/accounts/customeruserobjectpermission/",
        "/admin/accounts/customergroupobjectpermission/",
    ],
)
def test_back_office_is_for_staff_superusers(client, alice, acme, url):
    from tests.factories import UserFactory

    client.force_login(alice)
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "acme"}).status_code == 200


def test_back_office_customer_permissions_page(client, acme, alice):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(f"/admin/accounts/customer/{acme.pk}/permissions/")
    assert response.status_code == 200
    assert alice.email in response.content.decode()


def test_back_office_membership_edit_goes_through_the_service(client, acme, alice, bob):
    from portal.accounts.models import Membership
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    membership = Membership.objects.get(customer=acme, user=bob)
    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/", {"role": "analyst"}
    )
    assert response.status_code == 302
    bob = type(bob).objects.get(pk=bob.pk)
    assert bob.has_perm("accounts.upload_claims", acme)


def test_every_model_is_in_the_back_office():
    """PRODUCT §8: the Django admin is the staff back office, so every model is registered."""
    from django.apps import apps
    from django.contrib import admin

    ours = [m for m in apps.get_models() if m.__module__.startswith("portal.")]
    assert ours
    missing = [m._meta.label for m in ours if m not in admin.site._registry]
    assert missing == []


def test_back_office_revokes_tokens(client, acme, alice, token_for):
    from portal.accounts.models import ApiToken
    from tests.factories import UserFactory

    token_for(alice, acme)
    token = ApiToken.objects.get()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
