"""Request ids, structured request logs, and session lifetimes."""

import json
import logging
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.core.middleware import SESSION_RENEW_SECONDS, SESSION_SEEN_KEY, SESSION_STARTED_KEY

pytestmark = pytest.mark.django_db


def test_every_response_carries_a_request_id(client):
    first = client.get("/accounts/login/")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert (
        client.get("/api/v1/health/", HTTP_X_REQUEST_ID="lb-42.a:b")["X-Request-ID"] == "lb-42.a:b"
    )
    replaced = client.get("/api/v1/health/", HTTP_X_REQUEST_ID="<script>x</script>")["X-Request-ID"]
    assert replaced != "<script>x</script>" and len(replaced) == 32


def test_one_json_log_line_per_request(client, alice, caplog):
    client.force_login(alice)
    with caplog.at_level(logging.INFO, logger="payerwatch.requests"):
        response = client.get("/c/acme/", HTTP_X_REQUEST_ID="trace-1")
    records = [r for r in caplog.records if r.name == "payerwatch.requests"]
    assert len(records) == 1
    from portal.core.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "trace-1" == response["X-Request-ID"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/c/acme/", 200)
    assert line["user"] == alice.pk and line["customer"] == "acme"
    assert isinstance(line["duration_ms"], float)


def test_api_log_line_names_the_tokens_customer(bearer, acme, alice, caplog):
    client = bearer(alice, acme)
    with caplog.at_level(logging.INFO, logger="payerwatch.requests"):
        client.get("/api/v1/me/")
    (record,) = [r for r in caplog.records if r.name == "payerwatch.requests"]
    assert record.customer == "acme" and record.status == 200


def test_sessions_expire_after_30_idle_minutes(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def _saves(client, path="/"):
    """The session writes (UPDATE/INSERT of django_session) of one request."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")
    ]


def test_an_active_session_is_renewed_at_most_once_a_minute_not_on_every_request(client, alice):
    client.force_login(alice)
    assert _saves(client) == []  # just logged in: the login wrote it
    assert _saves(client) == []
    session = client.session
    session[SESSION_SEEN_KEY] -= SESSION_RENEW_SECONDS
    session.save()
    before = Session.objects.get(session_key=session.session_key).expire_date
    assert len(_saves(client)) == 1  # a minute on: renewed …
    after = Session.objects.get(session_key=session.session_key).expire_date
    assert after > before  # … its idle window starts again
    assert client.session[SESSION_SEEN_KEY] >= session[SESSION_SEEN_KEY] + SESSION_RENEW_SECONDS
    assert _saves(client) == []  # and not again within the minute


def test_a_session_idle_for_more_than_30_minutes_is_over(client, alice):
    client.force_login(alice)
    session = client.session
    session[SESSION_SEEN_KEY] -= 30 * 60 + 1
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_session_row_expires_30_minutes_after_its_last_renewal(client, alice):
    client.force_login(alice)
    client.get("/")
    row = Session.objects.get(session_key=client.session.session_key)
    seen = client.session[SESSION_SEEN_KEY]
    assert abs(row.expire_date.timestamp() - (seen + 30 * 60)) < 5
    Session.objects.filter(pk=row.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")  # the store no longer knows it: a new login is needed
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_sessions_end_at_the_absolute_lifetime_however_active(client, alice):
    client.force_login(alice)
    assert client.get("/").status_code == 200
    session = client.session
    session[SESSION_STARTED_KEY] -= int(timedelta(hours=12, seconds=1).total_seconds())
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_api_session_past_its_lifetime_is_401(api, alice, acme):
    api.force_login(alice)
    session = api.session
    session[SESSION_STARTED_KEY] = 0
    session.save()
    assert api.get("/api/v1/me/").status_code == 401
