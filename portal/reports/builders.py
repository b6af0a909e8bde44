"""Report builders: data in, bytes out (PRODUCT §7). No ORM here: the tasks hand in plain rows
(iterators, streamed from the database) and dataclasses, the builders write the files.

- ``write_table`` writes one table to CSV and XLSX **in one pass** over the rows, so a 1,000,000-
  claim export reads the claims once and never holds them in memory: the CSV goes straight to its
  file, the XLSX through openpyxl's write-only mode (rows are streamed to a temporary XML file).
- ``weekly_summary_pdf`` draws the weekly drift summary with fpdf2 (pure Python): title, KPIs, a
  bar chart of the weekly denial rate drawn with lines and rectangles, and the events table.

Spreadsheet safety: a text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return) would be a formula in Excel. In XLSX such cells are written as text; in CSV they get a
leading apostrophe (OWASP "CSV injection"), the one place where the CSV differs from the table.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 5000  # rows between progress callbacks

Progress = Callable[[int], None]


# -- tables: CSV and XLSX -------------------------------------------------------------------------


def csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _xlsx_row(sheet, row: Sequence[Any]) -> list[Any]:
    cells: list[Any] = []
    for value in row:
        if isinstance(value, str):
            if ILLEGAL_CHARACTERS_RE.search(value):  # control characters are refused by XLSX
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith(FORMULA_PREFIXES):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # text, never a formula
                cells.append(cell)
                continue
        elif isinstance(value, datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # XLSX has no time zones; values are UTC
        cells.append(value)
    return cells


def write_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    csv_out: IO[bytes] | None = None,
    xlsx_out: IO[bytes] | None = None,
    sheet_title: str = "Report",
    on_progress: Progress | None = None,
    progress_every: int | None = None,
) -> int:
    """Write ``rows`` under ``headers`` to CSV (UTF-8) and/or XLSX in one pass; returns the
    number of rows. ``on_progress(rows_done)`` is called every ``progress_every`` rows."""
    every = progress_every or PROGRESS_EVERY
    text = io.TextIOWrapper(csv_out, encoding="utf-8", newline="") if csv_out else None
    writer = csv.writer(text) if text else None
    book = sheet = None
    if xlsx_out is not None:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=sheet_title[:31])
        sheet.append(list(headers))
    if writer:
        writer.writerow(headers)
    count = 0
    for row in rows:
        if writer:
            writer.writerow([csv_value(value) for value in row])
        if sheet is not None:
            sheet.append(_xlsx_row(sheet, row))
        count += 1
        if on_progress and count % every == 0:
            on_progress(count)
    if text:
        text.flush()
        text.detach()  # leave the caller's file open
    if book is not None:
        book.save(xlsx_out)
    if on_progress:
        on_progress(count)
    return count


# -- the weekly drift summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    start: date  # Monday
    decided: int
    denied: int

    @property
    def denial_rate(self) -> float | None:
        return self.denied / self.decided if self.decided else None


@dataclass(frozen=True)
class WeeklySummary:
    customer_name: str
    period_start: date
    period_end: date
    generated_at: datetime
    kpis: list[tuple[str, str]]  # (label, formatted value)
    weeks: list[Week]  # the weekly denial rate, oldest first
    event_headers: list[str]  # the PDF's events table (formatted strings)
    event_rows: list[list[str]] = field(default_factory=list)
    events_total: int = 0  # may exceed the rows shown in the PDF (CSV/XLSX hold them all)


PDF_MAX_EVENTS = 500


def pdf_text(value: Any) -> str:
    """The PDF's core fonts speak Latin-1: other characters become ``?`` rather than failing."""
    text = "" if value is None else str(value)
    for fancy, plain in (("–", "-"), ("—", "-"), ("→", "->"), ("−", "-"), ("…", "...")):
        text = text.replace(fancy, plain)
    return text.encode("latin-1", "replace").decode("latin-1")


def weekly_summary_pdf(summary: WeeklySummary) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(pdf_text(f"Weekly drift summary - {summary.customer_name}"))
    pdf.set_author("Payerwatch")
    pdf.set_creator("Payerwatch")
    pdf.set_creation_date(summary.generated_at)
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()

    period = f"{summary.period_start:%Y-%m-%d} to {summary.period_end:%Y-%m-%d}"
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 10, "Weekly drift summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 7, pdf_text(f"{summary.customer_name} - {period}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(90)
    pdf.cell(
        0, 5, f"Generated {summary.generated_at:%Y-%m-%d %H:%M} UTC by Payerwatch",
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.set_text_color(0)
    pdf.ln(3)

    _kpis(pdf, summary.kpis)
    pdf.ln(4)
    _denial_rate_chart(pdf, summary.weeks)
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, "Drift events of the period", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    if not summary.event_rows:
        pdf.cell(0, 6, "No drift event was written in this period.", new_x="LMARGIN", new_y="NEXT")
    else:
        rows = summary.event_rows[:PDF_MAX_EVENTS]
        widths = (22, 32, 44, 24, 20, 22, 22, 22, 22, 0)
        widths = (*widths[:-1], pdf.epw - sum(widths[:-1]))
        with pdf.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=5,
            headings_style=FontFace(emphasis="BOLD", fill_color=(225, 230, 240)),
            cell_fill_color=(246, 247, 250),
            cell_fill_mode="ROWS",
        ) as table:
            head = table.row()
            for name in summary.event_headers:
                head.cell(pdf_text(name))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(pdf_text(value))
        if summary.events_total > len(rows):
            pdf.ln(2)
            pdf.cell(
                0, 5,
                f"{summary.events_total - len(rows)} more events are in the CSV and XLSX files.",
                new_x="LMARGIN", new_y="NEXT",
            )  # fmt: skip
    return bytes(pdf.output())


def _kpis(pdf, kpis: list[tuple[str, str]]) -> None:
    """A row of boxes: the value large, its label small underneath."""
    if not kpis:
        return
    gap = 3
    width = (pdf.epw - gap * (len(kpis) - 1)) / len(kpis)
    x0, y0 = pdf.l_margin, pdf.get_y()
    for index, (label, value) in enumerate(kpis):
        x = x0 + index * (width + gap)
        pdf.set_fill_color(240, 243, 248)
        pdf.set_draw_color(200, 206, 216)
        pdf.rect(x, y0, width, 18, style="DF")
        pdf.set_xy(x, y0 + 2)
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(width, 8, pdf_text(value), align="C")
        pdf.set_xy(x, y0 + 10)
        pdf.set_font("Helvetica", "", 8)
        pdf.cell(width, 6, pdf_text(label), align="C")
    pdf.set_xy(x0, y0 + 18)


def _denial_rate_chart(pdf, weeks: list[Week]) -> None:
    """Weekly denial rate (all payers, by week of decision) as bars, drawn from primitives."""
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, "Weekly denial rate (all payers)", new_x="LMARGIN", new_y="NEXT")
    rates = [week.denial_rate for week in weeks]
    known = [rate for rate in rates if rate is not None]
    pdf.set_font("Helvetica", "", 8)
    if not known:
        pdf.cell(0, 6, "No decided claims in these weeks.", new_x="LMARGIN", new_y="NEXT")
        return
    left, top = pdf.l_margin + 14, pdf.get_y() + 2
    width, height = pdf.epw - 14, 46
    bottom = top + height
    # the y axis ends at the next multiple of 4 % above the max: whole-percent quarter lines
    top_rate = max(0.04, min(1.0, math.ceil(max(known) * 25 + 1e-9) / 25))

    pdf.set_draw_color(210)
    pdf.set_line_width(0.2)
    for step in range(5):  # grid lines and y labels
        rate = top_rate * step / 4
        y = bottom - height * step / 4
        pdf.line(left, y, left + width, y)
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(13, 4, f"{rate * 100:.0f}%", align="R")
    pdf.set_draw_color(80)
    pdf.line(left, top, left, bottom)
    pdf.line(left, bottom, left + width, bottom)

    slot = width / len(weeks)
    pdf.set_fill_color(52, 101, 164)
    for index, (week, rate) in enumerate(zip(weeks, rates, strict=True)):
        x = left + index * slot
        if rate is not None:
            bar = height * min(rate, top_rate) / top_rate
            pdf.rect(x + slot * 0.2, bottom - bar, slot * 0.6, bar, style="F")
            pdf.set_xy(x, bottom - bar - 4)
            pdf.cell(slot, 4, f"{rate * 100:.1f}%", align="C")
        pdf.set_xy(x, bottom + 1)
        pdf.cell(slot, 4, f"{week.start:%b %d}", align="C")
    pdf.set_xy(pdf.l_margin, bottom + 6)
