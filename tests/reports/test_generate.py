"""Generating reports through the service and the task (django-q2 inline): the weekly summary,
filtered exports of the claims, drift-event and alert tables, progress, failure, webhook, e-mail,
the rate limit and the weekly schedule."""

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.db import connection
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims import selectors as claim_selectors
from portal.claims.models import Claim
from portal.core.exceptions import DomainError, NotAllowed
from portal.reports import builders, services, sources, tasks
from portal.reports.models import Report, ReportKind, ReportSettings, ReportStatus
from tests.reports.conftest import EVENTS, PERIOD_END, PERIOD_START

pytestmark = pytest.mark.django_db


def request(customer, actor, kind, filters=None, **kwargs):
    """Request a report and run its task (inline), as after a commit."""
    report = services.report_request(
        customer=customer, actor=actor, kind=kind, filters=filters or {}, **kwargs
    )
    tasks.generate(report.pk)
    report.refresh_from_db()
    return report


def content(report, format) -> bytes:
    with report.files.get(format=format).file.open("rb") as handle:
        return handle.read()


def csv_rows(report) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content(report, "csv").decode("utf-8"))))


def xlsx_rows(report) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content(report, "xlsx")), read_only=True).active
    return list(sheet.iter_rows(values_only=True))


def as_csv(value) -> str:
    return "" if value is None else str(value)


def as_xlsx(value):
    """What openpyxl reads back for a value we wrote."""
    from datetime import datetime
    from decimal import Decimal

    if value == "":
        return None
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral() else int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def padded(rows, width):
    return [tuple(row) + (None,) * (width - len(row)) for row in rows]


# -- the weekly summary ---------------------------------------------------------------------------


def test_weekly_summary_pdf_lists_the_week_events(acme, analyst, acme_claims, week_events):
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    assert report.status == ReportStatus.SUCCEEDED, report.error
    assert (report.period_start, report.period_end) == (PERIOD_START, PERIOD_END)
    assert sorted(report.files.values_list("format", flat=True)) == ["csv", "pdf", "xlsx"]
    assert report.row_count == len(EVENTS)

    pdf = content(report, "pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Weekly drift summary" in text and "Acme Health" in text
    assert "2026-11-20 to 2026-11-26" in text
    for payer, _, kind, *_ in EVENTS:
        assert payer in text and kind in text
    assert "Tricare" not in text  # written weeks before the period
    assert "Weekly denial rate" in text


def test_weekly_summary_csv_and_xlsx_hold_the_same_events_table(acme, analyst, week_events):
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    from portal.reports import selectors

    expected = selectors.event_rows(
        selectors.period_events(customer=acme, start=PERIOD_START, end=PERIOD_END)
    )
    assert [row[4] for row in expected] == ["Humana", "Cigna", "Aetna", "Medicaid"]  # severity
    rows = csv_rows(report)
    assert rows[0] == selectors.EVENT_HEADERS
    assert rows[1:] == [[as_csv(v) for v in row] for row in expected]
    sheet = xlsx_rows(report)
    assert sheet[0] == tuple(selectors.EVENT_HEADERS)
    assert sheet[1:] == [tuple(as_xlsx(v) for v in row) for row in expected]


# -- exports --------------------------------------------------------------------------------------


def claim_filter(customer, filters):
    return sources.filterset(kind=ReportKind.CLAIMS_EXPORT, customer=customer, filters=filters)


def test_claims_export_matches_the_filtered_table(acme, analyst, acme_claims):
    humana = claim_selectors.payer_list(customer=acme).get(name="Humana")
    filters = {"payer": str(humana.pk), "outcome": "DENIED", "page": "3", "sort": "-x"}
    report = request(acme, analyst, ReportKind.CLAIMS_EXPORT, filters)
    assert report.status == ReportStatus.SUCCEEDED, report.error
    assert report.filters == {"payer": str(humana.pk), "outcome": "DENIED"}  # paging dropped

    source = sources.SOURCES[ReportKind.CLAIMS_EXPORT]
    expected = list(source.rows(claim_filter(acme, report.filters).qs))
    assert 0 < len(expected) < Claim.objects.filter(customer=acme).count()
    assert report.row_count == len(expected)

    rows = csv_rows(report)
    assert rows[0] == source.headers
    assert rows[1:] == [[as_csv(v) for v in row] for row in expected]
    assert {row[1] for row in rows[1:]} == {"Humana"} and {row[6] for row in rows[1:]} == {"DENIED"}

    sheet = xlsx_rows(report)
    width = len(source.headers)
    assert sheet[0] == tuple(source.headers)
    assert padded(sheet[1:], width) == padded(
        [tuple(as_xlsx(v) for v in row) for row in expected], width
    )


def test_a_filter_that_excludes_rows_leaves_them_out(acme, analyst, acme_claims):
    everything = request(acme, analyst, ReportKind.CLAIMS_EXPORT)
    assert everything.row_count == Claim.objects.filter(customer=acme).count()
    paid = request(acme, analyst, ReportKind.CLAIMS_EXPORT, {"outcome": "PAID"})
    outcomes = {row[6] for row in csv_rows(paid)[1:]}
    assert outcomes == {"PAID"}
    assert paid.row_count == Claim.objects.filter(customer=acme, outcome="PAID").count()
    assert paid.row_count < everything.row_count


def test_drift_events_export_honours_the_drift_filters(acme, analyst, week_events):
    report = request(acme, analyst, ReportKind.DRIFT_EVENTS_EXPORT, {"direction": "worsening"})
    rows = csv_rows(report)
    assert rows[0] == sources.SOURCES[ReportKind.DRIFT_EVENTS_EXPORT].headers
    payers = {row[1] for row in rows[1:]}
    assert payers == {"Humana", "Cigna", "Aetna", "Tricare"}  # Medicaid improves: left out
    assert {row[1] for row in xlsx_rows(report)[1:]} == payers


def test_alerts_export_of_the_active_tab_holds_only_active_alerts(acme, analyst, acme_alerts):
    acme_alerts[0].suppressed, acme_alerts[0].suppressed_reason = True, "Cooldown"
    acme_alerts[0].save()
    report = request(acme, analyst, ReportKind.ALERTS_EXPORT, {"tab": "active"})
    active = sorted(
        str(a.pk) for a in acme_alerts[1:] if a.status in ("open", "acknowledged")
    )  # the first is suppressed, the third resolved
    assert sorted(row[0] for row in csv_rows(report)[1:]) == active
    everything = request(acme, analyst, ReportKind.ALERTS_EXPORT, {"tab": "all"})
    assert len(csv_rows(everything)) == 1 + len(acme_alerts)


def test_the_alerts_page_offers_the_export_of_its_tab(client, acme, analyst, acme_alerts):
    client.force_login(analyst)
    page = client.get("/c/acme/alerts/?status=open").content.decode()
    assert 'id="report-export"' in page
    assert "table=alerts" in page and "tab=active" in page and "status=open" in page


def test_alerts_export_honours_the_alert_filters(acme, analyst, acme_alerts):
    report = request(acme, analyst, ReportKind.ALERTS_EXPORT, {"status": "open"})
    assert report.status == ReportStatus.SUCCEEDED, report.error
    rows = csv_rows(report)
    assert rows[0][:3] == ["alert_id", "created_at", "rule"]
    open_ids = sorted(str(a.pk) for a in acme_alerts if a.status == "open")
    assert sorted(row[0] for row in rows[1:]) == open_ids
    assert len(xlsx_rows(report)) == 1 + len(open_ids)


def test_unknown_or_invalid_filters_are_refused(acme, analyst, acme_claims):
    for filters, message in [
        ({"colour": "red"}, "Unknown filter"),
        ({"outcome": "MAYBE"}, "Invalid filters"),
        ({"q": "a\x00b"}, "NUL"),
    ]:
        with pytest.raises(DomainError, match=message) as caught:
            services.report_request(
                customer=acme, actor=analyst, kind=ReportKind.CLAIMS_EXPORT, filters=filters
            )
        assert caught.value.field == "filters"
    assert not Report.objects.exists()


def test_another_customers_payer_is_not_a_valid_filter(acme, analyst, globex, acme_claims):
    from tests.reports.conftest import payer

    theirs = payer(globex, "Humana")
    with pytest.raises(DomainError, match="Invalid filters"):
        services.report_request(
            customer=acme, actor=analyst, kind=ReportKind.CLAIMS_EXPORT,
            filters={"payer": str(theirs.pk)},
        )  # fmt: skip


# -- permissions, audit, rate ---------------------------------------------------------------------


def test_viewer_cannot_generate(acme, bob):
    with pytest.raises(NotAllowed):
        services.report_request(customer=acme, actor=bob, kind=ReportKind.WEEKLY_SUMMARY)
    assert not Report.objects.exists()


def test_request_and_completion_are_audited(acme, analyst, week_events):
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    events = AuditEvent.objects.filter(object_id=str(report.pk), object_type="reports.report")
    requested = events.get(action=Action.REPORT_REQUESTED)
    assert requested.actor == analyst and requested.data["kind"] == "weekly_summary"
    completed = events.get(action=Action.REPORT_COMPLETED)
    assert completed.data["rows"] == len(EVENTS)
    assert sorted(completed.data["formats"]) == ["csv", "pdf", "xlsx"]


def test_on_demand_generation_is_rate_limited_per_customer(acme, analyst, alice, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "reports": "2/hour",
        },
    }  # fmt: skip
    for actor in (analyst, alice):
        services.report_request(customer=acme, actor=actor, kind=ReportKind.WEEKLY_SUMMARY)
    with pytest.raises(services.TooManyReports, match="Please try again in about") as caught:
        services.report_request(customer=acme, actor=alice, kind=ReportKind.WEEKLY_SUMMARY)
    assert 0 < caught.value.retry_after <= 3600
    assert Report.objects.filter(customer=acme).count() == 2
    # the schedule is not on-demand: it is never refused
    assert services.weekly_schedule_request(customer=acme, today=date(2026, 11, 23)) is not None


# -- progress and failure -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_while_the_rows_stream(acme, analyst, acme_claims, monkeypatch):
    """Progress goes to the report row on its own connection: committed while generating."""
    monkeypatch.setattr(builders, "PROGRESS_EVERY", 100)
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    seen: list[tuple[str, int, int]] = []
    write = services.ProgressWriter.write

    def spy(self, done):
        write(self, done)
        with connection.cursor() as cursor:  # the generating transaction's own connection
            cursor.execute(
                "SELECT status, rows_done, rows_total FROM reports_report WHERE id = %s",
                [self.report_id],
            )
            seen.append(cursor.fetchone())

    monkeypatch.setattr(services.ProgressWriter, "write", spy)
    report = request(acme, analyst, ReportKind.CLAIMS_EXPORT)
    total = Claim.objects.filter(customer=acme).count()
    assert report.status == ReportStatus.SUCCEEDED
    done = [row[1] for row in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] == total
    assert {100, 200, 300} <= set(done)
    assert all(row[0] == "running" and row[2] == total for row in seen)
    assert (report.rows_done, report.rows_total, report.progress_percent) == (total, total, 100)


def test_a_failure_marks_the_report_failed_with_the_error(acme, analyst, week_events, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builders, "weekly_summary_pdf", boom)
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    assert report.status == ReportStatus.FAILED
    assert report.error == "RuntimeError: disk full"
    assert report.finished_at is not None and not report.files.exists()
    failed = AuditEvent.objects.get(action=Action.REPORT_FAILED, object_id=str(report.pk))
    assert failed.outcome == "failure" and "disk full" in failed.data["error"]


def test_a_report_is_generated_once_even_if_its_task_runs_twice(acme, analyst, week_events):
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    finished = report.finished_at
    assert tasks.generate(report.pk) == ReportStatus.SUCCEEDED
    report.refresh_from_db()
    assert report.finished_at == finished and report.files.count() == 3


def test_regenerate_replaces_the_files(acme, analyst, staff, week_events):
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    old = set(report.files.values_list("pk", flat=True))
    services.report_regenerate(report=report, actor=None)
    tasks.generate(report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED and report.files.count() == 3
    assert not old & set(report.files.values_list("pk", flat=True))


# -- webhook and e-mail ---------------------------------------------------------------------------


def test_completion_writes_the_report_completed_webhook(acme, analyst, week_events):
    from portal.webhooks import services as webhook_services
    from portal.webhooks.models import WebhookMessage

    endpoint, _ = webhook_services.endpoint_create(
        customer=acme, actor=None, name="Reports", url="https://hooks.example.com/reports",
        event_types=["report.completed"],
    )  # fmt: skip
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    [message] = WebhookMessage.objects.filter(endpoint=endpoint)
    assert message.event_type == "report.completed"
    assert message.event_key == f"report:{report.pk}:completed"
    body = json.loads(message.payload)
    assert body["type"] == "report.completed"
    assert body["data"]["report_id"] == report.pk
    assert body["data"]["row_count"] == len(EVENTS)
    assert "Humana" not in message.payload  # thin: ids and counts only


def test_weekly_summary_is_emailed_with_the_pdf(acme, analyst, week_events, mailoutbox):
    ReportSettings.objects.create(
        customer=acme, recipients=["cfo@acme.test", "rcm@acme.test"], email_pdf=True
    )
    report = request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    [mail] = mailoutbox
    assert mail.to == ["cfo@acme.test", "rcm@acme.test"]
    assert "Weekly drift summary" in mail.subject and "Acme Health" in mail.subject
    [(name, data, mimetype)] = mail.attachments
    assert name.endswith(".pdf") and mimetype == "application/pdf"
    assert data == content(report, "pdf")
    assert f"/c/acme/reports/{report.pk}/" in mail.body
    report.refresh_from_db()
    assert report.emailed_at is not None
    assert AuditEvent.objects.filter(action=Action.REPORT_EMAILED, object_id=str(report.pk))


def test_no_email_without_the_setting(acme, analyst, week_events, mailoutbox):
    ReportSettings.objects.create(customer=acme, recipients=["cfo@acme.test"], email_pdf=False)
    request(acme, analyst, ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END)
    assert mailoutbox == []


# -- the weekly schedule --------------------------------------------------------------------------

MONDAY = date(2026, 11, 23)


def test_the_schedule_exists_and_runs_daily(db):
    from django_q.models import Schedule

    services.ensure_weekly_schedule()
    schedule = Schedule.objects.get(name="reports-weekly")
    assert schedule.func == "portal.reports.tasks.weekly_all"
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1


def test_weekly_summary_once_per_week_on_the_configured_weekday(
    acme, globex, week_events, django_capture_on_commit_callbacks
):
    ReportSettings.objects.create(customer=globex, weekday=3)  # Thursdays
    # Monday: Acme (default Monday) gets its summary, Globex does not
    with django_capture_on_commit_callbacks(execute=True):  # its generation runs after commit
        assert tasks.weekly_all(MONDAY.isoformat()) == 1
    report = Report.objects.get()
    assert (report.customer, report.trigger, report.schedule_week) == (acme, "schedule", MONDAY)
    assert report.status == ReportStatus.SUCCEEDED
    assert report.period_end == MONDAY
    # the schedule runs again the same day, and every day of the week: nothing new for Acme
    assert tasks.weekly_all(MONDAY.isoformat()) == 0
    for offset in range(1, 7):
        tasks.weekly_all((MONDAY + timedelta(days=offset)).isoformat())
    assert Report.objects.filter(customer=acme).count() == 1
    assert Report.objects.filter(customer=globex).count() == 1  # its Thursday
    assert Report.objects.get(customer=globex).period_end == MONDAY + timedelta(days=3)
    # next Monday: a new week
    assert tasks.weekly_all((MONDAY + timedelta(days=7)).isoformat()) == 1
    assert Report.objects.filter(customer=acme).count() == 2


def test_a_weekday_moved_within_the_week_does_not_send_twice(acme):
    assert tasks.weekly_all(MONDAY.isoformat()) == 1
    ReportSettings.objects.create(customer=acme, weekday=4)  # Friday, same week
    assert tasks.weekly_all((MONDAY + timedelta(days=4)).isoformat()) == 0


def test_no_weekly_summary_when_the_schedule_is_off(acme):
    ReportSettings.objects.create(customer=acme, weekly_enabled=False)
    assert tasks.weekly_all(MONDAY.isoformat()) == 0
    assert not Report.objects.exists()


def test_the_schedule_uses_todays_date_by_default(acme, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: MONDAY + timedelta(days=7))
    assert tasks.weekly_all() == 1
    assert Report.objects.get().schedule_week == MONDAY + timedelta(days=7)


def test_demo_generates_one_weekly_summary_for_acme(capsys):
    from django.core.management import call_command

    call_command("demo", "--no-serve", "--password", "Demo-pass-1")
    call_command("demo", "--no-serve", "--password", "Demo-pass-1")  # idempotent
    [report] = Report.objects.filter(customer__slug="acme")
    assert (report.kind, report.trigger, report.status) == ("weekly_summary", "demo", "succeeded")
    assert report.row_count > 0 and report.files.count() == 3
    assert f"weekly summary #{report.pk} succeeded" in capsys.readouterr().out
