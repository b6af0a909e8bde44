"""Portal alerts pages (PRODUCT §5, §8): the alerts table (active / all, filters, bulk status),
one alert (status, suppression, notification, evidence, feedback in place) and the rules (CRUD)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.alerts.models import Alert, AlertFeedback, AlertRule, AlertStatus, Verdict
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.webhooks import services as webhook_services
from tests.alerts.conftest import default_rule, payer, rule

pytestmark = pytest.mark.django_db


def url(name, *args, slug="acme"):
    return reverse(f"alerts:{name}", args=[slug, *args])


def page(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


# -- access ---------------------------------------------------------------------------------------


def test_every_alerts_page_by_role(client, acme, alice, analyst, bob, charlie, raise_alert):
    alert = raise_alert()
    the_rule = default_rule(acme)
    pages = {
        "alert-list": (), "alert-detail": (alert.pk,), "rule-list": (),
        "rule-create": (), "rule-edit": (the_rule.pk,), "rule-delete": (the_rule.pk,),
    }  # fmt: skip
    manage_only = {"rule-create", "rule-edit", "rule-delete"}
    for user, who in [(alice, "alice"), (analyst, "analyst"), (bob, "bob"), (charlie, "charlie")]:
        client.force_login(user)
        for name, args in pages.items():
            expected = 200
            if who == "charlie":
                expected = 404
            elif name in manage_only and who in ("analyst", "bob"):
                expected = 403
            assert client.get(url(name, *args)).status_code == expected, (who, name)
    client.logout()
    response = client.get(url("alert-list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_charlie_gets_404_on_every_post(client, acme, charlie, raise_alert):
    alert = raise_alert()
    the_rule = default_rule(acme)
    client.force_login(charlie)
    posts = [
        (url("alert-list"), {"action": "resolve", "alert": [alert.pk]}),
        (url("alert-detail", alert.pk), {"verdict": "noise"}),
        (url("alert-status", alert.pk), {"action": "resolve"}),
        (url("rule-create"), {"name": "Mine"}),
        (url("rule-edit", the_rule.pk), {"name": "Mine"}),
        (url("rule-toggle", the_rule.pk), {"enabled": "false"}),
        (url("rule-delete", the_rule.pk), {}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 404, path
    alert.refresh_from_db()
    the_rule.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and the_rule.enabled and the_rule.name == "Denials"
    assert not AlertFeedback.objects.exists()


def test_globex_pages_do_not_show_acme_alerts(client, acme, globex, charlie, raise_alert):
    alert = raise_alert()
    client.force_login(charlie)
    assert client.get(url("alert-detail", alert.pk, slug="globex")).status_code == 404
    listing = page(client, url("alert-list", slug="globex"), tab="all")
    assert f'data-alert="{alert.pk}"' not in listing


def test_nav_has_one_alerts_link_after_drift(client, acme, bob):
    client.force_login(bob)
    html = page(client, reverse("drift:event-list", args=["acme"]))
    drift = html.index(f'href="{reverse("drift:event-list", args=["acme"])}"')
    alerts = html.index(f'href="{url("alert-list")}"')
    assert drift < alerts and html.count(f'href="{url("alert-list")}"') == 1
    menu = html[
        html.index('id="settings-menu"') : html.index(
            "</details>", html.index('id="settings-menu"')
        )
    ]
    assert html.count(f'href="{url("rule-list")}"') == 1  # the rules: in the Settings menu only
    assert f'href="{url("rule-list")}"' in menu


# -- rules ----------------------------------------------------------------------------------------


def rule_form(**changes) -> dict:
    return {
        "name": "Humana denials", "enabled": "on", "drift_types": ["denial_rate"],
        "min_severity": "0.4", "direction": "worsening",
        "email_recipients": "rcm@acme.test, cfo@acme.test\nbilling@acme.test",
        "cooldown_hours": "12", **changes,
    }  # fmt: skip


def test_admin_creates_a_rule_with_every_filter(client, acme, alice):
    humana = payer(acme, "Humana")
    endpoint, _ = webhook_services.endpoint_create(
        customer=acme, actor=None, name="Pager", url="https://hooks.example.com/pager"
    )
    client.force_login(alice)
    form = page(client, url("rule-create"))
    assert 'name="drift_types"' in form and "Humana" in form and 'value="E/M"' in form
    assert f'<option value="{endpoint.pk}">Pager' in form
    response = client.post(
        url("rule-create"),
        rule_form(
            payer_ids=[humana.pk],
            cpt_groups=["E/M", "Surgery"],
            webhook_endpoint_ids=[endpoint.pk],
        ),
    )
    assert response.status_code == 302 and response["Location"] == url("rule-list")
    saved = AlertRule.objects.get(customer=acme)
    assert (saved.name, saved.enabled, saved.drift_types, saved.payer_ids, saved.cpt_groups) == (
        "Humana denials",
        True,
        ["denial_rate"],
        [humana.pk],
        ["E/M", "Surgery"],
    )
    assert (saved.min_severity, saved.direction, saved.cooldown_hours) == (0.4, "worsening", 12)
    assert saved.email_recipients == ["billing@acme.test", "cfo@acme.test", "rcm@acme.test"]
    assert saved.created_by == alice
    assert saved.webhook_endpoint_ids == [endpoint.pk]
    assert AuditEvent.objects.filter(action=Action.ALERT_RULE_CREATED, actor=alice).count() == 1
    listing = page(client, url("rule-list"))
    assert "Humana denials" in listing and "3 e-mails" in listing and "E/M, Surgery" in listing


def test_rule_form_refuses_bad_recipients_and_ranges(client, acme, alice):
    client.force_login(alice)
    response = client.post(
        url("rule-create"),
        rule_form(email_recipients="rcm@acme.test, not-an-address", min_severity="1.5",
                  cooldown_hours="-1"),
    )  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "Not an e-mail address: not-an-address" in html
    assert "less than or equal to 1" in html and "greater than or equal to 0" in html
    assert not AlertRule.objects.exists()


def test_a_name_taken_in_another_case_is_an_error_on_the_name(client, acme, alice):
    rule(acme, name="Humana denials")
    client.force_login(alice)
    response = client.post(url("rule-create"), rule_form(name="HUMANA  Denials"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is already a rule called “HUMANA Denials” (names ignore case)." in html
    assert html.index("already a rule") > html.index('id="id_name"')  # under the name field
    assert AlertRule.objects.filter(customer=acme).count() == 1


def test_admin_edits_a_rule_prefilled(client, acme, alice):
    saved = rule(acme, name="Everything", cpt_groups=["Radiology"], cooldown_hours=6)
    client.force_login(alice)
    form = page(client, url("rule-edit", saved.pk))
    assert 'value="Everything"' in form and "rcm@acme.test" in form
    assert '<option value="Radiology" selected>' in form
    response = client.post(url("rule-edit", saved.pk), rule_form(name="Radiology only"))
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.name == "Radiology only" and saved.cooldown_hours == 12
    assert AuditEvent.objects.filter(action=Action.ALERT_RULE_UPDATED).count() == 1


def test_toggle_re_renders_the_switch_in_place_with_htmx(client, acme, alice):
    saved = rule(acme)
    client.force_login(alice)
    response = client.post(
        url("rule-toggle", saved.pk), {"enabled": "false"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<div class="rule-toggle" id="rule-{saved.pk}-enabled">')
    assert "disabled" in html and ">Enable</button>" in html and "<html" not in html
    saved.refresh_from_db()
    assert saved.enabled is False
    assert AuditEvent.objects.filter(action=Action.ALERT_RULE_DISABLED).count() == 1


def test_toggle_without_js_redirects_to_the_rules(client, acme, alice):
    saved = rule(acme, enabled=False)
    client.force_login(alice)
    response = client.post(url("rule-toggle", saved.pk), {"enabled": "true"})
    assert response.status_code == 302 and response["Location"] == url("rule-list")
    saved.refresh_from_db()
    assert saved.enabled is True


def test_delete_asks_first_then_keeps_the_alerts(client, acme, alice, raise_alert):
    alert = raise_alert()
    the_rule = default_rule(acme)
    client.force_login(alice)
    confirm = page(client, url("rule-delete", the_rule.pk))
    assert "Delete the alert rule “Denials”?" in confirm and "Its 1 alert stays listed" in confirm
    assert AlertRule.objects.filter(pk=the_rule.pk).exists()  # GET deleted nothing
    response = client.post(url("rule-delete", the_rule.pk))
    assert response.status_code == 302 and response["Location"] == url("rule-list")
    assert not AlertRule.objects.filter(pk=the_rule.pk).exists()
    alert.refresh_from_db()
    assert alert.rule_id is None and alert.rule_name == "Denials"
    assert AuditEvent.objects.filter(action=Action.ALERT_RULE_DELETED).count() == 1


def test_viewer_and_analyst_cannot_change_rules(client, acme, analyst, bob):
    saved = rule(acme)
    for user in (analyst, bob):
        client.force_login(user)
        listing = page(client, url("rule-list"))
        assert 'id="new-rule"' not in listing and ">Disable</button>" not in listing
        assert url("rule-delete", saved.pk) not in listing
        assert client.post(url("rule-create"), rule_form(name="Mine")).status_code == 403
        assert client.post(url("rule-toggle", saved.pk), {"enabled": "false"}).status_code == 403
        assert client.post(url("rule-delete", saved.pk)).status_code == 403
    saved.refresh_from_db()
    assert saved.enabled and AlertRule.objects.count() == 1


# -- alerts table ---------------------------------------------------------------------------------


def test_active_tab_hides_resolved_and_suppressed_alerts_all_shows_them(
    client, acme, bob, raise_alert
):
    open_alert = raise_alert()
    resolved = raise_alert(payer_name="Cigna")
    Alert.objects.filter(pk=resolved.pk).update(status=AlertStatus.RESOLVED)
    muted = raise_alert(payer_name="Aetna")
    Alert.objects.filter(pk=muted.pk).update(suppressed=True, suppressed_reason="Cooldown: test.")
    client.force_login(bob)
    active = page(client, url("alert-list"))
    assert f'data-alert="{open_alert.pk}"' in active
    assert f'data-alert="{resolved.pk}"' not in active and f'data-alert="{muted.pk}"' not in active
    everything = page(client, url("alert-list"), tab="all")
    for alert in (open_alert, resolved, muted):
        assert f'data-alert="{alert.pk}"' in everything
    assert "Suppressed: Cooldown: test." in everything


def test_filters_narrow_the_table_and_the_empty_states_differ(client, acme, bob, raise_alert):
    client.force_login(bob)
    assert "No active alerts: nothing needs your attention right now." in page(
        client, url("alert-list")
    )
    assert "No alerts yet" in page(client, url("alert-list"), tab="all")
    humana = raise_alert(severity=0.9)
    cigna = raise_alert(payer_name="Cigna", drift_type="decision_time", severity=0.3)
    by_payer = page(client, url("alert-list"), tab="all", payer=payer(acme, "Cigna").pk)
    assert f'data-alert="{cigna.pk}"' in by_payer and f'data-alert="{humana.pk}"' not in by_payer
    by_label = page(client, url("alert-list"), label="critical", drift_type="denial_rate")
    assert f'data-alert="{humana.pk}"' in by_label and f'data-alert="{cigna.pk}"' not in by_label
    by_rule = page(client, url("alert-list"), rule=default_rule(acme).pk, status="open")
    assert f'data-alert="{humana.pk}"' in by_rule and f'data-alert="{cigna.pk}"' in by_rule
    nothing = page(client, url("alert-list"), tab="all", suppressed="true")
    assert "Nothing matches these filters." in nothing


def test_htmx_sort_gets_the_table_region_only(client, acme, bob, raise_alert):
    low, high = raise_alert(severity=0.3), raise_alert(severity=0.9)
    client.force_login(bob)
    response = client.get(url("alert-list"), {"sort": "-severity"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="table-region"') and "<html" not in html
    assert html.index(f'data-alert="{high.pk}"') < html.index(f'data-alert="{low.pk}"')
    assert response["Vary"].count("HX-Request") == 1


def test_header_shows_recovered_dollars(client, acme, analyst, raise_alert):
    alert = raise_alert()
    AlertFeedback.objects.create(
        customer=acme, alert=alert, user=analyst, verdict=Verdict.REAL,
        recovered_amount=Decimal("1234.50"), recovered_on=timezone.localdate(),
    )  # fmt: skip
    client.force_login(analyst)
    html = page(client, url("alert-list"))
    assert '<dd id="recovered-month">$1,234.50</dd>' in html
    assert '<dd id="recovered-all">$1,234.50</dd>' in html


def test_bulk_acknowledge_keeps_the_filters(client, acme, analyst, raise_alert):
    first, second, other = raise_alert(), raise_alert(), raise_alert(payer_name="Cigna")
    client.force_login(analyst)
    response = client.post(
        url("alert-list"),
        {"action": "acknowledge", "alert": [first.pk, second.pk], "next_query": "tab=all&payer=1"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url('alert-list')}?tab=all&payer=1"
    statuses = dict(Alert.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "acknowledged", second.pk: "acknowledged", other.pk: "open"}
    audited = AuditEvent.objects.filter(action=Action.ALERT_ACKNOWLEDGED)
    assert audited.count() == 2 and all(e.data["via"] == "bulk" for e in audited)
    assert "2 alerts acknowledged." in page(client, response["Location"])


def test_bulk_resolve_with_htmx_answers_with_the_table_and_a_notice(
    client, acme, analyst, raise_alert
):
    first, second = raise_alert(), raise_alert()
    client.force_login(analyst)
    response = client.post(
        url("alert-list"),
        {"action": "resolve", "alert": [first.pk], "next_query": "tab=all"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="table-region"')
    assert "1 alert resolved." in html
    assert f'data-alert="{first.pk}"' in html  # the "all" tab kept: resolved alerts still listed
    assert Alert.objects.get(pk=first.pk).status == "resolved"
    assert Alert.objects.get(pk=second.pk).status == "open"


def test_bulk_without_ticks_says_so(client, acme, analyst, raise_alert):
    raise_alert()
    client.force_login(analyst)
    response = client.post(url("alert-list"), {"action": "resolve"}, follow=True)
    assert "Tick at least one alert." in response.content.decode()
    assert not Alert.objects.filter(status="resolved").exists()


def test_viewer_sees_no_bulk_controls_and_cannot_post(client, acme, bob, raise_alert):
    alert = raise_alert()
    client.force_login(bob)
    html = page(client, url("alert-list"))
    assert 'id="bulk-form"' not in html and 'type="checkbox"' not in html
    response = client.post(url("alert-list"), {"action": "resolve", "alert": [alert.pk]})
    assert response.status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "open"


# -- one alert ------------------------------------------------------------------------------------


def test_detail_shows_status_notification_and_the_drift_evidence(client, acme, bob, raise_alert):
    alert = raise_alert()
    client.force_login(bob)
    html = page(client, url("alert-detail", alert.pk))
    assert "High denial_rate drift: Humana · ALL" in html
    assert '<span class="status status-open" id="status-badge">Open</span>' in html
    assert '<dd id="notify-status">Sent</dd>' in html
    # the evidence partial shared with the drift event page
    assert '<dd id="baseline-value">8.0%</dd>' in html
    assert '<dd id="current-value">35.0%</dd>' in html
    assert 'id="claims-link"' in html and 'id="weekly"' in html
    assert reverse("drift:event-detail", args=["acme", alert.event_id]) in html
    # viewers read everything but get no forms
    assert 'id="feedback-form"' not in html and 'id="status-form"' not in html
    assert "No feedback yet." in html


def test_drift_event_page_still_shows_its_evidence(client, acme, bob, raise_alert):
    alert = raise_alert()
    client.force_login(bob)
    html = page(client, reverse("drift:event-detail", args=["acme", alert.event_id]))
    assert html.count('id="evidence"') == 1 and '<dd id="current-value">35.0%</dd>' in html


def test_suppressed_alert_shows_its_reason(client, acme, bob, raise_alert):
    alert = raise_alert()
    Alert.objects.filter(pk=alert.pk).update(
        suppressed=True,
        suppressed_reason="Learned suppression: noise twice.",
        notify_status="skipped",
    )
    client.force_login(bob)
    html = page(client, url("alert-detail", alert.pk))
    assert "<strong>Suppressed:</strong> Learned suppression: noise twice." in html
    assert '<dd id="notify-status">Not sent</dd>' in html


def test_analyst_acknowledges_resolves_and_reopens(client, acme, analyst, raise_alert):
    alert = raise_alert()
    client.force_login(analyst)
    for action, status in [("acknowledge", "acknowledged"), ("resolve", "resolved"),
                           ("reopen", "open")]:  # fmt: skip
        response = client.post(url("alert-status", alert.pk), {"action": action})
        assert response.status_code == 302 and response["Location"] == url("alert-detail", alert.pk)
        alert.refresh_from_db()
        assert alert.status == status
    assert list(
        AuditEvent.objects.filter(object_id=str(alert.pk), action__startswith="alert.")
        .exclude(action__in=[Action.ALERT_TRIGGERED, Action.ALERT_NOTIFIED])
        .order_by("id")
        .values_list("action", flat=True)
    ) == [Action.ALERT_ACKNOWLEDGED, Action.ALERT_RESOLVED, Action.ALERT_REOPENED]


def test_an_impossible_transition_is_a_message_not_an_error(client, acme, analyst, raise_alert):
    alert = raise_alert()
    Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.RESOLVED)
    client.force_login(analyst)
    response = client.post(url("alert-status", alert.pk), {"action": "acknowledge"}, follow=True)
    assert response.status_code == 200
    assert "A resolved alert cannot be acknowledged." in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_feedback_in_place_with_htmx_swaps_feedback_and_status(
    client, acme, analyst, raise_alert, monkeypatch
):
    alert = raise_alert()
    client.force_login(analyst)
    form = page(client, url("alert-detail", alert.pk))
    assert 'id="feedback-form"' in form and 'hx-post="' in form

    def not_for_a_fragment(*args, **kwargs):
        raise AssertionError("the fragments do not show the drift evidence")

    monkeypatch.setattr("portal.alerts.views.evidence", not_for_a_fragment)
    response = client.post(
        url("alert-detail", alert.pk),
        {"verdict": "real", "reason_codes": ["payer_policy", "contract"], "notes": "New policy.",
         "recovered_amount": "250.00", "recovered_on": "2026-06-01"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="feedback">')
    assert "<html" not in html and "Feedback saved." in html
    assert "Contract or fee schedule, Payer policy change" in html
    assert "$250.00 on 2026-06-01" in html
    assert '<section class="card" id="alert-status" hx-swap-oob="true">' in html
    assert "Acknowledged</span>" in html  # "real" acknowledged it
    assert re.search(r'<input type="radio" name="verdict" value="real"[^>]* checked', html)
    feedback = AlertFeedback.objects.get(alert=alert, user=analyst)
    assert (feedback.verdict, feedback.reason_codes, feedback.recovered_amount) == (
        "real",
        ["contract", "payer_policy"],
        Decimal("250.00"),
    )


def test_feedback_without_js_redirects_and_is_editable(client, acme, analyst, raise_alert):
    alert = raise_alert()
    client.force_login(analyst)
    response = client.post(url("alert-detail", alert.pk), {"verdict": "needs_followup"})
    assert response.status_code == 302 and response["Location"] == url("alert-detail", alert.pk)
    changed = {"verdict": "noise", "notes": "Seasonal."}
    response = client.post(url("alert-detail", alert.pk), changed)
    assert response.status_code == 302
    (feedback,) = AlertFeedback.objects.filter(alert=alert)  # one per person, changed in place
    assert (feedback.verdict, feedback.notes) == ("noise", "Seasonal.")
    alert.refresh_from_db()
    assert alert.status == "resolved"
    html = page(client, url("alert-detail", alert.pk))
    assert "Your verdict of" in html and "Seasonal.</textarea>" in html


def test_bad_feedback_is_a_form_error(client, acme, analyst, raise_alert):
    alert = raise_alert()
    client.force_login(analyst)
    response = client.post(
        url("alert-detail", alert.pk),
        {"verdict": "real", "recovered_amount": "10", "recovered_on": "2999-01-01"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200  # htmx swaps 2xx only; the fragment carries the error
    html = response.content.decode()
    assert "The recovery date cannot be in the future." in html and "Feedback saved" not in html
    response = client.post(url("alert-detail", alert.pk), {"verdict": "maybe"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not AlertFeedback.objects.exists()


def test_viewer_cannot_give_feedback_or_change_status(client, acme, bob, raise_alert):
    alert = raise_alert()
    client.force_login(bob)
    assert client.post(url("alert-detail", alert.pk), {"verdict": "noise"}).status_code == 403
    assert client.post(url("alert-status", alert.pk), {"action": "resolve"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open" and not AlertFeedback.objects.exists()


def test_feedback_history_lists_everyone(client, acme, alice, analyst, raise_alert):
    alert = raise_alert()
    for user, verdict in [(alice, "real"), (analyst, "needs_followup")]:
        client.force_login(user)
        client.post(url("alert-detail", alert.pk), {"verdict": verdict, "notes": user.email})
    html = page(client, url("alert-detail", alert.pk))
    assert 'data-feedback="alice@acme.test"' in html and 'data-feedback="ana@acme.test"' in html
    assert "Needs follow-up" in html and "Real" in html


def test_rule_form_points_to_webhooks_when_there_is_no_endpoint(client, acme, alice):
    client.force_login(alice)
    form = page(client, url("rule-create"))
    assert 'name="webhook_endpoint_ids"' not in form  # no empty list box to choose from
    assert 'id="no-endpoints"' in form and reverse("webhooks:endpoint-list", args=["acme"]) in form
