"""API tokens: the settings page (admins), the command, shown once, revocable."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.accounts.models import ApiToken
from portal.accounts.services import hash_token
from tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("admin", 200), ("analyst", 403), ("viewer", 403)]
)
def test_token_page_is_for_admins(client, acme, alice, role, status):
    user = alice if role == "owner" else member(acme, role)
    client.force_login(user)
    assert client.get(reverse("accounts:token-list", args=["acme"])).status_code == status


def test_charlie_gets_404_on_acmes_token_page(client, acme, charlie):
    client.force_login(charlie)
    assert client.get(reverse("accounts:token-list", args=["acme"])).status_code == 404


def test_token_is_shown_once_and_stored_hashed(client, acme, alice):
    client.force_login(alice)
    url = reverse("accounts:token-list", args=["acme"])
    response = client.post(url, {"name": "BI export", "scope": "write", "expires_in_days": "30"})
    assert response.status_code == 201
    html = response.content.decode()
    plain = html.split('<code id="new-token" class="token">')[1].split("<")[0]
    token = ApiToken.objects.get(customer=acme)
    assert token.key_hash == hash_token(plain) and token.scope == "write"
    assert token.expires_at is not None and token.user == alice
    again = client.get(url).content.decode()
    assert plain not in again and token.prefix in again


def test_token_form_errors_are_shown(client, acme, alice):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:token-list", args=["acme"]), {"name": " ", "scope": "root"}
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoke_from_the_page(client, acme, alice, token_for):
    token_for(alice, acme)
    token = ApiToken.objects.get()
    client.force_login(alice)
    response = client.post(reverse("accounts:token-revoke", args=["acme", token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_active


def test_charlie_cannot_revoke_acmes_token_even_through_his_customer(
    client, acme, alice, globex, charlie, token_for
):
    token_for(alice, acme)
    token = ApiToken.objects.get()
    client.force_login(charlie)
    assert (
        client.post(reverse("accounts:token-revoke", args=["globex", token.pk])).status_code == 404
    )
    assert client.post(reverse("accounts:token-revoke", args=["acme", token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_command_prints_only_the_token_on_its_last_line(acme, alice, capsys):
    call_command(
        "create_api_token", "--customer", "acme", "--user", alice.email, "--scope", "write"
    )
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    plain = out.strip()
    assert ApiToken.objects.get(key_hash=hash_token(plain)).scope == "write"


def test_command_refuses_non_members(acme, charlie):
    with pytest.raises(CommandError, match="not a member"):
        call_command("create_api_token", "--customer", "acme", "--user", charlie.email)
    with pytest.raises(CommandError, match="No customer"):
        call_command("create_api_token", "--customer", "nope", "--user", charlie.email)
