"""The reports resource: list (paginated), trigger (202), follow, download (PRODUCT §7, §9)."""

import io

import pytest
from pypdf import PdfReader

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.reports.models import Report, ReportKind
from tests.api.test_auth import assert_error
from tests.reports.conftest import PERIOD_END

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_throttles")]

REPORTS = "/api/v1/reports/"


def generate(client, body, callbacks):
    with callbacks(execute=True):
        response = client.post(REPORTS, body, format="json")
    assert response.status_code == 202, response.content
    return response


def test_create_answers_202_with_a_status_url_then_the_report_with_files(
    bearer, acme, analyst, week_events, django_capture_on_commit_callbacks
):
    client = bearer(analyst, acme, "write")
    body = {"kind": "weekly_summary", "period_end": PERIOD_END.isoformat()}
    response = generate(client, body, django_capture_on_commit_callbacks)
    report = Report.objects.get(customer=acme)
    created = response.json()
    assert created["status_url"] == response["Location"]
    assert created["status_url"] == f"http://testserver/api/v1/reports/{report.pk}/"
    assert (created["status"], created["kind"], created["trigger"]) == (
        "queued", "weekly_summary", "api",
    )  # fmt: skip
    assert created["requested_by"] == "ana@acme.test"

    detail = client.get(created["status_url"]).json()
    assert detail["status"] == "succeeded", detail["error"]
    assert detail["period_start"] == "2026-11-20" and detail["period_end"] == "2026-11-26"
    assert detail["progress"]["percent"] == 100 and detail["row_count"] == 4
    assert [f["format"] for f in detail["files"]] == ["csv", "pdf", "xlsx"]
    requested = AuditEvent.objects.get(action=Action.REPORT_REQUESTED)
    assert requested.actor == analyst and requested.data["trigger"] == "api"


def test_download_answers_the_bytes_with_the_content_type_and_is_audited(
    bearer, acme, analyst, bob, week_events, django_capture_on_commit_callbacks
):
    body = {"kind": "weekly_summary", "period_end": PERIOD_END.isoformat()}
    generate(bearer(analyst, acme, "write"), body, django_capture_on_commit_callbacks)
    report = Report.objects.get()
    reader = bearer(bob, acme, "read")  # a viewer reads and downloads
    files = {f["format"]: f for f in reader.get(f"{REPORTS}{report.pk}/").json()["files"]}
    expected = {
        "pdf": "application/pdf",
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    for fmt, content_type in expected.items():
        url = files[fmt]["download_url"]
        assert url == f"http://testserver/api/v1/reports/{report.pk}/download/{fmt}/"
        response = reader.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert files[fmt]["file_name"] in response["Content-Disposition"]
        data = b"".join(response.streaming_content)
        with report.files.get(format=fmt).file.open("rb") as stored:
            assert data == stored.read()
        assert len(data) == files[fmt]["size_bytes"]
    pdf = b"".join(reader.get(files["pdf"]["download_url"]).streaming_content)
    assert "Weekly drift summary" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    downloads = AuditEvent.objects.filter(action=Action.REPORT_DOWNLOADED, actor=bob)
    assert sorted(d.data["format"] for d in downloads) == ["csv", "pdf", "pdf", "xlsx"]


def test_an_export_keeps_its_filters_and_a_missing_format_is_404(
    bearer, acme, alice, week_events, django_capture_on_commit_callbacks
):
    client = bearer(alice, acme, "write")
    body = {"kind": "drift_events_export", "filters": {"direction": "improving"}}
    created = generate(client, body, django_capture_on_commit_callbacks).json()
    detail = client.get(created["status_url"]).json()
    assert detail["filters"] == {"direction": "improving"} and detail["row_count"] == 1
    assert_error(client.get(f"{REPORTS}{created['id']}/download/pdf/"), 404, "not_found")
    response = client.get(f"{REPORTS}{created['id']}/download/csv/")
    assert b"Medicaid" in b"".join(response.streaming_content)


def test_list_is_paginated_and_filters_by_kind(bearer, acme, alice, week_events):
    from portal.reports import services

    for kind in ["weekly_summary", "drift_events_export", "drift_events_export"]:
        services.report_request(customer=acme, actor=alice, kind=kind)
    client = bearer(alice, acme, "read")
    page = client.get(REPORTS, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    exports = client.get(REPORTS, {"kind": "drift_events_export"}).json()
    assert exports["count"] == 2
    assert {r["kind"] for r in exports["results"]} == {"drift_events_export"}


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"kind": "nonsense"}, "kind"),
        ({"kind": "claims_export", "filters": {"colour": "red"}}, "filters"),
        ({"kind": "claims_export", "filters": {"outcome": "MAYBE"}}, "filters"),
        ({"kind": "claims_export", "filters": {"outcome": ["PAID", "DENIED"]}}, "filters"),
        ({"kind": "claims_export", "filters": {"q": "x" * 201}}, "filters"),
        ({"kind": "claims_export", "filters": {"q": "a\u0000b"}}, "filters"),
        ({"kind": "claims_export", "filters": {"q": None, "colour": None}}, "filters"),
        ({"kind": "weekly_summary", "period_end": "2999-01-01"}, "period_end"),
    ],
)
def test_a_bad_request_is_a_400_on_the_field(bearer, acme, alice, body, attr):
    response = bearer(alice, acme, "write").post(REPORTS, body, format="json")
    error = assert_error(response, 400)
    assert error["errors"][0]["attr"].split(".")[0] == attr
    assert not Report.objects.exists()


def test_viewer_and_read_token_cannot_generate(api, bearer, acme, alice, bob):
    assert_error(bearer(alice, acme, "read").post(REPORTS, {"kind": "weekly_summary"}), 403)
    api.credentials()
    api.force_login(bob)
    assert_error(api.post(REPORTS, {"kind": "weekly_summary"}, format="json"), 403)
    assert not Report.objects.exists()


def test_charlie_gets_404_for_acme_reports_and_downloads(
    bearer, acme, alice, charlie, globex, week_events
):
    from portal.reports import services, tasks

    report = services.report_request(customer=acme, actor=alice, kind=ReportKind.WEEKLY_SUMMARY)
    tasks.generate(report.pk)
    client = bearer(charlie, globex, "write")
    assert client.get(REPORTS).json()["count"] == 0
    assert_error(client.get(f"{REPORTS}{report.pk}/"), 404, "not_found")
    assert_error(client.get(f"{REPORTS}{report.pk}/download/pdf/"), 404, "not_found")
    assert not AuditEvent.objects.filter(action=Action.REPORT_DOWNLOADED).exists()


def test_on_demand_reports_are_throttled_with_retry_after(bearer, acme, alice, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "reports": "1/hour",
        },
    }  # fmt: skip
    client = bearer(alice, acme, "write")
    assert client.post(REPORTS, {"kind": "weekly_summary"}, format="json").status_code == 202
    response = client.post(REPORTS, {"kind": "weekly_summary"}, format="json")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert Report.objects.count() == 1
