"""The builders alone: rows in, CSV/XLSX/PDF bytes out, read back with csv, openpyxl and pypdf."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from portal.reports import builders

HEADERS = ["id", "payer", "amount", "decided", "note"]
ROWS = [
    (1, "Aetna", Decimal("12.50"), date(2026, 11, 2), "ok"),
    (2, "Humana", Decimal("0.00"), None, '=HYPERLINK("http://evil")'),
    (3, "Cigna\x07", Decimal("99.99"), date(2026, 11, 3), "-5"),
]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_write_table_writes_csv_and_xlsx_in_one_pass_with_progress():
    csv_out, xlsx_out, seen = io.BytesIO(), io.BytesIO(), []
    count = builders.write_table(
        HEADERS, iter(ROWS), csv_out=csv_out, xlsx_out=xlsx_out, on_progress=seen.append,
        progress_every=2,
    )  # fmt: skip
    assert count == 3
    assert seen == [2, 3]

    lines = list(csv.reader(io.StringIO(csv_out.getvalue().decode("utf-8"))))
    assert lines[0] == HEADERS
    assert lines[1] == ["1", "Aetna", "12.50", "2026-11-02", "ok"]
    # a formula-looking text is neutralised with an apostrophe; empty values stay empty
    assert lines[2] == ["2", "Humana", "0.00", "", '\'=HYPERLINK("http://evil")']

    sheet = load_workbook(io.BytesIO(xlsx_out.getvalue()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(HEADERS)
    assert rows[1] == (1, "Aetna", 12.5, datetime(2026, 11, 2), "ok")
    assert rows[2][4] == '=HYPERLINK("http://evil")'  # stored as text, not as a formula
    assert rows[3][1] == "Cigna"  # control characters XLSX refuses are dropped
    assert rows[3][4] == "-5"


def summary(events):
    return builders.WeeklySummary(
        customer_name="Acme Health",
        period_start=date(2026, 11, 20),
        period_end=date(2026, 11, 26),
        generated_at=datetime(2026, 11, 26, 6, 0),
        kpis=[("Drift events", str(len(events))), ("Denial rate", "12.5%")],
        weeks=[
            builders.Week(date(2026, 11, 2), 100, 10),
            builders.Week(date(2026, 11, 9), 0, 0),
            builders.Week(date(2026, 11, 16), 120, 30),
            builders.Week(date(2026, 11, 23), 80, 16),
        ],
        event_headers=["Severity", "Drift type", "Payer"],
        event_rows=events,
        events_total=len(events),
    )


def test_weekly_summary_pdf_holds_title_kpis_chart_and_events():
    events = [["0.93 critical", "denial_rate", "Humana"], ["0.61 high", "decision_time", "Cigna"]]
    data = builders.weekly_summary_pdf(summary(events))
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Weekly drift summary" in text
    assert "Acme Health - 2026-11-20 to 2026-11-26" in text
    assert "12.5%" in text and "Drift events" in text
    assert "25.0%" in text  # the chart's bar label of the week of Nov 16 (30 / 120)
    for name in ["Humana", "Cigna", "denial_rate", "decision_time", "0.93 critical"]:
        assert name in text


def test_weekly_summary_pdf_without_events_or_claims_says_so():
    empty = summary([])
    empty = builders.WeeklySummary(**{**empty.__dict__, "weeks": []})
    text = pdf_text(builders.weekly_summary_pdf(empty))
    assert "No drift event was written in this period." in text
    assert "No decided claims in these weeks." in text


def test_pdf_text_survives_characters_outside_latin_1():
    rows = [["0.5 medium", "denial_rate", "Zürich – 医"]]
    text = pdf_text(builders.weekly_summary_pdf(summary(rows)))
    assert "Zürich - ?" in text
