"""The alerts API (PRODUCT §5, §9): rules CRUD for admins, alerts read by every role, feedback and
the lifecycle for analysts and up; every list paginated; another customer's objects are 404s."""

import pytest

from portal.alerts.models import Alert, AlertFeedback, AlertRule
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from tests.alerts.conftest import default_rule, payer, rule
from tests.api.test_auth import assert_error

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alert-rules/"
ALERTS = "/api/v1/alerts/"


# -- rules ----------------------------------------------------------------------------------------


def test_admin_creates_a_rule_and_reads_it_back(bearer, acme, alice):
    humana = payer(acme, "Humana")
    client = bearer(alice, acme, "write")
    response = client.post(
        RULES,
        {"name": " Humana   denials ", "drift_types": ["denial_rate"], "payer_ids": [humana.pk],
         "min_severity": 0.4, "email_recipients": ["RCM@acme.test"]},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Humana denials" and body["payer_ids"] == [humana.pk]
    assert body["email_recipients"] == ["rcm@acme.test"] and body["alert_count"] == 0
    assert (body["direction"], body["cooldown_hours"], body["enabled"]) == ("worsening", 24, True)
    assert body["created_by"] == "alice@acme.test"
    assert client.get(f"{RULES}{body['id']}/").json() == body
    listing = client.get(RULES).json()
    assert listing["count"] == 1 and listing["results"] == [body]
    assert AuditEvent.objects.filter(action=Action.ALERT_RULE_CREATED).count() == 1


def test_a_taken_name_is_a_conflict_on_name(bearer, acme, alice):
    rule(acme, name="Denials")
    response = bearer(alice, acme, "write").post(RULES, {"name": "DENIALS"})
    body = assert_error(response, 400, "conflict")
    assert body["errors"][0]["attr"] == "name"
    assert "already a rule" in body["errors"][0]["detail"]


def test_another_customers_payer_is_refused_with_its_attr(bearer, acme, globex, alice):
    theirs = payer(globex, "Humana")
    response = bearer(alice, acme, "write").post(RULES, {"name": "X", "payer_ids": [theirs.pk]})
    body = assert_error(response, 400, "invalid")
    assert body["errors"][0]["attr"] == "payer_ids"
    assert not AlertRule.objects.exists()


def test_patch_changes_only_what_is_sent(bearer, acme, alice):
    saved = rule(acme, name="Denials", cpt_groups=["E/M"], cooldown_hours=6)
    response = bearer(alice, acme, "write").patch(f"{RULES}{saved.pk}/", {"enabled": False})
    assert response.status_code == 200, response.content
    saved.refresh_from_db()
    assert (saved.enabled, saved.name, saved.cpt_groups, saved.cooldown_hours) == (
        False, "Denials", ["E/M"], 6,
    )  # fmt: skip
    assert AuditEvent.objects.filter(action=Action.ALERT_RULE_UPDATED).count() == 1


def test_delete_keeps_the_rules_alerts(bearer, acme, alice, raise_alert):
    alert = raise_alert()
    response = bearer(alice, acme, "write").delete(f"{RULES}{default_rule(acme).pk}/")
    assert response.status_code == 204
    assert not AlertRule.objects.exists()
    assert Alert.objects.get(pk=alert.pk).rule_name == "Denials"


def test_analyst_and_viewer_read_rules_but_cannot_change_them(bearer, acme, analyst, bob):
    saved = rule(acme)
    for user in (analyst, bob):
        client = bearer(user, acme, "write")
        assert client.get(RULES).json()["count"] == 1
        assert_error(client.post(RULES, {"name": "Mine"}), 403)
        assert_error(client.patch(f"{RULES}{saved.pk}/", {"enabled": False}), 403)
        assert_error(client.delete(f"{RULES}{saved.pk}/"), 403)
    saved.refresh_from_db()
    assert saved.enabled and AlertRule.objects.count() == 1


def test_read_token_cannot_write(bearer, acme, alice):
    assert_error(bearer(alice, acme, "read").post(RULES, {"name": "Mine"}), 403)
    assert not AlertRule.objects.exists()


# -- alerts ---------------------------------------------------------------------------------------


def test_alerts_list_filters_and_paginates(bearer, acme, bob, raise_alert):
    humana = raise_alert(severity=0.9)
    cigna = raise_alert(payer_name="Cigna", drift_type="decision_time", severity=0.3)
    client = bearer(bob, acme)
    body = client.get(ALERTS, {"page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    assert body["results"][0]["id"] == cigna.pk  # newest first
    only = client.get(ALERTS, {"label": "critical"}).json()
    assert [a["id"] for a in only["results"]] == [humana.pk]
    by_payer = client.get(ALERTS, {"payer": cigna.payer_id, "drift_type": "decision_time"})
    assert [a["id"] for a in by_payer.json()["results"]] == [cigna.pk]
    found = client.get(ALERTS, {"search": "cign"}).json()
    assert [a["id"] for a in found["results"]] == [cigna.pk]
    ordered = client.get(ALERTS, {"ordering": "-severity"}).json()
    assert [a["id"] for a in ordered["results"]] == [humana.pk, cigna.pk]
    one = client.get(f"{ALERTS}{humana.pk}/").json()
    assert (one["payer"], one["label"], one["status"], one["drift_event_id"]) == (
        "Humana", "critical", "open", humana.event_id,
    )  # fmt: skip
    assert one["notification"] == {
        "status": "sent", "attempts": 1, "error": "",
        "sent_at": one["notification"]["sent_at"],
    }  # fmt: skip
    assert one["notification"]["sent_at"]


def test_active_alerts_leave_out_resolved_and_suppressed(bearer, acme, bob, raise_alert):
    kept, resolved, muted = raise_alert(), raise_alert(), raise_alert()
    Alert.objects.filter(pk=resolved.pk).update(status="resolved")
    Alert.objects.filter(pk=muted.pk).update(suppressed=True, suppressed_reason="Cooldown.")
    body = bearer(bob, acme).get(f"{ALERTS}active/", {"page_size": 5}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [a["id"] for a in body["results"]] == [kept.pk]
    assert bearer(bob, acme).get(ALERTS, {"suppressed": "true"}).json()["results"][0]["id"] == (
        muted.pk
    )


def test_lifecycle_through_the_api(bearer, acme, analyst, raise_alert):
    alert = raise_alert()
    client = bearer(analyst, acme, "write")
    acked = client.post(f"{ALERTS}{alert.pk}/acknowledge/")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "ana@acme.test"
    assert client.post(f"{ALERTS}{alert.pk}/resolve/").json()["status"] == "resolved"
    body = assert_error(client.post(f"{ALERTS}{alert.pk}/acknowledge/"), 400, "conflict")
    assert body["errors"][0]["attr"] == "status"
    assert client.post(f"{ALERTS}{alert.pk}/reopen/").json()["status"] == "open"
    actions = AuditEvent.objects.filter(object_id=str(alert.pk), actor=analyst)
    assert list(actions.order_by("id").values_list("action", flat=True)) == [
        Action.ALERT_ACKNOWLEDGED, Action.ALERT_RESOLVED, Action.ALERT_REOPENED,
    ]  # fmt: skip


def test_feedback_is_created_then_changed_and_listed(bearer, acme, analyst, alice, raise_alert):
    alert = raise_alert()
    client = bearer(analyst, acme, "write")
    url = f"{ALERTS}{alert.pk}/feedback/"
    given = {"verdict": "real", "reason_codes": ["payer_policy"],
             "recovered_amount": "120.50", "recovered_on": "2026-06-01"}  # fmt: skip
    first = client.post(url, given)
    assert first.status_code == 201, first.content
    assert first.json()["recovered_amount"] == "120.50" and first.json()["user"] == "ana@acme.test"
    assert Alert.objects.get(pk=alert.pk).status == "acknowledged"
    second = client.post(url, {"verdict": "noise", "notes": "Seasonal"})
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert Alert.objects.get(pk=alert.pk).status == "resolved"
    bearer(alice, acme, "write").post(url, {"verdict": "needs_followup"})
    listing = client.get(url, {"page_size": 1}).json()
    assert listing["count"] == 2 and len(listing["results"]) == 1 and listing["next"]
    assert AlertFeedback.objects.filter(alert=alert).count() == 2
    assert AuditEvent.objects.filter(action=Action.ALERT_FEEDBACK_CHANGED).count() == 1


def test_bad_feedback_names_its_field(bearer, acme, analyst, raise_alert):
    alert = raise_alert()
    client = bearer(analyst, acme, "write")
    url = f"{ALERTS}{alert.pk}/feedback/"
    assert assert_error(client.post(url, {"verdict": "maybe"}), 400)["errors"][0]["attr"] == (
        "verdict"
    )
    bad_reason = assert_error(client.post(url, {"verdict": "real", "reason_codes": ["nope"]}), 400)
    assert bad_reason["errors"][0]["attr"].startswith("reason_codes")
    future = client.post(
        url, {"verdict": "real", "recovered_amount": "1", "recovered_on": "2999-01-01"}
    )
    assert assert_error(future, 400, "invalid")["errors"][0]["attr"] == "recovered_on"
    assert not AlertFeedback.objects.exists()


def test_viewer_reads_alerts_but_cannot_act(bearer, acme, bob, raise_alert):
    alert = raise_alert()
    client = bearer(bob, acme, "write")
    assert client.get(f"{ALERTS}{alert.pk}/feedback/").json()["count"] == 0
    assert_error(client.post(f"{ALERTS}{alert.pk}/feedback/", {"verdict": "noise"}), 403)
    assert_error(client.post(f"{ALERTS}{alert.pk}/resolve/"), 403)
    assert Alert.objects.get(pk=alert.pk).status == "open"


def test_read_token_cannot_give_feedback(bearer, acme, analyst, raise_alert):
    alert = raise_alert()
    client = bearer(analyst, acme, "read")
    assert_error(client.post(f"{ALERTS}{alert.pk}/feedback/", {"verdict": "noise"}), 403)
    assert_error(client.post(f"{ALERTS}{alert.pk}/acknowledge/"), 403)
    assert not AlertFeedback.objects.exists()


def test_charlie_gets_404_on_every_acme_object(bearer, acme, globex, charlie, raise_alert):
    alert = raise_alert()
    saved = default_rule(acme)
    client = bearer(charlie, globex, "write")
    assert client.get(ALERTS).json()["count"] == 0 and client.get(RULES).json()["count"] == 0
    for response in [
        client.get(f"{ALERTS}{alert.pk}/"),
        client.get(f"{ALERTS}{alert.pk}/feedback/"),
        client.post(f"{ALERTS}{alert.pk}/feedback/", {"verdict": "noise"}),
        client.post(f"{ALERTS}{alert.pk}/resolve/"),
        client.get(f"{RULES}{saved.pk}/"),
        client.patch(f"{RULES}{saved.pk}/", {"enabled": False}),
        client.delete(f"{RULES}{saved.pk}/"),
    ]:
        assert_error(response, 404)
    assert Alert.objects.get(pk=alert.pk).status == "open" and AlertRule.objects.count() == 1


def test_alert_writes_are_throttled(bearer, acme, analyst, raise_alert, settings):
    import copy

    alert = raise_alert()
    rest = copy.deepcopy(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"]["alert_changes"] = "2/hour"
    settings.REST_FRAMEWORK = rest
    client = bearer(analyst, acme, "write")
    for _ in range(2):
        assert client.post(f"{ALERTS}{alert.pk}/feedback/", {"verdict": "real"}).status_code < 300
    throttled = client.post(f"{ALERTS}{alert.pk}/feedback/", {"verdict": "real"})
    assert_error(throttled, 429)
    assert int(throttled["Retry-After"]) > 0
    assert client.get(ALERTS).status_code == 200  # reads are not throttled by it
