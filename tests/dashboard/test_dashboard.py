"""The customer dashboard (PRODUCT §8, §9, §12): exact numbers on hand-made claims, a fixed
number of queries, the five-minute cache and its invalidation, the API, and every role."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.alerts.models import Alert, AlertFeedback
from portal.claims import generator
from portal.claims import services as claims_services
from portal.claims.models import Outcome, Upload
from portal.dashboard import selectors, services
from portal.drift import services as drift_services
from portal.drift.models import DriftEvent
from tests.claims.builders import add_claims, decided, random_claims
from tests.claims.test_payers import active_run
from tests.factories import CustomerFactory, member

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _today():
    """``TODAY`` as of this test, not as of the import: a run that crosses midnight between
    collecting and running the module compared yesterday's claims with today's windows."""
    global TODAY
    TODAY = timezone.localdate()


D, P = Outcome.DENIED, Outcome.PAID
HOME = "dashboard:home"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def claims(acme):
    """Last 30 days: 10 decided (4 denied), days to decision 1,1,2,3,3,4,5,6,7,10 (median 3.5).
    The 30 days before: 10 decided (1 denied), all 10 days (median 10). Plus 2 pending claims
    submitted in the last 30 days and one claim decided 61 days ago (in neither window)."""
    day = lambda n: TODAY - timedelta(days=n)  # noqa: E731
    recent = [
        decided("Aetna", day(0), 2, P, 100),
        decided("Aetna", day(3), 4, D, 200),
        decided("Aetna", day(8), 6, P),
        decided("Aetna", day(29), 10, D),  # submitted 39 days ago
        decided("Humana", day(1), 1, D),
        decided("Humana", day(2), 1, D),
        decided("Humana", day(4), 3, P),
        decided("Humana", day(5), 3, P),
        decided("Humana", day(6), 5, P),
        decided("Humana", day(7), 7, P),
    ]
    previous = [decided("Aetna" if i % 2 else "Humana", day(30 + i), 10, P) for i in range(9)]
    previous.append(decided("Humana", day(59), 10, D))
    add_claims(
        acme,
        [
            *recent,
            *previous,
            decided("Humana", day(61), 2, D),
            ("Aetna", day(3), None, Outcome.PENDING, 100),
            ("Humana", day(29), None, Outcome.PENDING, 100),
        ],
    )
    return acme


# -- numbers --------------------------------------------------------------------------------------


def test_kpis_on_hand_made_claims(claims):
    kpis = selectors.claim_kpis(customer=claims, today=TODAY)
    assert (kpis.decided, kpis.denied, kpis.previous_decided) == (10, 4, 10)
    assert kpis.denial_rate == pytest.approx(0.4)
    assert kpis.previous_denial_rate == pytest.approx(0.1)
    assert kpis.denial_rate_change == pytest.approx(0.3)
    assert kpis.median_days == pytest.approx(3.5)
    assert kpis.previous_median_days == pytest.approx(10.0)
    assert kpis.median_days_change == pytest.approx(-6.5)
    # submitted in the last 30 days: 9 of the recent decided ones (one was submitted 39 days
    # ago) and the 2 pending ones
    assert kpis.submitted == 11


def test_kpis_without_claims_are_empty_not_zero(acme):
    kpis = selectors.claim_kpis(customer=acme, today=TODAY)
    assert (kpis.decided, kpis.submitted) == (0, 0)
    assert kpis.denial_rate is None and kpis.denial_rate_change is None
    assert kpis.median_days is None


def test_top_payers_weekly_denial_rates(claims):
    weeks, top = selectors.top_payers_weekly(customer=claims, today=TODAY)
    assert len(weeks) == 16 and weeks[-1] == TODAY - timedelta(days=TODAY.weekday())
    assert [(p.name, p.decided_total) for p in top] == [("Humana", 13), ("Aetna", 8)]
    humana = top[0]
    rows = [(1, D), (2, D), (4, P), (5, P), (6, P), (7, P)]  # Humana's, by decision day
    this_week = [o for n, o in rows if TODAY - timedelta(days=n) >= weeks[-1]]
    assert humana.decided[-1] == len(this_week) and humana.denied[-1] == this_week.count(D)
    day59 = weeks.index(selectors.week_start(TODAY - timedelta(days=59)))
    assert humana.denied[day59] >= 1


def test_only_the_top_five_payers_by_volume_are_charted(acme):
    random_claims(acme, claims=600, payers=9, today=TODAY, seed=4)
    _, top = selectors.top_payers_weekly(customer=acme, today=TODAY)
    totals = [p.decided_total for p in top]
    assert len(top) == 5 and totals == sorted(totals, reverse=True)
    for payer in top:
        assert sum(payer.decided) == payer.decided_total
        assert all(d <= n for d, n in zip(payer.denied, payer.decided, strict=True))


def test_the_whole_dashboard(claims, alice):
    run = active_run(claims, payer_name="Humana", events=2)
    upload = Upload.objects.create(customer=claims, file_name="nov.csv", status="succeeded")
    event = DriftEvent.objects.filter(customer=claims).first()
    alert = Alert.objects.create(
        customer=claims, rule_name="r", event=event, payer=event.payer,
        drift_type=event.drift_type, severity=0.8, label="high",
    )  # fmt: skip
    AlertFeedback.objects.create(
        customer=claims, alert=alert, user=alice, verdict="real",
        recovered_amount=Decimal("250.00"), recovered_on=TODAY,
    )  # fmt: skip
    data = selectors.compute(customer=claims)
    assert data.kpis.decided == 10 and data.open_alerts == 1
    assert data.recovered.all_time == Decimal("250.00")
    assert data.last_run.id == run.pk and data.last_run.events == 0
    assert data.last_upload.file_name == "nov.csv" and data.recent_uploads[0].id == upload.pk
    assert {e.payer for e in data.newest_events} == {"Humana"} and len(data.newest_events) == 3
    assert data.newest_events[0].current_end == TODAY  # the latest window first
    assert [p.name for p in data.top_payers] == ["Humana", "Aetna"]


def test_the_median_is_postgresqls_percentile_cont():
    """``_median`` reads the median off the days-to-decision histogram: the same number as
    ``percentile_cont(0.5)`` over the values themselves, odd and even counts, ties, one value."""
    import random

    from portal.dashboard.selectors import _median

    rng = random.Random(7)
    samples = [[5], [1, 2], [3, 3, 3, 9], [0, 0, 1], list(range(10))]
    samples += [[rng.randint(0, 40) for _ in range(rng.randint(1, 300))] for _ in range(20)]
    with connection.cursor() as cursor:
        for values in samples:
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(%s::int[]) v",
                [values],
            )
            (expected,) = cursor.fetchone()
            histogram = sorted((v, values.count(v)) for v in set(values))
            assert _median(histogram) == pytest.approx(expected), values
    assert _median([]) is None


def test_the_kpis_and_the_chart_read_each_payers_range_of_the_covering_index(acme):
    """Both statements read the claims payer by payer, as a range of (customer, payer,
    decided_date): never every claim of the customer (a sequential scan at 1,000,000 claims)."""
    from portal.claims.models import Claim, Payer

    random_claims(acme, claims=3000, payers=8, today=TODAY)
    start = TODAY - timedelta(days=selectors.WINDOW_DAYS)
    tables = {"claims": Claim._meta.db_table, "payers": Payer._meta.db_table}
    statements = [
        (
            selectors._KPI_SQL.format(**tables),
            {"customer": acme.pk, "today": TODAY, "start": start, "from": start - timedelta(29)},
        ),
        (
            selectors._TOP_PAYERS_SQL.format(**tables),
            {"customer": acme.pk, "today": TODAY, "from": TODAY - timedelta(112), "limit": 5},
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim; ANALYZE claims_payer")
        for sql, params in statements:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "claim_payer_decided_cover" in plan, plan  # an index or bitmap scan
            assert "(payer_id = payer" in plan and "(decided_date >= " in plan, plan
            assert "Seq Scan on claims_claim" not in plan, plan


# -- queries and cache ----------------------------------------------------------------------------


def test_the_numbers_take_a_fixed_number_of_queries(claims, django_assert_num_queries):
    with django_assert_num_queries(7):
        selectors.compute(customer=claims)
    big = CustomerFactory(slug="big")
    random_claims(big, claims=2000, payers=30, today=TODAY)
    active_run(big, payer_name="Payer 01", events=3)
    with django_assert_num_queries(7):
        data = selectors.compute(customer=big)
    assert len(data.top_payers) == 5 and data.kpis.decided > 100


def test_page_queries_do_not_grow_with_data(client, claims, bob):
    client.force_login(bob)
    client.get(reverse(HOME, args=["acme"]))
    cache.clear()
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(HOME, args=["acme"])).status_code == 200
    big = CustomerFactory(slug="big")
    viewer = member(big, "viewer", email="viewer@big.test")
    random_claims(big, claims=2000, payers=30, today=TODAY)
    client.force_login(viewer)
    client.get(reverse(HOME, args=["big"]))
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse(HOME, args=["big"])).status_code == 200
    assert len(large) == len(small), [q["sql"][:100] for q in large]


def test_a_second_request_reads_the_numbers_from_the_cache(client, claims, bob):
    client.force_login(bob)
    url = reverse(HOME, args=["acme"])
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    with CaptureQueriesContext(connection) as second:
        html = client.get(url).content.decode()
    claim_reads = [q for q in second if "claims_claim" in q["sql"] or "drift_" in q["sql"]]
    assert claim_reads == []
    assert len(second) <= len(first) - 6
    assert "40.0%" in html
    assert cache.get(services.cache_key(claims.pk)).kpis.decided == 10


def test_a_second_request_reuses_the_rendered_dashboard(
    client, claims, bob, django_capture_on_commit_callbacks
):
    """The dashboard's HTML is rendered once per computation of its numbers: the second page
    does not render it again, and a finished run (new numbers) renders it anew."""
    client.force_login(bob)
    url = reverse(HOME, args=["acme"])
    first = client.get(url)
    assert "dashboard/_body.html" in [t.name for t in first.templates]
    second = client.get(url)
    assert "dashboard/_body.html" not in [t.name for t in second.templates]
    body = lambda r: r.text[r.text.index('<div class="page-head">') : r.text.index("</main>")]  # noqa: E731
    assert body(second) == body(first) and "40.0%" in body(second)
    add_claims(claims, [decided("Aetna", TODAY, 1, D)])
    with django_capture_on_commit_callbacks(execute=True):
        drift_services.detect_now(customer=claims)
    third = client.get(url)
    assert "dashboard/_body.html" in [t.name for t in third.templates]
    assert ">11 <span" in body(third) and ">10 <span" in body(second)


def test_the_cache_is_kept_until_a_run_finishes(claims, django_capture_on_commit_callbacks):
    stale = selectors.dashboard(customer=claims)
    add_claims(claims, [decided("Aetna", TODAY, 1, D)])
    assert selectors.dashboard(customer=claims).kpis.decided == stale.kpis.decided == 10
    with django_capture_on_commit_callbacks(execute=True):
        drift_services.detect_now(customer=claims)
    assert cache.get(services.cache_key(claims.pk)) is None
    fresh = selectors.dashboard(customer=claims)
    assert fresh.kpis.decided == 11 and fresh.last_run.status == "succeeded"


def test_the_cache_is_forgotten_when_an_upload_finishes(
    claims, tmp_path, django_capture_on_commit_callbacks
):
    selectors.dashboard(customer=claims)
    rows = [["X-1", "Aetna", "99213", TODAY.isoformat(), TODAY.isoformat(), "DENIED", "10"]]
    path = tmp_path / "one.csv"
    path.write_bytes(generator.csv_bytes(rows, generator.COLUMNS[:7]))
    with django_capture_on_commit_callbacks(execute=True):
        upload = claims_services.ingest_file(customer=claims, raw_path=str(path))
    assert upload.status == "succeeded"
    assert cache.get(services.cache_key(claims.pk)) is None
    fresh = selectors.dashboard(customer=claims)
    assert fresh.kpis.decided == 11 and fresh.last_upload.id == upload.pk


def test_a_rolled_back_transaction_does_not_forget_the_cache(claims):
    selectors.dashboard(customer=claims)
    services.invalidate(claims.pk)  # inside the test's transaction: waits for a commit
    assert cache.get(services.cache_key(claims.pk)) is not None


# -- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [HOME, "accounts:customer-home"])
def test_pages_by_role(client, claims, alice, analyst, bob, charlie, staff, name):
    url = reverse(name, args=["acme"])
    for user, status in [(alice, 200), (analyst, 200), (bob, 200), (staff, 200), (charlie, 404)]:
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_home_page_is_the_dashboard(client, claims, bob):
    client.force_login(bob)
    html = client.get(reverse("accounts:customer-home", args=["acme"])).content.decode()
    assert 'id="kpis"' in html and 'id="top-payers-chart"' in html
    assert f'<a href="{reverse("accounts:customer-home", args=["acme"])}">Dashboard</a>' in html


def test_kpi_changes_read_without_colour(client, claims, bob):
    client.force_login(bob)
    html = client.get(reverse(HOME, args=["acme"])).content.decode()
    rate = html.split('id="kpi-denial-rate"')[1].split("</div>")[0]
    assert "40.0%" in rate and "+30.0 pp" in rate and "▲" in rate
    assert "up: worse than the previous 30 days" in rate and "change-worse" in rate
    days = html.split('id="kpi-decision-days"')[1].split("</div>")[0]
    assert "3.5" in days and "−6.5 d" in days.replace("-6.5", "−6.5")
    assert "down: better than the previous 30 days" in days


def test_the_chart_has_its_numbers_in_a_table(client, claims, bob):
    client.force_login(bob)
    html = client.get(reverse(HOME, args=["acme"])).content.decode()
    chart = html.split('id="top-payers-chart"')[1].split("</svg>")[0]
    assert '<title id="top-payers-chart-title">Weekly denial rate' in chart
    assert chart.count('class="series-group') == 2
    assert 'stroke-dasharray="7 4"' in chart  # the second series is dashed
    assert "marker-circle" in chart and "marker-square" in chart
    assert "Humana ·" in chart and "Aetna ·" in chart  # direct labels at the line ends
    table = html.split('id="top-payers-table"')[1].split("</details>")[0]
    assert '<th class="num">Humana</th><th class="num">Aetna</th>' in table
    weeks, top = selectors.top_payers_weekly(customer=claims, today=TODAY)
    humana = top[0]
    for i, week in enumerate(weeks):
        if humana.decided[i]:
            rate = f"{humana.denied[i] / humana.decided[i] * 100:.1f}%"
            row = table.split(f"<td>{week.isoformat()}</td>")[1].split("</tr>")[0]
            assert f'{rate} <span class="muted">({humana.denied[i]}/{humana.decided[i]})' in row


def test_an_empty_customer_says_nothing_yet(client, acme, bob):
    client.force_login(bob)
    html = client.get(reverse(HOME, args=["acme"])).content.decode()
    assert "No decided claims in the last 16 weeks yet" in html
    assert "No drift found yet" in html and "No uploads yet." in html


def test_newest_drift_links_to_the_event(client, claims, bob):
    active_run(claims, payer_name="Humana")
    client.force_login(bob)
    html = client.get(reverse(HOME, args=["acme"])).content.decode()
    for event in DriftEvent.objects.filter(customer=claims):
        assert f'href="{reverse("drift:event-detail", args=["acme", event.pk])}"' in html


# -- API ------------------------------------------------------------------------------------------

API = "/api/v1/dashboard/"


def test_api_has_the_pages_numbers(bearer, client, claims, bob):
    active_run(claims, payer_name="Humana")
    body = bearer(bob, claims).get(API).json()
    kpis = body["kpis"]
    assert (kpis["decided"], kpis["submitted"], kpis["denied"]) == (10, 11, 4)
    assert kpis["denial_rate"] == pytest.approx(0.4)
    assert kpis["denial_rate_change"] == pytest.approx(0.3)
    assert kpis["median_decision_days"] == 3.5 and kpis["median_decision_days_change"] == -6.5
    assert [p["name"] for p in body["top_payers"]] == ["Humana", "Aetna"]
    assert len(body["weeks"]) == 16 and len(body["top_payers"][0]["denial_rate"]) == 16
    assert body["last_run"]["status"] == "succeeded"
    assert body["newest_events"][0]["payer"] == "Humana"
    client.force_login(bob)
    html = client.get(reverse(HOME, args=["acme"])).content.decode()
    assert f"{kpis['denial_rate'] * 100:.1f}%" in html
    assert f"{kpis['denial_rate_change'] * 100:+.1f} pp" in html


def test_api_is_scoped_to_the_tokens_customer(bearer, claims, charlie, globex, api, bob):
    add_claims(globex, [decided("Cigna", TODAY, 3, D)])
    body = bearer(charlie, globex).get(API).json()
    assert body["kpis"]["decided"] == 1 and body["top_payers"][0]["name"] == "Cigna"
    api.credentials()
    api.force_login(charlie)
    response = api.get(API, HTTP_X_CUSTOMER="acme")
    assert response.status_code == 404
    api.logout()
    assert api.get(API).status_code in (401, 403)


def test_a_dashboard_computed_during_a_run_cannot_come_back_stale(
    claims, django_capture_on_commit_callbacks
):
    """A request computed the numbers before a run finished and stores them after: the run's
    invalidation started a new generation, so those numbers are never served."""
    key_before = services.cache_key(claims.pk)  # the slow request looked its key up here
    stale = selectors.compute(customer=claims)  # ... and computed 10 decided claims
    add_claims(claims, [decided("Aetna", TODAY, 1, D)])
    with django_capture_on_commit_callbacks(execute=True):
        services.invalidate(claims.pk)  # the run finished
    cache.set(key_before, stale, 300)  # the slow request's late write
    assert stale.kpis.decided == 10 and services.cache_key(claims.pk) != key_before
    assert selectors.dashboard(customer=claims).kpis.decided == 11


def test_a_new_payer_alias_refreshes_the_dashboard(claims, django_capture_on_commit_callbacks):
    from portal.claims import services as mapping_services

    before = services.cache_key(claims.pk)
    selectors.dashboard(customer=claims)
    with django_capture_on_commit_callbacks(execute=True):
        mapping_services.payer_alias_save(
            customer=claims, raw_name="Aetna Inc", payer_name="Aetna", actor=None
        )
    assert services.cache_key(claims.pk) != before
