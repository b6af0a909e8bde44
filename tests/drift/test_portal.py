"""Portal drift pages (PRODUCT §4, §8): runs (request, live status), events (filters, evidence
with the weekly chart) and the detection settings."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims import generator
from portal.claims import services as claims
from portal.drift import selectors, services
from portal.drift.models import DetectionSettings, DriftEvent, DriftRun, RunStatus

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)
DRIFT_START = AS_OF - timedelta(days=20)
PLANTED = [generator.Drift("Humana", DRIFT_START, denial_rate=0.45)]


def load(customer, tmp_path: Path) -> None:
    spec = generator.ClaimsSpec(rows=16_000, end=AS_OF, days=180, seed=5, drifts=PLANTED)
    path = generator.write_csv(spec, tmp_path / f"{customer.slug}.csv")
    assert claims.ingest_file(customer=customer, raw_path=str(path)).status == "succeeded"


@pytest.fixture
def drifting(acme, tmp_path):
    """Acme's claims with a planted denial-rate drift at Humana, and one detection run."""
    load(acme, tmp_path)
    run = services.detect_now(customer=acme, as_of=AS_OF)
    assert run.status == RunStatus.SUCCEEDED
    return run


def humana_denials(run) -> DriftEvent:
    return DriftEvent.objects.get(
        run=run, payer__name="Humana", cpt_group="ALL", drift_type="denial_rate"
    )


def url(name, *args, slug="acme"):
    return reverse(f"drift:{name}", args=[slug, *args])


def queued_run(customer) -> DriftRun:
    return services.run_create(customer=customer, as_of=AS_OF, trigger="api")


# -- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["event-list", "run-list", "settings"])
def test_pages_by_role(client, acme, alice, analyst, bob, charlie, page):
    expected = {"alice": 200, "analyst": 200, "bob": 200, "charlie": 404}
    if page == "settings":
        expected.update(analyst=403, bob=403)
    for user, status in [
        (alice, "alice"),
        (analyst, "analyst"),
        (bob, "bob"),
        (charlie, "charlie"),
    ]:
        client.force_login(user)
        assert client.get(url(page)).status_code == expected[status], (page, status)
    client.logout()
    response = client.get(url(page))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_detail_pages_by_role(client, acme, alice, bob, charlie, globex):
    run = queued_run(acme)
    for user, status in [(alice, 200), (bob, 200), (charlie, 404)]:
        client.force_login(user)
        assert client.get(url("run-detail", run.pk)).status_code == status
        assert client.get(url("run-status", run.pk)).status_code == status
    client.force_login(charlie)  # globex's own page does not show acme's run
    assert client.get(url("run-detail", run.pk, slug="globex")).status_code == 404
    client.logout()
    assert client.get(url("run-detail", run.pk)).status_code == 302


def test_viewer_cannot_request_a_run(client, acme, bob):
    client.force_login(bob)
    page = client.get(url("run-list")).content.decode()
    assert 'id="run-form"' not in page
    assert client.post(url("run-list"), {}).status_code == 403
    assert not DriftRun.objects.filter(customer=acme).exists()


def test_charlie_cannot_request_a_run_at_acme(client, acme, charlie):
    client.force_login(charlie)
    assert client.post(url("run-list"), {}).status_code == 404
    assert not DriftRun.objects.exists()


def test_nav_links_to_drift_and_runs(client, acme, bob):
    client.force_login(bob)
    page = client.get(reverse("claims:claim-list", args=["acme"])).content.decode()
    assert f'href="{url("event-list")}"' in page and f'href="{url("run-list")}"' in page


# -- runs -----------------------------------------------------------------------------------------


def test_analyst_runs_detection_through_the_form(
    client, acme, analyst, tmp_path, django_capture_on_commit_callbacks
):
    load(acme, tmp_path)
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("run-list"), {"as_of": AS_OF.isoformat()})
    run = DriftRun.objects.get(customer=acme)
    assert response.status_code == 302
    assert response["Location"] == url("run-detail", run.pk)
    assert (run.status, run.trigger, run.as_of, run.requested_by) == (
        RunStatus.SUCCEEDED, "portal", AS_OF, analyst,
    )  # fmt: skip
    assert run.events_created > 0
    page = client.get(response["Location"]).content.decode()
    assert "Succeeded" in page and "every 1s" not in page and 'id="run-events"' in page
    table = client.get(url("run-list")).context["table"]
    assert [row.record.pk for row in table.page.object_list] == [run.pk]


def test_a_bad_as_of_is_a_form_error(client, acme, alice):
    client.force_login(alice)
    response = client.post(url("run-list"), {"as_of": "not a date"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
    assert not DriftRun.objects.exists()


def test_run_status_polls_while_queued_and_stops_when_finished(client, acme, bob):
    run = queued_run(acme)
    client.force_login(bob)
    fragment = client.get(url("run-status", run.pk)).content.decode()
    assert "every 1s" in fragment and "Queued" in fragment and "<html" not in fragment
    assert "every 1s" in client.get(url("run-detail", run.pk)).content.decode()
    DriftRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="boom")
    fragment = client.get(url("run-status", run.pk)).content.decode()
    assert "every 1s" not in fragment and "Failed" in fragment and "boom" in fragment


def test_runs_filter_by_status(client, acme, bob):
    queued = queued_run(acme)
    failed = queued_run(acme)
    DriftRun.objects.filter(pk=failed.pk).update(status=RunStatus.FAILED)
    client.force_login(bob)
    table = client.get(url("run-list"), {"status": "queued"}).context["table"]
    assert [row.record.pk for row in table.page.object_list] == [queued.pk]


# -- events ---------------------------------------------------------------------------------------


def test_events_list_filters_and_sorts(client, acme, bob, drifting):
    client.force_login(bob)
    table = client.get(url("event-list")).context["table"]
    severities = [row.record.severity for row in table.page.object_list]
    assert severities and severities == sorted(severities, reverse=True)
    event = humana_denials(drifting)
    response = client.get(url("event-list"), {"payer": event.payer_id, "drift_type": "denial_rate"})
    records = [row.record for row in response.context["table"].page.object_list]
    assert event in records and {r.payer_id for r in records} == {event.payer_id}
    assert {r.drift_type for r in records} == {"denial_rate"}
    table = client.get(url("event-list"), {"sort": "-revenue_impact"}).context["table"]
    impacts = [row.record.revenue_impact for row in table.page.object_list]
    assert impacts == sorted(impacts, reverse=True)
    page = client.get(url("event-list"), {"min_severity": "1.01"}).content.decode()
    assert "Nothing matches these filters" in page
    partial = client.get(url("event-list"), headers={"HX-Request": "true"}).content.decode()
    assert 'id="table-region"' in partial and "<html" not in partial


def test_events_list_says_nothing_yet_before_a_run(client, acme, bob):
    client.force_login(bob)
    page = client.get(url("event-list")).content.decode()
    assert "No drift found yet" in page


def test_event_payer_filter_offers_only_the_customers_payers(client, acme, globex, bob):
    from portal.claims.models import Payer

    Payer.objects.create(customer=globex, name="Secret Payer", key="secret payer")
    client.force_login(bob)
    assert "Secret Payer" not in client.get(url("event-list")).content.decode()


def test_event_detail_shows_the_evidence_and_the_chart(client, acme, bob, charlie, drifting):
    event = humana_denials(drifting)
    client.force_login(bob)
    response = client.get(url("event-detail", event.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in page and "<title" in page and "<desc" in page and "<polyline" in page
    assert 'class="window window-baseline"' in page and 'class="window window-current"' in page
    assert (
        f"{event.baseline_value * 100:.1f}%" in page and f"{event.current_value * 100:.1f}%" in page
    )
    assert event.test in page and f"n = {event.current_n}" in page
    assert 'id="series-table"' in page
    claims_link = response.context["claims_url"]
    assert f"payer={event.payer_id}" in claims_link
    assert f"decided_from={event.baseline_start.isoformat()}" in claims_link
    assert "cpt_group" not in claims_link  # ALL: every group of the payer
    assert client.get(claims_link).status_code == 200
    client.force_login(charlie)
    assert client.get(url("event-detail", event.pk)).status_code == 404


def test_weekly_series_rises_after_the_drift_date(drifting):
    event = humana_denials(drifting)
    series = selectors.event_weekly_series(event=event)
    assert series[0][0] <= event.baseline_start < series[0][0] + timedelta(days=7)
    assert all(week.weekday() == 0 for week, _ in series)
    before = [v for week, v in series if week + timedelta(days=6) < DRIFT_START and v is not None]
    after = [v for week, v in series if week > DRIFT_START + timedelta(days=7) and v is not None]
    assert before and after
    assert min(after) > max(before)
    # before the drift the weeks hover around the baseline value the detector found
    assert sum(before) / len(before) == pytest.approx(event.baseline_value, abs=0.05)


def test_active_events_are_those_of_the_latest_window(acme, drifting):
    assert set(selectors.active_events(customer=acme)) == set(
        DriftEvent.objects.filter(run=drifting)
    )
    services.detect_now(customer=acme, as_of=AS_OF - timedelta(days=30))  # an older window, later
    latest = DriftRun.objects.filter(customer=acme).first()
    assert set(selectors.active_events(customer=acme)) == set(DriftEvent.objects.filter(run=latest))


# -- settings -------------------------------------------------------------------------------------


def test_admin_saves_detection_settings(client, acme, alice):
    client.force_login(alice)
    page = client.get(url("settings")).content.decode()
    assert 'value="14"' in page and 'value="90"' in page
    response = client.post(
        url("settings"), {"current_days": 21, "baseline_days": 120, "min_volume": 40}
    )
    assert response.status_code == 302
    stored = DetectionSettings.objects.get(customer=acme)
    assert (stored.current_days, stored.baseline_days, stored.min_volume) == (21, 120, 40)
    audit = AuditEvent.objects.get(action=Action.DETECTION_SETTINGS_SAVED)
    assert audit.customer == acme and audit.data["current_days"] == 21
    assert services.settings_for(acme).current_days == 21


def test_settings_out_of_range_are_form_errors(client, acme, alice):
    client.force_login(alice)
    response = client.post(
        url("settings"), {"current_days": 3, "baseline_days": 1000, "min_volume": 1}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count('class="error"') == 3
    stored = DetectionSettings.objects.get(customer=acme)
    assert (stored.current_days, stored.baseline_days, stored.min_volume) == (14, 90, 30)
    assert not AuditEvent.objects.filter(action=Action.DETECTION_SETTINGS_SAVED).exists()


def test_viewer_cannot_save_settings(client, acme, bob):
    client.force_login(bob)
    response = client.post(
        url("settings"), {"current_days": 21, "baseline_days": 120, "min_volume": 40}
    )
    assert response.status_code == 403
    assert not DetectionSettings.objects.filter(current_days=21).exists()
