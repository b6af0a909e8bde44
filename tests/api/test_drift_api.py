"""The drift resources: trigger and follow runs, read events, what is active, the polling feed
(PRODUCT §4, §9)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims.models import Payer
from portal.drift.models import DriftEvent, DriftRun, RunStatus
from tests.api.test_auth import assert_error

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/drift-runs/"
EVENTS = "/api/v1/drift-events/"
END = date(2026, 11, 15)


def payer(customer, name):
    return Payer.objects.get_or_create(
        customer=customer, key=name.lower(), defaults={"name": name}
    )[0]


def make_run(customer, *, end=END, status=RunStatus.SUCCEEDED, **fields):
    return DriftRun.objects.create(
        customer=customer,
        as_of=end,
        trigger="command",
        status=status,
        baseline_start=end - timedelta(days=103),
        baseline_end=end - timedelta(days=14),
        current_start=end - timedelta(days=13),
        current_end=end,
        **fields,
    )


def make_event(customer, *, run=None, payer_name="Aetna", cpt_group="ALL", end=END, **fields):
    values = {
        "drift_type": "denial_rate",
        "baseline_value": 0.1,
        "current_value": 0.3,
        "delta": 0.2,
        "relative_delta": 2.0,
        "baseline_n": 900,
        "current_n": 120,
        "p_value": 1e-6,
        "q_value": 1e-5,
        "test": "two-proportion z",
        "direction": "worsening",
        "severity": 0.7,
        "label": "high",
        "revenue_impact": Decimal("1234.50"),
        **fields,
    }
    return DriftEvent.objects.create(
        customer=customer,
        run=run,
        payer=payer(customer, payer_name),
        cpt_group=cpt_group,
        baseline_start=end - timedelta(days=103),
        baseline_end=end - timedelta(days=14),
        current_start=end - timedelta(days=13),
        current_end=end,
        **values,
    )


@pytest.fixture
def _no_throttle_state():
    cache.clear()
    yield
    cache.clear()


# -- POST /drift-runs/ ----------------------------------------------------------------------------


@pytest.mark.usefixtures("_no_throttle_state")
def test_run_answers_202_with_a_status_url_and_then_succeeds(
    bearer, acme, analyst, django_capture_on_commit_callbacks
):
    client = bearer(analyst, acme, "write")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUNS, {"as_of": "2026-11-20"})

    assert response.status_code == 202, response.content
    body = response.json()
    run = DriftRun.objects.get(customer=acme)
    status_url = f"http://testserver/api/v1/drift-runs/{run.pk}/"
    assert body["status_url"] == response["Location"] == status_url
    assert (body["status"], body["trigger"], body["as_of"]) == ("queued", "api", "2026-11-20")
    assert body["requested_by"] == "ana@acme.test"

    finished = client.get(status_url).json()
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["windows"]["current_end"] is not None
    assert set(finished["counts"]) == {
        "segments_total",
        "segments_examined",
        "tests_run",
        "events_created",
        "events_updated",
    }
    assert finished["started_at"] and finished["finished_at"] and finished["seconds"] >= 0
    requested = AuditEvent.objects.get(action=Action.DRIFT_RUN_REQUESTED)
    assert requested.actor == analyst and requested.data["trigger"] == "api"


@pytest.mark.usefixtures("_no_throttle_state")
def test_run_without_a_body_is_as_of_today(bearer, acme, alice):
    response = bearer(alice, acme, "write").post(RUNS)
    assert response.status_code == 202, response.content
    assert response.json()["as_of"] == timezone.localdate().isoformat()


@pytest.mark.usefixtures("_no_throttle_state")
@pytest.mark.parametrize("as_of", ["2999-01-01", "1999-12-31", "not a date"])
def test_a_bad_as_of_is_a_400_on_the_field(bearer, acme, alice, as_of):
    body = assert_error(bearer(alice, acme, "write").post(RUNS, {"as_of": as_of}), 400)
    assert body["errors"][0]["attr"] == "as_of"
    assert not DriftRun.objects.exists()


def test_read_token_cannot_start_a_run(bearer, acme, alice):
    body = assert_error(bearer(alice, acme, "read").post(RUNS), 403, "permission_denied")
    assert "read scope" in body["errors"][0]["detail"]
    assert not DriftRun.objects.exists()


def test_viewer_cannot_start_a_run(api, acme, bob):
    api.force_login(bob)
    assert_error(api.post(RUNS), 403, "permission_denied")
    assert not DriftRun.objects.exists()


@pytest.mark.usefixtures("_no_throttle_state")
def test_run_triggers_are_throttled_with_retry_after(bearer, acme, alice, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "drift_runs": "2/hour",
        },
    }
    client = bearer(alice, acme, "write")
    assert [client.post(RUNS).status_code for _ in range(2)] == [202, 202]
    response = client.post(RUNS)
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert DriftRun.objects.count() == 2
    assert client.get(RUNS).status_code == 200  # reads are not throttled by it


# -- GET /drift-runs/ -----------------------------------------------------------------------------


def test_runs_list_newest_first_and_filter_by_status(bearer, acme, bob):
    old = make_run(acme)
    failed = make_run(acme, status=RunStatus.FAILED, error="RuntimeError: boom")
    client = bearer(bob, acme)
    body = client.get(RUNS).json()
    assert body["count"] == 2 and [r["id"] for r in body["results"]] == [failed.pk, old.pk]
    only = client.get(RUNS, {"status": "failed"}).json()["results"]
    assert [(r["id"], r["error"]) for r in only] == [(failed.pk, "RuntimeError: boom")]
    assert_error(client.get(RUNS, {"status": "nope"}), 400, "invalid_choice")


# -- GET /drift-events/ ---------------------------------------------------------------------------


def test_event_has_every_field_of_the_spec(bearer, acme, bob):
    run = make_run(acme)
    event = make_event(acme, run=run, details={"cpts": ["99213"]})
    body = bearer(bob, acme).get(f"{EVENTS}{event.pk}/").json()
    assert body == {
        "id": event.pk,
        "run_id": run.pk,
        "drift_type": "denial_rate",
        "payer": "Aetna",
        "payer_id": event.payer_id,
        "cpt_group": "ALL",
        "direction": "worsening",
        "baseline_value": 0.1,
        "current_value": 0.3,
        "delta": 0.2,
        "relative_delta": 2.0,
        "baseline_n": 900,
        "current_n": 120,
        "p_value": 1e-6,
        "q_value": 1e-5,
        "test": "two-proportion z",
        "severity": 0.7,
        "label": "high",
        "revenue_impact": "1234.50",
        "reason_code": "",
        "windows": {
            "baseline_start": "2026-08-04",
            "baseline_end": "2026-11-01",
            "current_start": "2026-11-02",
            "current_end": "2026-11-15",
        },
        "details": {"cpts": ["99213"]},
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_events_filter_and_order(bearer, acme, bob):
    humana = make_event(acme, payer_name="Humana", severity=0.9, revenue_impact=Decimal("10"))
    cigna = make_event(
        acme,
        payer_name="Cigna",
        drift_type="decision_time",
        direction="improving",
        severity=0.3,
        label="low",
        revenue_impact=Decimal("-500"),
    )
    older = make_event(acme, payer_name="Humana", end=END - timedelta(days=7), severity=0.95)
    client = bearer(bob, acme)

    def ids(**params):
        return [e["id"] for e in client.get(EVENTS, params).json()["results"]]

    assert ids() == [humana.pk, cigna.pk, older.pk]  # latest window, most severe first
    assert ids(drift_type="decision_time") == [cigna.pk]
    assert ids(direction="worsening", payer=humana.payer_id) == [humana.pk, older.pk]
    assert ids(min_severity="0.8") == [humana.pk, older.pk]
    assert ids(search="cig") == [cigna.pk]
    assert ids(ordering="revenue_impact") == [cigna.pk, humana.pk, older.pk]
    assert ids(ordering="-severity") == [older.pk, humana.pk, cigna.pk]
    assert ids(ordering="current_end,-severity") == [older.pk, humana.pk, cigna.pk]
    assert_error(client.get(EVENTS, {"drift_type": "vibes"}), 400, "invalid_choice")


def test_page_size_is_capped_at_200(bearer, acme, bob):
    base = make_event(acme)
    DriftEvent.objects.bulk_create(
        DriftEvent(
            **{
                f.attname: getattr(base, f.attname)
                for f in DriftEvent._meta.concrete_fields
                if f.attname not in {"id", "cpt_group"}
            },
            cpt_group=f"G{i:03}",
        )
        for i in range(204)
    )
    body = bearer(bob, acme).get(EVENTS, {"page_size": 500}).json()
    assert body["count"] == 205 and len(body["results"]) == 200


def test_active_is_the_current_window_of_the_latest_succeeded_run(bearer, acme, bob):
    client = bearer(bob, acme)
    assert client.get(f"{EVENTS}active/").json()["count"] == 0  # no run yet

    earlier = make_run(acme, end=END - timedelta(days=7))
    make_event(acme, run=earlier, end=END - timedelta(days=7))
    latest = make_run(acme)
    now = [make_event(acme, run=latest, payer_name=name) for name in ("Aetna", "Cigna")]
    make_run(acme, end=END + timedelta(days=7), status=RunStatus.FAILED)  # ignored

    body = client.get(f"{EVENTS}active/", {"page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    assert {e["id"] for e in client.get(f"{EVENTS}active/").json()["results"]} == {
        e.pk for e in now
    }
    assert client.get(f"{EVENTS}active/", {"payer": now[1].payer_id}).json()["count"] == 1


def test_feed_pages_by_cursor_newest_write_first_without_overlap(bearer, acme, bob):
    events = [make_event(acme, cpt_group=f"G{i}") for i in range(5)]
    DriftEvent.objects.filter(pk__in=[e.pk for e in events]).update(updated_at=timezone.now())
    client = bearer(bob, acme)

    first = client.get(f"{EVENTS}feed/", {"page_size": 2}).json()
    assert set(first) == {"next", "previous", "results"} and first["previous"] is None
    seen = [e["id"] for e in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(e.pk for e in events) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # same write time: the newest id first

    # a re-run that updates the oldest event brings it back to the top of the feed
    oldest = DriftEvent.objects.get(pk=min(seen))
    oldest.severity = 0.99
    oldest.save()
    assert client.get(f"{EVENTS}feed/").json()["results"][0]["id"] == oldest.pk
    assert_error(client.get(f"{EVENTS}feed/", {"cursor": "garbage"}), 404, "not_found")


def test_queries_do_not_grow_with_page_size(bearer, acme, bob, django_assert_max_num_queries):
    run = make_run(acme)
    for i in range(30):
        make_event(acme, run=run, payer_name=f"Payer {i % 7}", cpt_group=f"G{i}")
    client = bearer(bob, acme)
    client.get(EVENTS)  # the token's last-used time is written once a minute: not in the count
    for url in (EVENTS, f"{EVENTS}active/", f"{EVENTS}feed/", RUNS):
        with django_assert_max_num_queries(20) as small:
            assert client.get(url, {"page_size": 2}).status_code == 200
        with django_assert_max_num_queries(20) as large:
            assert client.get(url, {"page_size": 200}).status_code == 200
        assert len(large.captured_queries) == len(small.captured_queries), url


# -- tenancy --------------------------------------------------------------------------------------


def test_charlie_gets_404_on_acmes_runs_and_events(bearer, acme, globex, charlie):
    run = make_run(acme)
    event = make_event(acme, run=run)
    client = bearer(charlie, globex)
    assert_error(client.get(f"{RUNS}{run.pk}/"), 404, "not_found")
    assert_error(client.get(f"{EVENTS}{event.pk}/"), 404, "not_found")
    assert client.get(RUNS).json()["count"] == 0
    assert client.get(EVENTS).json()["count"] == 0
    assert client.get(f"{EVENTS}active/").json()["count"] == 0
    assert client.get(f"{EVENTS}feed/").json()["results"] == []
    # Acme's payer id is not a valid filter at Globex
    assert_error(client.get(EVENTS, {"payer": event.payer_id}), 400, "invalid_choice")
