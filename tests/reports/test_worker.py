"""A real django-q2 qcluster generates a report end to end: queued after commit, progress on the
row, files on disk."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from portal.accounts.roles import Role
from portal.reports import services
from portal.reports.models import Report, ReportKind, ReportStatus
from tests.core.test_task_queue import database_url
from tests.factories import CustomerFactory, member
from tests.reports.conftest import EVENTS, PERIOD_END, make_event

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings, tmp_path):
    """A real qcluster on this test's database, writing files where the test reads them."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "Q_WORKERS": "1",
        "Q_SYNC": "false",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_finished(report: Report, seconds: float = 60) -> Report:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.is_finished:
            return report
        time.sleep(0.2)
    raise AssertionError(f"report {report.pk} still {report.status} after {seconds} s")


def test_a_real_worker_generates_the_weekly_summary(worker):
    acme = CustomerFactory(slug="acme", name="Acme Health")
    analyst = member(acme, Role.ANALYST, email="ana@acme.test")
    for spec in EVENTS:
        make_event(acme, *spec, end=PERIOD_END, written=PERIOD_END)
    report = services.report_request(
        customer=acme, actor=analyst, kind=ReportKind.WEEKLY_SUMMARY, period_end=PERIOD_END
    )
    report = wait_finished(report)
    assert report.status == ReportStatus.SUCCEEDED, report.error
    assert report.row_count == len(EVENTS) and report.rows_done == report.rows_total
    files = {f.format: f for f in report.files.all()}
    assert set(files) == {"pdf", "csv", "xlsx"}
    pdf = Path(settings.MEDIA_ROOT) / files["pdf"].file.name
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size == files["pdf"].size_bytes
    assert "Humana" in (Path(settings.MEDIA_ROOT) / files["csv"].file.name).read_text()
