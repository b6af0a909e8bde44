"""Payers (PRODUCT §8, §9): the summary table and its API, the payer page; exact numbers on
hand-made claims, a fixed number of queries, the covering index, and tenancy."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.claims import selectors
from portal.claims.filters import PayerSummaryFilter
from portal.claims.models import Outcome
from portal.dashboard import services as dashboard
from portal.drift.models import DriftEvent, DriftRun, RunStatus
from tests.claims.builders import add_claims, decided, payer, random_claims
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


@pytest.fixture
def claims(acme, globex):
    """Aetna: 4 E/M claims (2 denied) and 1 Radiology claim (denied) decided in the last 90 days;
    Humana: 3 E/M claims (1 denied). Outside the range or pending: not counted. Globex has an
    Aetna of its own."""
    add_claims(
        acme,
        [
            decided("Aetna", TODAY - timedelta(days=5), 2, P, 100),
            decided("Aetna", TODAY - timedelta(days=6), 4, D, 200),
            decided("Aetna", TODAY - timedelta(days=10), 6, P, 300),
            decided("Aetna", TODAY - timedelta(days=20), 10, D, 400),
            decided("Aetna", TODAY - timedelta(days=120), 5, D, 999),  # before the range
            decided("Humana", TODAY - timedelta(days=1), 1, D, 50),
            decided("Humana", TODAY - timedelta(days=3), 3, P, 150),
            decided("Humana", TODAY - timedelta(days=4), 5, P, 250),
            ("Humana", TODAY - timedelta(days=2), None, Outcome.PENDING, 75),
        ],
    )
    add_claims(
        acme,
        [decided("Aetna", TODAY - timedelta(days=7), 8, D, 1000)],
        cpt="71046",
        cpt_group="Radiology",
    )
    add_claims(globex, [decided("Aetna", TODAY - timedelta(days=5), 2, D, 5000)])
    return acme


def summary(customer, **data):
    filterset = PayerSummaryFilter(
        data, queryset=selectors.payer_list(customer=customer), customer=customer
    )
    assert filterset.is_valid(), filterset.errors
    return {p.name: p for p in filterset.qs}


def active_run(customer, *, payer_name: str, events: int = 1) -> DriftRun:
    """A succeeded run whose current window holds ``events`` events of the payer, and an older
    event of the payer in an earlier window (not open any more)."""
    start, end = TODAY - timedelta(days=13), TODAY
    run = DriftRun.objects.create(
        customer=customer,
        as_of=TODAY,
        status=RunStatus.SUCCEEDED,
        baseline_start=start - timedelta(days=90),
        baseline_end=start - timedelta(days=1),
        current_start=start,
        current_end=end,
    )
    kinds = ["denial_rate", "decision_time", "denial_dollars"]
    for kind, (s, e) in [
        *((k, (start, end)) for k in kinds[:events]),
        ("denial_rate", (start - timedelta(days=30), end - timedelta(days=30))),
    ]:
        DriftEvent.objects.create(
            customer=customer, run=run, payer=payer(customer, payer_name), cpt_group="ALL",
            drift_type=kind, baseline_start=s - timedelta(days=90),
            baseline_end=s - timedelta(days=1), current_start=s, current_end=e,
            baseline_value=0.1, current_value=0.3, delta=0.2, baseline_n=100, current_n=50,
            p_value=0.001, q_value=0.01, test="z", direction="worsening", severity=0.8,
            label="high", revenue_impact=1000,
        )  # fmt: skip
    return run


# -- numbers --------------------------------------------------------------------------------------


def test_summary_counts_claims_decided_in_the_last_90_days_by_payer(claims):
    rows = summary(claims)
    assert set(rows) == {"Aetna", "Humana"}
    aetna, humana = rows["Aetna"], rows["Humana"]
    assert (aetna.claim_count, aetna.denied_count) == (5, 3)
    assert aetna.denial_rate == pytest.approx(0.6)
    assert aetna.mean_days == pytest.approx(6.0)  # 2, 4, 6, 8, 10
    assert aetna.median_days == pytest.approx(6.0)
    assert (aetna.billed, aetna.denied_dollars) == (2000, 1600)
    assert (humana.claim_count, humana.denied_count) == (3, 1)  # the pending one is not decided
    assert humana.denial_rate == pytest.approx(1 / 3)
    assert (humana.mean_days, humana.median_days) == (pytest.approx(3.0), pytest.approx(3.0))
    assert (humana.billed, humana.denied_dollars) == (450, 50)
    assert aetna.open_events == humana.open_events == 0


def test_the_cpt_group_and_the_decision_range_narrow_the_claims_counted(claims):
    em = summary(claims, cpt_group="E/M")
    assert (em["Aetna"].claim_count, em["Aetna"].denial_rate) == (4, 0.5)
    assert em["Aetna"].median_days == pytest.approx(5.0)  # 2, 4, 6, 10
    radiology = summary(claims, cpt_group="Radiology")
    assert set(radiology) == {"Aetna"} and radiology["Aetna"].denial_rate == 1.0
    week = summary(claims, decided_from=(TODAY - timedelta(days=6)).isoformat())
    assert (week["Aetna"].claim_count, week["Humana"].claim_count) == (2, 3)
    old = summary(
        claims,
        decided_from=(TODAY - timedelta(days=200)).isoformat(),
        decided_until=(TODAY - timedelta(days=100)).isoformat(),
    )
    assert set(old) == {"Aetna"} and old["Aetna"].billed == 999
    assert set(summary(claims, q="hum")) == {"Humana"}


def test_open_events_are_those_of_the_latest_runs_window_and_sort_first(claims):
    active_run(claims, payer_name="Humana", events=2)
    rows = list(summary(claims).values())
    assert [(p.name, p.open_events) for p in rows] == [("Humana", 2), ("Aetna", 0)]


def test_weekly_denials_for_a_page_of_payers_in_one_query(claims):
    ids = {p.name: p.pk for p in selectors.payer_list(customer=claims)}
    with CaptureQueriesContext(connection) as queries:
        weeks, series = selectors.payer_weekly_denials(
            customer=claims, payer_ids=list(ids.values()), until=TODAY
        )
    assert len(queries) == 1
    assert len(weeks) == 12 and weeks[-1] == TODAY - timedelta(days=TODAY.weekday())
    expected = {}
    for day, outcome in [(5, P), (6, D), (10, P), (20, D), (7, D)]:
        week = selectors.week_start(TODAY - timedelta(days=day))
        decided_n, denied_n = expected.get(week, (0, 0))
        expected[week] = (decided_n + 1, denied_n + (outcome == D))
    assert {w: c for w, c in zip(weeks, series[ids["Aetna"]], strict=True) if c[0]} == expected
    assert sum(c[0] for c in series[ids["Humana"]]) == 3


def test_payer_weekly_has_every_week_with_medians_and_denied_dollars(claims):
    aetna = payer(claims, "Aetna")
    weeks = selectors.payer_weekly(payer=aetna, until=TODAY)
    assert len(weeks) == 26 and weeks[-1].week == selectors.week_start(TODAY)
    # 26 weeks reach back past the claim decided 120 days ago
    assert sum(w.decided for w in weeks) == 6 and sum(w.denied for w in weeks) == 4
    assert sum(w.denied_dollars for w in weeks) == 1600 + 999
    assert all(w.median_days is None and w.denial_rate is None for w in weeks if not w.decided)


# -- the covering index ---------------------------------------------------------------------------


def test_the_summary_reads_the_covering_index(claims):
    random_claims(claims, claims=3000, payers=8, today=TODAY)
    queryset = summary_queryset(claims)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")
        # Tiny test tables are cheaper to scan whole, so the planner's choice would depend on
        # the row count; turning sequential and bitmap scans off asks the real question: can
        # the covering index answer the summary? (On a big table it is chosen on its own.)
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan")
    assert (
        "Index Only Scan using claim_payer_decided_cover" in plan
        or "Index Scan using claim_payer_decided_cover" in plan
    ), plan
    assert "Seq Scan on claims_claim" not in plan, plan


def _plan(sql, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan")
    return plan


def test_the_summary_and_the_sparklines_need_no_claim_row_outside_the_index(claims):
    """At 1,000,000 claims the summary took 650 ms when it probed every claim's row again for
    ``NOT EXISTS (… outcome = 'PENDING')`` and counted claim ids (not in the index); 86 ms as an
    index-only scan."""
    random_claims(claims, claims=3000, payers=8, today=TODAY)
    plan = _plan(*summary_queryset(claims).query.sql_with_params())
    assert "Index Only Scan using claim_payer_decided_cover" in plan, plan
    assert "Anti Join" not in plan and "claims_claim_pkey" not in plan, plan
    with CaptureQueriesContext(connection) as queries:
        selectors.payer_weekly_denials(customer=claims, payer_ids=[1, 2, 3], until=TODAY)
    plan = _plan(queries.captured_queries[-1]["sql"], None)
    assert "Index Only Scan using claim_payer_decided_cover" in plan, plan


def summary_queryset(customer):
    return PayerSummaryFilter(
        {}, queryset=selectors.payer_list(customer=customer), customer=customer
    ).qs


# -- the portal page ------------------------------------------------------------------------------


def url(name, *args, slug="acme"):
    return reverse(f"claims:{name}", args=[slug, *args])


@pytest.mark.parametrize("page", ["payer-list", "payer-detail"])
def test_pages_by_role(client, claims, alice, analyst, bob, charlie, staff, page):
    args = [payer(claims, "Aetna").pk] if page == "payer-detail" else []
    for user, status in [(alice, 200), (analyst, 200), (bob, 200), (staff, 200), (charlie, 404)]:
        client.force_login(user)
        assert client.get(url(page, *args)).status_code == status, (page, user)
    client.logout()
    response = client.get(url(page, *args))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_customers_payer_is_404(client, claims, globex, bob):
    client.force_login(bob)
    foreign = payer(globex, "Aetna")
    assert client.get(url("payer-detail", foreign.pk)).status_code == 404
    assert client.get(url("payer-detail", 999_999)).status_code == 404


def test_the_table_flags_drifting_payers_and_draws_sparklines(client, claims, bob):
    active_run(claims, payer_name="Humana")
    client.force_login(bob)
    html = client.get(url("payer-list")).content.decode()
    humana = html.split('data-payer="Humana"')[1].split("</tr>")[0]
    aetna = html.split('data-payer="Aetna"')[1].split("</tr>")[0]
    assert "drifting" in humana.split(">")[0] and "⚠ 1 open" in humana
    assert "drifting" not in aetna.split(">")[0]
    assert html.index('data-payer="Humana"') < html.index('data-payer="Aetna"')
    assert '<svg class="sparkline"' in aetna
    assert 'aria-label="denial rate ' in aetna and "% → " in aetna
    assert "60.0%" in aetna and "33.3%" in humana
    assert f'href="{url("payer-detail", payer(claims, "Aetna").pk)}"' in aetna
    assert f'href="{url("payer-list")}"' in html  # the nav link


def test_sorting_and_filters_work_in_place_with_htmx(client, claims, bob):
    client.force_login(bob)
    response = client.get(url("payer-list"), {"sort": "-denial_rate"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="table-region"' in html
    assert html.index('data-payer="Aetna"') < html.index('data-payer="Humana"')
    html = client.get(url("payer-list"), {"sort": "denial_rate"}).content.decode()
    assert "<html" in html and html.index('data-payer="Humana"') < html.index('data-payer="Aetna"')
    html = client.get(url("payer-list"), {"cpt_group": "Radiology"}).content.decode()
    assert 'data-payer="Aetna"' in html and 'data-payer="Humana"' not in html
    html = client.get(url("payer-list"), {"q": "zzz"}).content.decode()
    assert "Nothing matches these filters" in html


def test_payer_page_has_three_charts_with_their_numbers_and_its_events(client, claims, bob):
    run = active_run(claims, payer_name="Aetna")
    client.force_login(bob)
    html = client.get(url("payer-detail", payer(claims, "Aetna").pk)).content.decode()
    for chart_id in ("denial-rate", "decision-time", "denied-dollars"):
        assert f'id="{chart_id}"' in html and f'id="numbers-{chart_id}"' in html
    assert html.count('role="img"') == 3
    week = selectors.week_start(TODAY - timedelta(days=20)).isoformat()
    numbers = html.split('id="numbers-denial-rate"')[1].split("</details>")[0]
    assert f'<td>{week}</td><td class="num">100.0%</td><td class="num">1</td>' in numbers
    dollars = html.split('id="numbers-denied-dollars"')[1].split("</details>")[0]
    assert "$400" in dollars
    events = DriftEvent.objects.filter(run=run)
    for event in events:
        assert f'href="{reverse("drift:event-detail", args=["acme", event.pk])}"' in html


def test_queries_do_not_grow_with_payers_or_claims(client, claims, bob):
    """The table, its sparklines and the filter form: the same number of queries for 2 payers
    and 10 claims as for 30 payers and 2,000 claims."""
    client.force_login(bob)
    client.get(url("payer-list"))  # warm up (session, content types)
    cache.clear()  # the summary's rows and sparklines are cached: measure a computed page
    with CaptureQueriesContext(connection) as small:
        assert client.get(url("payer-list")).status_code == 200
    big = CustomerFactory(slug="big")
    viewer = member(big, "viewer", email="viewer@big.test")
    random_claims(big, claims=2000, payers=30, today=TODAY)
    active_run(big, payer_name="Payer 03", events=3)
    client.force_login(viewer)
    client.get(url("payer-list", slug="big"))
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        html = client.get(url("payer-list", slug="big")).content.decode()
    assert html.count('class="sparkline"') == 25  # a full page of rows
    assert len(large) == len(small), [q["sql"][:120] for q in large]
    # session, user, customer, permissions (one query), role, CPT groups of the form, the rows
    # (count and page from one statement), the sparklines: no query per row (and the cache's
    # own, here in the database as without REDIS_URL)
    own = [q for q in small if "payerwatch_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]]
    assert len(own) <= 10, [q["sql"][:120] for q in own]
    assert _aggregates(large) == 1  # not once more inside SELECT count(*) FROM (…)
    assert _sparkline_queries(large) == 1
    with CaptureQueriesContext(connection) as cached:
        again = client.get(url("payer-list", slug="big")).content.decode()
    assert _aggregates(cached) == 0 and _sparkline_queries(cached) == 0
    assert _table(again) == _table(html)
    html = client.get(url("payer-list", slug="big") + "?page=2").content.decode()
    assert html.count('class="sparkline"') == 5 and "30 rows" in html


def test_the_cached_summary_is_recomputed_when_an_upload_finishes(
    client, bearer, claims, bob, django_capture_on_commit_callbacks
):
    """The rows and sparklines are cached per customer until claims or runs change: a finished
    upload (or run, alias, group — the dashboard's invalidation) shows the new numbers."""
    client.force_login(bob)
    before = client.get(url("payer-list")).content.decode()
    assert "Cigna" not in before
    add_claims(claims, [decided("Cigna", TODAY - timedelta(days=2), 3, D, 80)])
    assert "Cigna" not in client.get(url("payer-list")).content.decode()  # still cached
    with django_capture_on_commit_callbacks(execute=True):
        dashboard.invalidate(claims.pk)  # what a finished upload does on commit
    assert "Cigna" in client.get(url("payer-list")).content.decode()
    body = bearer(bob, claims).get(API).json()
    assert sorted(r["name"] for r in body["results"]) == ["Aetna", "Cigna", "Humana"]


def _table(html: str) -> str:
    return html[html.index("<table") : html.index("</table>")]


def _sparkline_queries(queries) -> int:
    """How many statements computed the sparklines' weekly counts."""
    return sum("DATE_TRUNC" in q["sql"] for q in queries.captured_queries)


def _aggregates(queries) -> int:
    """How many statements computed the payer summary's aggregates."""
    return sum("percentile_cont" in q["sql"] for q in queries.captured_queries)


# -- the API --------------------------------------------------------------------------------------

API = "/api/v1/claims/payer-summary/"


def test_api_returns_the_same_numbers_paginated(bearer, claims, bob):
    active_run(claims, payer_name="Humana")
    response = bearer(bob, claims).get(API)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2 and [r["name"] for r in body["results"]] == ["Humana", "Aetna"]
    aetna = body["results"][1]
    assert aetna["claims"] == 5 and aetna["denied"] == 3
    assert aetna["denial_rate"] == pytest.approx(0.6)
    assert aetna["median_decision_days"] == 6.0 and aetna["mean_decision_days"] == 6.0
    assert aetna["billed_dollars"] == "2000.00" and aetna["denied_dollars"] == "1600.00"
    assert body["results"][0]["open_drift_events"] == 1
    assert len(aetna["trend"]) == 12 and sum(w["decided"] for w in aetna["trend"]) == 5
    response = bearer(bob, claims).get(
        API, {"cpt_group": "E/M", "ordering": "-denial_rate", "page_size": 1}
    )
    body = response.json()
    assert body["count"] == 2 and body["next"] and len(body["results"]) == 1
    assert body["results"][0]["name"] == "Aetna" and body["results"][0]["denial_rate"] == 0.5


def test_api_rejects_a_bad_date_and_stays_in_its_customer(bearer, claims, bob, charlie, globex):
    response = bearer(bob, claims).get(API, {"decided_from": "yesterday"})
    assert response.status_code == 400 and response.json()["type"] == "validation_error"
    body = bearer(charlie, globex).get(API).json()
    assert [(r["name"], r["billed_dollars"]) for r in body["results"]] == [("Aetna", "5000.00")]


def test_api_queries_do_not_grow_with_payers_or_claims(bearer, claims, bob):
    api = bearer(bob, claims)
    api.get(API)
    cache.clear()  # measure a computed summary, not the cached one
    with CaptureQueriesContext(connection) as small:
        assert api.get(API).status_code == 200
    big = CustomerFactory(slug="big")
    viewer = member(big, "viewer", email="viewer@big.test")
    random_claims(big, claims=2000, payers=30, today=TODAY)
    api = bearer(viewer, big)
    api.get(API)
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        body = api.get(API).json()
    assert body["count"] == 30 and len(body["results"]) == 30
    assert len(large) == len(small), [q["sql"][:120] for q in large]
    assert _aggregates(large) == 1 and _sparkline_queries(large) == 1
    with CaptureQueriesContext(connection) as cached:
        assert api.get(API).json() == body
    assert _aggregates(cached) == 0 and _sparkline_queries(cached) == 0
    body = api.get(API, {"page_size": 20, "page": 2}).json()
    assert body["count"] == 30 and len(body["results"]) == 10 and body["next"] is None


def test_payer_page_events_table_pages_in_place(client, claims, bob):
    active_run(claims, payer_name="Aetna", events=3)
    client.force_login(bob)
    target = url("payer-detail", payer(claims, "Aetna").pk)
    html = client.get(target, {"sort": "severity"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and 'id="table-region"' in html and 'id="events-table"' in html
    assert html.count("data-event=") == 4  # three open and one past event of Aetna
    assert "<svg" not in html  # the charts are not re-sent
