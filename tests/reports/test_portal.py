"""Portal pages of the reports app (PRODUCT §7, §8): the reports table, generating the weekly
summary, live progress, downloads, exports from the claims and drift tables, report settings."""

import pytest
from django.urls import reverse

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.reports import services, tasks
from portal.reports.models import Report, ReportKind, ReportSettings, ReportStatus
from tests.reports.conftest import PERIOD_END

pytestmark = pytest.mark.django_db


def url(name, *args, slug="acme"):
    return reverse(f"reports:{name}", args=[slug, *args])


def finished_summary(customer, actor):
    report = services.report_request(
        customer=customer, actor=actor, kind=ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END
    )
    tasks.generate(report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    return report


# -- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["report-list", "settings"])
def test_pages_by_role(client, acme, alice, analyst, bob, charlie, page):
    expected = {"alice": 200, "analyst": 200, "bob": 200, "charlie": 404}
    if page == "settings":
        expected.update(analyst=403, bob=403)
    for user, name in [(alice, "alice"), (analyst, "analyst"), (bob, "bob"), (charlie, "charlie")]:
        client.force_login(user)
        assert client.get(url(page)).status_code == expected[name], (page, name)
    client.logout()
    assert client.get(url(page)).status_code == 302


def test_report_pages_and_downloads_by_role(client, acme, alice, bob, charlie, week_events):
    report = finished_summary(acme, alice)
    for user, status in [(alice, 200), (bob, 200), (charlie, 404)]:
        client.force_login(user)
        assert client.get(url("report-detail", report.pk)).status_code == status
        assert client.get(url("report-status", report.pk)).status_code == status
        assert client.get(url("report-download", report.pk, "pdf")).status_code == status
    client.force_login(charlie)  # globex's own URL does not reach acme's report either
    assert client.get(url("report-detail", report.pk, slug="globex")).status_code == 404
    assert client.get(url("report-download", report.pk, "pdf", slug="globex")).status_code == 404
    downloads = AuditEvent.objects.filter(action=Action.REPORT_DOWNLOADED)
    assert sorted(d.actor.email for d in downloads) == ["alice@acme.test", "bob@acme.test"]


def test_main_nav_links_to_reports(client, acme, bob):
    client.force_login(bob)
    page = client.get(reverse("claims:claim-list", args=["acme"])).content.decode()
    nav = page[page.index('<nav class="mainnav"') : page.index('id="settings-menu"')]
    assert f'href="{url("report-list")}">Reports</a>' in nav


# -- the weekly summary ---------------------------------------------------------------------------


def test_analyst_generates_the_weekly_summary_and_downloads_it(
    client, acme, analyst, week_events, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    page = client.get(url("report-list")).content.decode()
    assert "Generate weekly summary now" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("report-list"), {"period_end": PERIOD_END.isoformat()})
    report = Report.objects.get(customer=acme)
    assert response.status_code == 302
    assert response["Location"] == url("report-detail", report.pk)
    assert (report.kind, report.trigger, report.requested_by) == (
        "weekly_summary", "portal", analyst,
    )  # fmt: skip
    detail = client.get(response["Location"]).content.decode()
    assert "Succeeded" in detail and 'id="download-pdf"' in detail
    download = client.get(url("report-download", report.pk, "pdf"))
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    audit = AuditEvent.objects.get(action=Action.REPORT_DOWNLOADED)
    assert audit.actor == analyst and audit.data["format"] == "pdf"


def test_viewer_sees_no_generate_form_and_cannot_post(client, acme, bob):
    client.force_login(bob)
    page = client.get(url("report-list")).content.decode()
    assert 'id="summary-form"' not in page
    assert client.post(url("report-list"), {}).status_code == 403
    assert client.post(url("export") + "?table=claims").status_code == 403
    assert not Report.objects.exists()


def test_charlie_cannot_generate_at_acme(client, acme, charlie):
    client.force_login(charlie)
    assert client.post(url("report-list"), {}).status_code == 404
    assert client.post(url("export") + "?table=claims").status_code == 404
    assert not Report.objects.exists()


def test_a_queued_report_polls_its_progress_and_the_finished_one_stops(client, acme, alice):
    report = services.report_request(customer=acme, actor=alice, kind=ReportKind.WEEKLY_SUMMARY)
    client.force_login(alice)
    page = client.get(url("report-detail", report.pk)).content.decode()
    assert f'hx-get="{url("report-status", report.pk)}"' in page
    assert "Waiting for a worker" in page
    Report.objects.filter(pk=report.pk).update(status="running", rows_done=30, rows_total=120)
    fragment = client.get(url("report-status", report.pk)).content.decode()
    assert 'value="25"' in fragment and "30 of 120 rows" in fragment
    assert 'hx-trigger="every 1s"' in fragment
    # the table polls too while a report of the page is unfinished
    table = client.get(url("report-list")).content.decode()
    assert 'id="reports-poller" hx-get=' in table and "25%" in table
    tasks.generate(report.pk)  # it was running, so the task leaves it alone
    Report.objects.filter(pk=report.pk).update(status="queued")
    tasks.generate(report.pk)
    fragment = client.get(url("report-status", report.pk)).content.decode()
    assert "Succeeded" in fragment and "hx-trigger" not in fragment
    table = client.get(url("report-list"), HTTP_HX_REQUEST="true").content.decode()
    assert '<span id="reports-poller" hx-swap-oob="true"></span>' in table


def test_too_many_requests_show_a_friendly_error(client, acme, analyst, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "reports": "1/hour",
        },
    }  # fmt: skip
    client.force_login(analyst)
    assert client.post(url("report-list"), {}).status_code == 302
    response = client.post(url("report-list"), {})
    assert response.status_code == 429
    assert "Please try again in about" in response.content.decode()
    assert Report.objects.count() == 1


def test_a_failed_report_shows_its_error(client, acme, alice):
    report = services.report_request(customer=acme, actor=alice, kind=ReportKind.WEEKLY_SUMMARY)
    Report.objects.filter(pk=report.pk).update(status="failed", error="RuntimeError: boom")
    client.force_login(alice)
    page = client.get(url("report-detail", report.pk)).content.decode()
    assert "RuntimeError: boom" in page and "download-pdf" not in page
    assert client.get(url("report-download", report.pk, "pdf")).status_code == 404


# -- exports from the tables ----------------------------------------------------------------------


def test_claims_page_offers_both_exports_with_the_filters(client, acme, analyst, bob):
    client.force_login(analyst)
    page = client.get(reverse("claims:claim-list", args=["acme"]), {"outcome": "DENIED"})
    html = page.content.decode()
    assert 'id="export-link"' in html  # the direct CSV stays
    assert f'action="{url("export")}?outcome=DENIED&amp;table=claims"' in html
    client.force_login(bob)  # viewers have no report export
    html = client.get(reverse("claims:claim-list", args=["acme"])).content.decode()
    assert "Export CSV / XLSX" not in html and 'id="export-link"' in html


def test_drift_page_export_creates_a_filtered_export(
    client, acme, analyst, week_events, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    html = client.get(reverse("drift:event-list", args=["acme"]), {"direction": "improving"})
    action = f"{url('export')}?direction=improving&amp;table=drift_events"
    assert f'action="{action}"' in html.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action.replace("&amp;", "&"))
    report = Report.objects.get()
    assert response["Location"] == url("report-detail", report.pk)
    assert report.kind == "drift_events_export" and report.filters == {"direction": "improving"}
    assert report.status == "succeeded" and report.row_count == 1


def test_the_htmx_table_swaps_the_export_form_with_the_filters(client, acme, analyst):
    client.force_login(analyst)
    html = client.get(
        reverse("drift:event-list", args=["acme"]), {"label": "high"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="report-export"' in html and 'hx-swap-oob="true"' in html
    assert "label=high&amp;table=drift_events" in html


def test_the_alerts_export_link_asks_then_exports(
    client, acme, analyst, acme_alerts, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    link = url("export") + "?table=alerts&status=open"
    page = client.get(link).content.decode()
    assert "Export alerts" in page and "status=open" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link)
    report = Report.objects.get()
    assert response.status_code == 302 and report.kind == "alerts_export"
    assert report.row_count == 2  # the two open alerts


def test_an_invalid_export_filter_is_explained(client, acme, analyst):
    client.force_login(analyst)
    response = client.post(url("export") + "?table=claims&outcome=MAYBE")
    assert response.status_code == 400
    assert "Invalid filters" in response.content.decode()
    assert client.get(url("export") + "?table=nope").status_code == 404
    assert not Report.objects.exists()


# -- settings and e-mail --------------------------------------------------------------------------


def test_admin_saves_report_settings(client, acme, alice):
    client.force_login(alice)
    response = client.post(
        url("settings"),
        {
            "weekly_enabled": "on", "weekday": "4", "email_pdf": "on",
            "recipients": "CFO@acme.test, rcm@acme.test\nrcm@acme.test",
        },
    )  # fmt: skip
    assert response.status_code == 302
    stored = ReportSettings.objects.get(customer=acme)
    assert (stored.weekly_enabled, stored.weekday, stored.email_pdf) == (True, 4, True)
    assert stored.recipients == ["cfo@acme.test", "rcm@acme.test"]
    audit = AuditEvent.objects.get(action=Action.REPORT_SETTINGS_SAVED)
    assert audit.actor == alice and audit.data["recipients"] == 2


@pytest.mark.parametrize(
    ("recipients", "email_pdf", "error"),
    [("not-an-address", "", "is not an e-mail address"), ("", "on", "at least one recipient")],
)
def test_bad_settings_are_form_errors(client, acme, alice, recipients, email_pdf, error):
    client.force_login(alice)
    data = {"weekday": "0", "recipients": recipients, "email_pdf": email_pdf}
    response = client.post(url("settings"), data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not ReportSettings.objects.exists()


def test_a_finished_report_can_be_emailed_from_its_page(
    client, acme, analyst, week_events, mailoutbox
):
    ReportSettings.objects.create(customer=acme, recipients=["cfo@acme.test"])
    report = finished_summary(acme, analyst)
    client.force_login(analyst)
    assert 'id="email-form"' in client.get(url("report-detail", report.pk)).content.decode()
    response = client.post(url("report-email", report.pk))
    assert response.status_code == 302
    [mail] = mailoutbox
    assert mail.to == ["cfo@acme.test"] and mail.attachments[0][2] == "application/pdf"


def test_the_back_office_regenerates_reports(client, acme, alice, week_events, staff):
    from portal.accounts.models import User

    User.objects.filter(pk=staff.pk).update(is_superuser=True)
    report = finished_summary(acme, alice)
    client.force_login(staff)
    response = client.post(
        reverse("admin:reports_report_changelist"),
        {"action": "regenerate", "_selected_action": [report.pk]},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.QUEUED
