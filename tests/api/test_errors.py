"""One error format for every response under /api/ (PRODUCT §9)."""

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.decorators import api_view, permission_classes

from tests.api.test_auth import assert_error

pytestmark = pytest.mark.django_db


def test_unknown_url_is_a_json_404(client):
    response = client.get("/api/v1/nope/")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


def test_unknown_url_outside_v1_too(client):
    assert_error(client.post("/api/whatever/deep/path"), 404)


def test_wrong_method_is_a_json_405(client):
    response = client.delete("/api/v1/health/")
    assert_error(response, 405, "method_not_allowed")


def test_health_answers_without_auth(client):
    response = client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": True,
        "task_queue": True,
        "queued_tasks": 0,
    }


def test_health_reports_a_broken_queue_as_503(client, monkeypatch):
    from portal.api import health

    monkeypatch.setattr(health, "_queue_size", lambda: None)
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["task_queue"] is False and response.json()["status"] == "degraded"


@api_view(["GET"])
@permission_classes([])
def _boom(request):
    raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [path("api/v1/boom/", _boom)]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_unexpected_error_is_a_500_that_leaks_nothing(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/boom/")
    body = assert_error(response, 500)
    assert body["type"] == "server_error"
    assert (
        "hunter2" not in response.content.decode()
        and "RuntimeError" not in response.content.decode()
    )


def test_django_level_404_under_api_is_json(rf):
    from portal.core.errors import page_not_found, server_error

    assert page_not_found(rf.get("/api/x"))["Content-Type"] == "application/json"
    assert server_error(rf.get("/api/x")).status_code == 500
    assert "text/html" in page_not_found(rf.get("/x"))["Content-Type"]


def test_throttled_writes_get_429_with_retry_after(api, acme, alice, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "member_changes": "2/hour",
        },
    }
    api.force_login(alice)
    for i in range(2):
        ok = api.post("/api/v1/members/", {"email": f"n{i}@acme.test", "role": "viewer"})
        assert ok.status_code == 201
    response = api.post("/api/v1/members/", {"email": "n3@acme.test", "role": "viewer"})
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert api.get("/api/v1/members/").status_code == 200  # reads are not throttled by it
    cache.clear()


def test_validation_errors_name_the_field(api, acme, alice):
    api.force_login(alice)
    body = assert_error(api.post("/api/v1/members/", {"email": "bad", "role": "boss"}), 400)
    assert body["type"] == "validation_error"
    assert {e["attr"] for e in body["errors"]} == {"email", "role"}


def test_domain_conflicts_are_400_with_a_reason(api, acme, alice, bob):
    api.force_login(alice)
    body = assert_error(api.post("/api/v1/members/", {"email": bob.email, "role": "viewer"}), 400)
    assert body["errors"][0] == {
        "code": "conflict",
        "detail": f"{bob.email} is already a member of Acme Health.",
        "attr": "email",
    }
