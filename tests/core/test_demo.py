import pytest
from django.core.management import call_command

from portal.accounts.models import ApiToken, Membership, User
from portal.accounts.services import hash_token

pytestmark = pytest.mark.django_db


def test_demo_seeds_every_role_and_prints_working_logins(capsys):
    call_command("demo", "--no-serve", "--password", "Demo-pass-1")
    out = capsys.readouterr().out
    roles = set(Membership.objects.filter(customer__slug="acme").values_list("role", flat=True))
    assert roles == {"owner", "admin", "analyst", "viewer"}
    for email in ["owner@acme.test", "viewer@acme.test", "staff@payerwatch.test"]:
        assert email in out
        assert User.objects.get(email=email).check_password("Demo-pass-1")
    assert User.objects.get(email="staff@payerwatch.test").is_staff
    assert Membership.objects.filter(user__email="admin@acme.test").count() == 2  # the switcher


def test_demo_is_idempotent_and_keeps_one_live_demo_token(capsys):
    call_command("demo", "--no-serve", "--password", "Demo-pass-1")
    call_command("demo", "--no-serve")
    out = capsys.readouterr().out
    assert Membership.objects.filter(customer__slug="acme").count() == 4
    live = ApiToken.objects.filter(name="Demo token", revoked_at=None)
    assert live.count() == 1
    token = out.split("Authorization: Bearer ")[-1].split('"')[0]
    assert live.get().key_hash == hash_token(token)
    assert not User.objects.get(email="owner@acme.test").check_password("Demo-pass-1")


def test_demo_opens_with_alerts_and_a_report(capsys):
    from portal.alerts.models import Alert, AlertRule
    from portal.reports.models import Report

    call_command("demo", "--no-serve", "--password", "Demo-pass-1")
    call_command("demo", "--no-serve")  # idempotent: one rule, alerts once per (rule, event)
    out = capsys.readouterr().out
    assert AlertRule.objects.filter(customer__slug="acme").count() == 1
    alerts = Alert.objects.filter(customer__slug="acme")
    assert alerts.exists() and "alerts" in out
    pairs = list(alerts.values_list("rule_id", "event_id"))
    assert len(pairs) == len(set(pairs))
    assert set(alerts.values_list("drift_type", flat=True)) >= {"denial_rate"}  # Humana
    assert not Alert.objects.filter(customer__slug="globex").exists()
    assert Report.objects.filter(customer__slug="acme", status="succeeded").exists()
