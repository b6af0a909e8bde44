"""The authorization matrix (PRODUCT §2): every URL of the portal and the API, every kind of caller.

The URL patterns come from the resolver, so a new URL without an entry in ``MATRIX`` fails
``test_every_url_has_an_entry``. Each entry says the lowest level that may read (GET) and write
(POST/PUT/PATCH/DELETE, whichever the view accepts); the expected outcome for each caller follows:

- portal: anonymous → 302 to the login page; another customer's admin → 404; a role below the
  level → 403; staff-only pages are a 404 for everyone but staff;
- API: anonymous → 401; another customer (``X-Customer: acme`` from Globex's admin) → 404; a role
  below the level → 403; a read-only token → 403 on every write;
- allowed callers get a success or redirect (writes with an empty body may answer 400: allowed,
  but invalid), never 401/403/404/5xx.

Every detail URL is also tried with the other customer's object under Acme's address: 404.
Each request runs in a savepoint that is rolled back, so writes do not disturb the next caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from portal.accounts import services as account_services
from portal.accounts.models import Membership
from portal.accounts.roles import Role
from portal.alerts import services as alert_services
from portal.audit.models import AuditEvent
from portal.claims import services as claim_services
from portal.claims.generator import csv_bytes
from portal.claims.models import Claim, Payer
from portal.drift.models import DriftEvent, DriftRun
from portal.reports import services as report_services
from portal.reports.models import ReportKind
from portal.webhooks import services as webhook_services
from tests.factories import member

pytestmark = pytest.mark.django_db

PUBLIC, LOGIN, VIEWER, ANALYST, ADMIN, OWNER, STAFF = (
    "public", "login", "viewer", "analyst", "admin", "owner", "staff",
)  # fmt: skip
RANK = {VIEWER: 0, ANALYST: 1, ADMIN: 2, OWNER: 3}
ROLE_OF = {"viewer": VIEWER, "analyst": ANALYST, "admin": ADMIN, "owner": OWNER}


@dataclass(frozen=True)
class Entry:
    read: str | None = None  # lowest level allowed to GET (None: the view has no GET)
    write: str | None = None  # lowest level allowed to write (None: read-only)
    obj: str | None = None  # the seeded object whose pk goes into the URL
    extra: tuple[tuple[str, str], ...] = ()  # further URL keywords
    query: str = ""  # a query string the page needs


# Not customer data: Django's auth pages and the API's docs, and the admin (tested on its own).
SKIPPED_PREFIXES = ("admin/", "accounts/")
SKIPPED_NAMES = {"api:not-found"}

MATRIX: dict[str, Entry] = {
    # -- accounts
    "accounts:home": Entry(read=LOGIN),
    "accounts:customer-list": Entry(read=STAFF),
    "accounts:customer-create": Entry(read=STAFF, write=STAFF),
    "accounts:customer-home": Entry(read=VIEWER),
    "accounts:member-list": Entry(read=ADMIN, write=ADMIN),
    "accounts:member-role": Entry(write=ADMIN, obj="membership"),
    "accounts:member-remove": Entry(write=ADMIN, obj="membership"),
    "accounts:token-list": Entry(read=ADMIN, write=ADMIN),
    "accounts:token-revoke": Entry(write=ADMIN, obj="token"),
    # -- alerts
    "alerts:alert-list": Entry(read=VIEWER, write=ANALYST),
    "alerts:alert-detail": Entry(read=VIEWER, write=ANALYST, obj="alert"),
    "alerts:alert-status": Entry(write=ANALYST, obj="alert"),
    "alerts:rule-list": Entry(read=VIEWER),
    "alerts:rule-create": Entry(read=ADMIN, write=ADMIN),
    "alerts:rule-edit": Entry(read=ADMIN, write=ADMIN, obj="rule"),
    "alerts:rule-delete": Entry(read=ADMIN, write=ADMIN, obj="rule"),
    "alerts:rule-toggle": Entry(write=ADMIN, obj="rule"),
    # -- audit
    "audit:all": Entry(read=STAFF),
    "audit:customer": Entry(read=ADMIN),
    # -- claims
    "claims:upload-list": Entry(read=VIEWER, write=ANALYST),
    "claims:upload-detail": Entry(read=VIEWER, obj="upload"),
    "claims:upload-progress": Entry(read=VIEWER, obj="upload"),
    "claims:upload-rejected-csv": Entry(read=VIEWER, obj="upload"),
    "claims:claim-list": Entry(read=VIEWER),
    "claims:payer-list": Entry(read=VIEWER),
    "claims:payer-detail": Entry(read=VIEWER, obj="payer"),
    "claims:claim-export": Entry(read=VIEWER),
    "claims:payer-alias-list": Entry(read=VIEWER, write=ANALYST),
    "claims:payer-alias-import": Entry(write=ANALYST),
    "claims:payer-alias-edit": Entry(read=ANALYST, write=ANALYST, obj="alias"),
    "claims:payer-alias-delete": Entry(write=ANALYST, obj="alias"),
    "claims:cpt-group-list": Entry(read=VIEWER, write=ANALYST),
    "claims:cpt-group-import": Entry(write=ANALYST),
    "claims:cpt-group-edit": Entry(read=ANALYST, write=ANALYST, obj="override"),
    "claims:cpt-group-delete": Entry(write=ANALYST, obj="override"),
    # -- dashboard
    "dashboard:home": Entry(read=VIEWER),
    # -- drift
    "drift:event-list": Entry(read=VIEWER),
    "drift:event-detail": Entry(read=VIEWER, obj="event"),
    "drift:run-list": Entry(read=VIEWER, write=ANALYST),
    "drift:run-detail": Entry(read=VIEWER, obj="run"),
    "drift:run-status": Entry(read=VIEWER, obj="run"),
    "drift:settings": Entry(read=ADMIN, write=ADMIN),
    # -- reports
    "reports:report-list": Entry(read=VIEWER, write=ANALYST),
    "reports:report-detail": Entry(read=VIEWER, obj="report"),
    "reports:report-status": Entry(read=VIEWER, obj="report"),
    "reports:report-download": Entry(read=VIEWER, obj="report", extra=(("format", "pdf"),)),
    "reports:report-email": Entry(write=ANALYST, obj="report"),
    "reports:export": Entry(read=ANALYST, write=ANALYST, query="?table=claims"),
    "reports:settings": Entry(read=ADMIN, write=ADMIN),
    # -- webhooks
    "webhooks:endpoint-list": Entry(read=VIEWER),
    "webhooks:endpoint-create": Entry(read=ADMIN, write=ADMIN),
    "webhooks:endpoint-detail": Entry(read=VIEWER, obj="endpoint"),
    "webhooks:endpoint-edit": Entry(read=ADMIN, write=ADMIN, obj="endpoint"),
    "webhooks:endpoint-delete": Entry(write=ADMIN, obj="endpoint"),
    "webhooks:endpoint-enable": Entry(write=ADMIN, obj="endpoint"),
    "webhooks:endpoint-disable": Entry(write=ADMIN, obj="endpoint"),
    "webhooks:endpoint-test": Entry(write=ADMIN, obj="endpoint"),
    "webhooks:endpoint-rotate": Entry(write=ADMIN, obj="endpoint"),
    "webhooks:endpoint-replay-dead": Entry(write=ADMIN, obj="endpoint"),
    "webhooks:dead-letters": Entry(read=VIEWER),
    "webhooks:message-detail": Entry(read=VIEWER, obj="message"),
    "webhooks:message-replay": Entry(write=ADMIN, obj="message"),
    # -- API
    "api:v1:health": Entry(read=PUBLIC),
    "api:v1:me": Entry(read=VIEWER),
    "api:v1:member-list": Entry(read=VIEWER, write=ADMIN),
    "api:v1:member-detail": Entry(read=VIEWER, write=ADMIN, obj="membership"),
    "api:v1:audit-event-list": Entry(read=ADMIN),
    "api:v1:audit-event-detail": Entry(read=ADMIN, obj="audit"),
    "api:v1:upload-list": Entry(read=VIEWER, write=ANALYST),
    "api:v1:upload-detail": Entry(read=VIEWER, obj="upload"),
    "api:v1:upload-rejected-rows": Entry(read=VIEWER, obj="upload"),
    "api:v1:claim-list": Entry(read=VIEWER),
    "api:v1:claim-detail": Entry(read=VIEWER, obj="claim"),
    "api:v1:claim-payer-summary": Entry(read=VIEWER),
    "api:v1:dashboard": Entry(read=VIEWER),
    "api:v1:payer-alias-list": Entry(read=VIEWER, write=ANALYST),
    "api:v1:payer-alias-detail": Entry(read=VIEWER, write=ANALYST, obj="alias"),
    "api:v1:cpt-group-list": Entry(read=VIEWER, write=ANALYST),
    "api:v1:cpt-group-detail": Entry(read=VIEWER, write=ANALYST, obj="override"),
    "api:v1:drift-run-list": Entry(read=VIEWER, write=ANALYST),
    "api:v1:drift-run-detail": Entry(read=VIEWER, obj="run"),
    "api:v1:drift-event-list": Entry(read=VIEWER),
    "api:v1:drift-event-active": Entry(read=VIEWER),
    "api:v1:drift-event-feed": Entry(read=VIEWER),
    "api:v1:drift-event-detail": Entry(read=VIEWER, obj="event"),
    "api:v1:alert-rule-list": Entry(read=VIEWER, write=ADMIN),
    "api:v1:alert-rule-detail": Entry(read=VIEWER, write=ADMIN, obj="rule"),
    "api:v1:alert-list": Entry(read=VIEWER),
    "api:v1:alert-active": Entry(read=VIEWER),
    "api:v1:alert-detail": Entry(read=VIEWER, obj="alert"),
    "api:v1:alert-feedback": Entry(read=VIEWER, write=ANALYST, obj="alert"),
    "api:v1:alert-acknowledge": Entry(write=ANALYST, obj="alert"),
    "api:v1:alert-resolve": Entry(write=ANALYST, obj="alert"),
    "api:v1:alert-reopen": Entry(write=ANALYST, obj="alert"),
    "api:v1:report-list": Entry(read=VIEWER, write=ANALYST),
    "api:v1:report-detail": Entry(read=VIEWER, obj="report"),
    "api:v1:report-download": Entry(read=VIEWER, obj="report", extra=(("file_format", "pdf"),)),
    "api:v1:webhook-endpoint-list": Entry(read=VIEWER, write=ADMIN),
    "api:v1:webhook-endpoint-detail": Entry(read=VIEWER, write=ADMIN, obj="endpoint"),
    "api:v1:webhook-endpoint-messages": Entry(read=VIEWER, obj="endpoint"),
    "api:v1:webhook-endpoint-test": Entry(write=ADMIN, obj="endpoint"),
    "api:v1:webhook-endpoint-rotate-secret": Entry(write=ADMIN, obj="endpoint"),
    "api:v1:webhook-message-list": Entry(read=VIEWER),
    "api:v1:webhook-message-detail": Entry(read=VIEWER, obj="message"),
    "api:v1:webhook-message-replay": Entry(write=ADMIN, obj="message"),
    "api:schema": Entry(read=PUBLIC),
    "api:docs": Entry(read=PUBLIC),
    "api:redoc": Entry(read=PUBLIC),
}

ACTORS = ["anonymous", "viewer", "analyst", "admin", "owner", "outsider", "staff"]
TOKENS = ["token_read", "token_write"]


# -- the URL patterns -----------------------------------------------------------------------------


def _walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield prefix + str(p.pattern), name, p.callback


def url_patterns() -> dict[str, object]:
    found = {}
    for route, name, callback in _walk(get_resolver().url_patterns):
        if route.startswith(SKIPPED_PREFIXES) or name in SKIPPED_NAMES:
            continue
        found[name] = callback
    return found


WRITE_METHODS = ("post", "put", "patch", "delete")


def methods_of(callback) -> list[str]:
    """The HTTP methods a view answers (besides HEAD/OPTIONS)."""
    if getattr(callback, "actions", None):  # a DRF viewset route
        allowed = callback.cls.http_method_names
        return [m for m in ("get", *WRITE_METHODS) if m in callback.actions and m in allowed]
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:  # a function view: its entry says what it answers
        return ["get"]
    allowed = [m for m in getattr(view, "http_method_names", []) if hasattr(view, m)]
    return [m for m in ("get", *WRITE_METHODS) if m in allowed]


# -- the seed: one of everything at Acme and at Globex --------------------------------------------


def _seed_customer(customer, owner, tmp_path, tag):
    path = tmp_path / f"{tag}.csv"
    path.write_bytes(
        csv_bytes(
            [
                [
                    f"{tag}1",
                    "Aetna",
                    "99213",
                    "2025-03-01",
                    "2025-03-05",
                    "PAID",
                    "100",
                    "80",
                    "80",
                    "",
                    "",
                    "",
                ],
                [
                    f"{tag}2",
                    "Aetna",
                    "bad",
                    "2025-03-01",
                    "2025-03-05",
                    "PAID",
                    "1",
                    "1",
                    "1",
                    "",
                    "",
                    "",
                ],
            ]
        )
    )
    upload = claim_services.ingest_file(customer=customer, raw_path=str(path))
    alias = claim_services.payer_alias_save(
        customer=customer, raw_name="Aetna Inc", payer_name="Aetna", actor=None
    )
    override = claim_services.cpt_group_save(
        customer=customer, cpt="99213", group="Visits", actor=None
    )
    payer = Payer.objects.get(customer=customer, key="aetna")
    run = DriftRun.objects.create(customer=customer, as_of=date(2025, 4, 1), trigger="test")
    event = DriftEvent.objects.create(
        customer=customer, run=run, payer=payer, cpt_group="ALL", drift_type="denial_rate",
        baseline_start=date(2024, 12, 1), baseline_end=date(2025, 2, 28),
        current_start=date(2025, 3, 1), current_end=date(2025, 3, 14),
        baseline_value=0.1, current_value=0.2, delta=0.1, relative_delta=1.0, baseline_n=100,
        current_n=50, p_value=0.001, q_value=0.01, test="z", direction="worsening",
        severity=0.6, label="high", revenue_impact=Decimal("1000.00"),
    )  # fmt: skip
    token, _ = account_services.api_token_create(
        customer=customer, user=owner, name="matrix", scope="read", actor=None
    )
    membership = Membership.objects.filter(customer=customer).exclude(user=owner).first()
    endpoint, _ = webhook_services.endpoint_create(
        customer=customer, actor=None, name="Matrix", url="https://hooks.example.com/in"
    )
    message = webhook_services.endpoint_send_test(endpoint=endpoint, actor=None)
    rule = alert_services.alert_rule_create(
        customer=customer,
        actor=None,
        fields=alert_services.RuleFields(name="Everything", direction="any"),
    )
    (alert,) = alert_services.alerts_evaluate(customer=customer, event_ids=[event.pk])
    report = report_services.report_now(
        customer=customer, kind=ReportKind.WEEKLY_SUMMARY, trigger="schedule"
    )
    return {
        "upload": upload.pk,
        "claim": Claim.objects.filter(customer=customer).first().pk,
        "alias": alias.pk,
        "override": override.pk,
        "run": run.pk,
        "event": event.pk,
        "payer": payer.pk,
        "membership": membership.pk,
        "token": token.pk,
        "endpoint": endpoint.pk,
        "message": message.pk,
        "rule": rule.pk,
        "alert": alert.pk,
        "report": report.pk,
        "audit": AuditEvent.objects.filter(customer=customer).first().pk,
    }


@pytest.fixture
def world(acme, globex, alice, bob, analyst, charlie, staff, tmp_path, token_for, settings):
    # The matrix sends hundreds of writes: no throttle may get in its way.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {key: "100000/minute" for key in rates},
    }
    admin = member(acme, Role.ADMIN, email="adam@acme.test")
    globex_viewer = member(globex, Role.VIEWER, email="gina@globex.test")
    assert globex_viewer
    objects = {
        "acme": _seed_customer(acme, alice, tmp_path, "A"),
        "globex": _seed_customer(globex, charlie, tmp_path, "G"),
    }
    return {
        "users": {
            "viewer": bob,
            "analyst": analyst,
            "admin": admin,
            "owner": alice,
            "outsider": charlie,
            "staff": staff,
        },
        "tokens": {
            "token_read": token_for(alice, acme, "read"),
            "token_write": token_for(alice, acme, "write"),
        },
        "objects": objects,
    }


# -- expectations ---------------------------------------------------------------------------------

OK, LOGIN_REDIRECT = "ok", "login"


def expected(*, api: bool, level: str, actor: str, write: bool) -> int | str:
    if level == PUBLIC:
        return OK
    if actor in TOKENS:
        if not api:
            return LOGIN_REDIRECT  # tokens are for the API only
        if write and actor == "token_read":
            return 403
        return OK  # the tokens are Alice's, an owner
    if actor == "anonymous":
        return 401 if api else LOGIN_REDIRECT
    if level == LOGIN:
        return OK
    if level == STAFF:
        return OK if actor == "staff" else 404
    if actor == "staff":
        return OK
    if actor == "outsider":
        return 404
    return OK if RANK[ROLE_OF[actor]] >= RANK[level] else 403


def _client(world, actor: str, api: bool):
    client = APIClient()
    if actor in TOKENS:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][actor]}")
    elif actor != "anonymous":
        client.force_login(world["users"][actor])
    if api and actor not in TOKENS:
        client.credentials(HTTP_X_CUSTOMER="acme")
    return client


def _url(name: str, entry: Entry, objects: dict, *, owner="acme", obj_of="acme") -> str:
    kwargs = {}
    if not name.startswith("api:") and name not in ("accounts:home",) and not _customerless(name):
        kwargs["slug"] = owner
    if entry.obj:
        kwargs["pk"] = objects[obj_of][entry.obj]
    kwargs.update(entry.extra)
    return reverse(name, kwargs=kwargs) + entry.query


def _customerless(name: str) -> bool:
    return name in {"accounts:customer-list", "accounts:customer-create", "audit:all"}


def _request(client, method: str, url: str, api: bool):
    with transaction.atomic():
        if api:
            response = (
                getattr(client, method)(url, {}, format="json")
                if method != "get"
                else (client.get(url))
            )
        else:
            response = client.get(url) if method == "get" else getattr(client, method)(url, {})
        transaction.set_rollback(True)
    return response


def _outcome(response, api: bool) -> int | str:
    status = response.status_code
    if status == 302 and not api and "/accounts/login/" in response.get("Location", ""):
        return LOGIN_REDIRECT
    if status in (401, 403, 404):
        return status
    if status >= 500 or status == 405:
        return status
    return OK  # 2xx, a redirect elsewhere, or 400 for an empty write body


# -- the tests ------------------------------------------------------------------------------------


def test_every_url_has_an_entry():
    patterns = url_patterns()
    missing = sorted(set(patterns) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(patterns))
    assert not missing, f"URLs without an authorization entry in MATRIX: {missing}"
    assert not stale, f"MATRIX entries for URLs that no longer exist: {stale}"


def test_entries_match_the_methods_each_view_answers():
    for name, callback in url_patterns().items():
        entry = MATRIX[name]
        methods = methods_of(callback)
        assert ("get" in methods) == (entry.read is not None), (name, methods)
        writes = [m for m in methods if m in WRITE_METHODS]
        assert bool(writes) == (entry.write is not None), (name, methods)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_caller_gets_the_expected_outcome(world, name):
    callback = url_patterns()[name]
    entry = MATRIX[name]
    api = name.startswith("api:v1:")
    url = _url(name, entry, world["objects"])
    failures = []
    for actor in ACTORS + (TOKENS if api else ["token_write"]):
        client = _client(world, actor, api)
        for method in methods_of(callback):
            write = method != "get"
            level = entry.write if write else entry.read
            want = expected(api=api, level=level, actor=actor, write=write)
            got = _outcome(_request(client, method, url, api), api)
            if got != want:
                failures.append(f"{actor} {method.upper()} {url}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


DETAIL_NAMES = sorted(name for name, entry in MATRIX.items() if entry.obj)


@pytest.mark.parametrize("name", DETAIL_NAMES)
def test_another_customers_object_is_a_404_at_every_detail_url(world, name):
    """Alice (owner of Acme) and her write token ask for Globex's object under Acme: 404."""
    callback = url_patterns()[name]
    entry = MATRIX[name]
    api = name.startswith("api:v1:")
    url = _url(name, entry, world["objects"], obj_of="globex")
    callers = ["owner", "staff"] + (["token_write"] if api else [])
    failures = []
    for actor in callers:
        client = _client(world, actor, api)
        for method in methods_of(callback):
            got = _outcome(_request(client, method, url, api), api)
            if got != 404:
                failures.append(f"{actor} {method.upper()} {url}: expected 404, got {got}")
    assert not failures, "\n".join(failures)


def test_admin_back_office_is_for_staff_only(world, client):
    url = reverse("admin:index")
    assert client.get(url).status_code == 302
    client.force_login(world["users"]["owner"])
    assert client.get(url).status_code == 302  # to the admin login: not staff
    world["users"]["staff"].is_superuser = True
    world["users"]["staff"].save()
    client.force_login(world["users"]["staff"])
    assert client.get(url).status_code == 200
