"""The cast (STYLE.md): alice owns Acme, bob views Acme, charlie administers Globex."""

import pytest
from django_q.conf import Conf
from rest_framework.test import APIClient

from portal.accounts import services
from portal.accounts.roles import Role
from tests.factories import PASSWORD, CustomerFactory, UserFactory, member


@pytest.fixture(autouse=True)
def _tasks_run_inline(request, monkeypatch):
    """Unit tests run django-q2 tasks synchronously; tests marked ``worker`` use a real qcluster."""
    if "worker" not in request.keywords:
        monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _empty_cache_when_committing(request):
    """Tests that commit (the live server's, ``transactional_db``) share the cache table, which
    a flush between tests leaves alone: each starts with an empty cache, so no cached page part
    (the top bar, the dashboard) of an earlier test is read. Other tests roll the table back."""
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        from django.core.cache import cache

        request.getfixturevalue("transactional_db")
        cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def acme(db):
    return CustomerFactory(slug="acme", name="Acme Health")


@pytest.fixture
def globex(db):
    return CustomerFactory(slug="globex", name="Globex Clinics")


@pytest.fixture
def alice(acme):
    return member(acme, Role.OWNER, email="alice@acme.test", full_name="Alice Owner")


@pytest.fixture
def bob(acme):
    return member(acme, Role.VIEWER, email="bob@acme.test", full_name="Bob Viewer")


@pytest.fixture
def charlie(globex):
    return member(globex, Role.ADMIN, email="charlie@globex.test", full_name="Charlie Admin")


@pytest.fixture
def analyst(acme):
    return member(acme, Role.ANALYST, email="ana@acme.test", full_name="Ana Analyst")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files land in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@payerwatch.test", is_staff=True)


@pytest.fixture
def client_for(client):
    """``client_for(user)``: the test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def token_for():
    """``token_for(user, customer, scope)``: a plain API token."""

    def make(user, customer, scope="read"):
        _, plain = services.api_token_create(
            customer=customer, user=user, name=f"{scope} token", scope=scope, actor=None
        )
        return plain

    return make


@pytest.fixture
def bearer(api, token_for):
    """``bearer(user, customer, scope)``: the API client authenticated with a new token."""

    def auth(user, customer, scope="read"):
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, customer, scope)}")
        return api

    return auth
