"""Demo data for ``manage.py demo``: two customers and one login per role.

Idempotent: running it again keeps the data and gives every demo login a fresh password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from portal.accounts import services
from portal.accounts.models import Customer, Membership, User
from portal.accounts.roles import Role

DEMO_CUSTOMERS = [("acme", "Acme Health"), ("globex", "Globex Clinics")]
DEMO_MEMBERS = [
    ("owner@acme.test", "Olivia Owner", "acme", Role.OWNER),
    ("admin@acme.test", "Adam Admin", "acme", Role.ADMIN),
    ("analyst@acme.test", "Ana Analyst", "acme", Role.ANALYST),
    ("viewer@acme.test", "Victor Viewer", "acme", Role.VIEWER),
    ("owner@globex.test", "Gloria Owner", "globex", Role.OWNER),
    # a user in two customers, to show the customer switcher
    ("admin@acme.test", "Adam Admin", "globex", Role.VIEWER),
]
STAFF_EMAIL = "staff@payerwatch.test"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    roles: str


DEMO_TOKEN_NAME = "Demo token"


def demo_claims_spec(slug: str):
    """A few months of realistic claims, with drifts planted in the last weeks for Acme."""
    from datetime import date, timedelta

    from portal.claims.generator import ClaimsSpec, Drift

    today = date.today()
    recent = today - timedelta(days=35)
    if slug == "acme":
        drifts = [
            Drift("Humana", recent, denial_rate=0.30),
            Drift("Cigna", recent, extra_decision_days=9),
            Drift("UnitedHealthcare", recent, allowed_factor=0.85),
            Drift(
                "Aetna",
                today - timedelta(days=20),  # after the baseline: a reason never seen before
                new_reason=("CO-252", "An attachment/other documentation is required"),
            ),
            Drift("Medicaid", recent, denial_rate=0.07),  # improving: half the denials
        ]
        # Humana is one of the five biggest payers, so the dashboard's chart shows its rise.
        volumes = {"Medicare": 3, "UnitedHealthcare": 3, "Blue Cross Blue Shield": 3, "Humana": 3}
        return ClaimsSpec(rows=60_000, end=today, days=180, seed=11, drifts=drifts, volumes=volumes)
    return ClaimsSpec(rows=8_000, end=today, days=120, seed=23)


DEMO_RULE = "Worsening drifts, medium and up"


def alert_rule(*, echo=print) -> None:
    """Acme's alert rule, before detection runs, so the demo opens with alerts (and their e-mails
    on the worker's console)."""
    from portal.alerts import services as alerts
    from portal.alerts.models import AlertRule

    acme = Customer.objects.get(slug="acme")
    if not AlertRule.objects.filter(customer=acme, name__iexact=DEMO_RULE).exists():
        alerts.alert_rule_create(
            customer=acme,
            actor=None,
            fields=alerts.RuleFields(
                name=DEMO_RULE, min_severity=0.4, email_recipients=["owner@acme.test"]
            ),
        )
    echo(f"  {acme.name}: alert rule “{DEMO_RULE}” (e-mails owner@acme.test)")


def detect_drift(*, echo=print) -> None:
    """Run detection for every demo customer, so the demo opens with real drift events."""
    from portal.drift import services as drift

    drift.ensure_weekly_schedule()
    drift.ensure_recovery_schedule()
    from portal.webhooks.services import ensure_delivery_schedule

    ensure_delivery_schedule()  # the webhook retry sweep
    for slug, _ in DEMO_CUSTOMERS:
        run = drift.detect_now(customer=Customer.objects.get(slug=slug), trigger="demo")
        alerts = run.customer.alert_set.count()
        echo(
            f"  {run.customer.name}: {run.status}, {run.segments_examined} segments, "
            f"{run.tests_run} tests, {run.events_created + run.events_updated} drift events, "
            f"{alerts} alert{'s' if alerts != 1 else ''}"
        )


def weekly_report(*, echo=print) -> None:
    """Acme's weekly drift summary of this week (generated here, once a day), so the reports
    page opens with a report to download; and the daily schedule that makes the next ones."""
    from django.utils import timezone

    from portal.reports import services as reports
    from portal.reports.models import Report, ReportKind, ReportStatus, ReportTrigger

    reports.ensure_weekly_schedule()
    acme = Customer.objects.get(slug="acme")
    report = Report.objects.filter(
        customer=acme, kind=ReportKind.WEEKLY_SUMMARY, trigger=ReportTrigger.DEMO,
        period_end=timezone.localdate(), status=ReportStatus.SUCCEEDED,
    ).first()  # fmt: skip
    if report is None:
        report = reports.report_now(
            customer=acme, kind=ReportKind.WEEKLY_SUMMARY, trigger=ReportTrigger.DEMO
        )
    echo(
        f"  {acme.name}: weekly summary #{report.pk} {report.status}, "
        f"{report.row_count} drift events, {report.files.count()} files"
    )


def import_claims(*, echo=print) -> None:
    """Import the demo claims files (same claim ids every time: a re-run updates, never doubles)."""
    import tempfile
    from pathlib import Path

    from portal.claims import generator, services

    for slug, _ in DEMO_CUSTOMERS:
        customer = Customer.objects.get(slug=slug)
        with tempfile.TemporaryDirectory() as tmp:
            path = generator.write_csv(demo_claims_spec(slug), Path(tmp) / f"{slug}-claims.csv")
            upload = services.ingest_file(customer=customer, raw_path=str(path))
        echo(
            f"  {customer.name}: {upload.rows_total:,} claims rows "
            f"({upload.inserted:,} new, {upload.updated:,} updated) in {upload.seconds:.1f} s"
        )


def api_token() -> str:
    """A fresh read token for Acme's admin; the previous demo token is revoked."""
    from portal.accounts.models import ApiToken

    admin = User.objects.get(email="admin@acme.test")
    acme = Customer.objects.get(slug="acme")
    for old in ApiToken.objects.filter(customer=acme, name=DEMO_TOKEN_NAME, revoked_at=None):
        services.api_token_revoke(token=old, actor=None)
    _, plain = services.api_token_create(
        customer=acme, user=admin, name=DEMO_TOKEN_NAME, scope="read", actor=None
    )
    return plain


@transaction.atomic
def seed(*, password: str | None = None) -> list[DemoLogin]:
    customers = {}
    for slug, name in DEMO_CUSTOMERS:
        customers[slug], _ = Customer.objects.get_or_create(slug=slug, defaults={"name": name})
    roles: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for email, full_name, slug, role in DEMO_MEMBERS:
        customer = customers[slug]
        user, _ = services.user_get_or_create(email=email, full_name=full_name)
        names[email] = full_name
        membership = Membership.objects.filter(customer=customer, user=user).first()
        if membership is None:
            services.membership_add(customer=customer, email=email, role=role, actor=None)
        elif membership.role != role:
            services.membership_change_role(membership=membership, role=role, actor=None)
        roles.setdefault(email, []).append(f"{role} at {customer.name}")
    staff, _ = services.user_get_or_create(email=STAFF_EMAIL, full_name="Sam Staff")
    User.objects.filter(pk=staff.pk).update(is_staff=True, is_superuser=True)
    roles[STAFF_EMAIL] = ["staff (every customer, back office)"]

    logins = []
    for email, described in roles.items():
        user = User.objects.get(email=email)
        secret = password or secrets.token_urlsafe(9)
        user.set_password(secret)
        user.save(update_fields=["password"])
        logins.append(DemoLogin(email=email, password=secret, roles="; ".join(described)))
    return logins
