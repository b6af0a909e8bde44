"""Reading claims CSV files (PRODUCT §3): header mapping, row validation, normalisation.

Pure code, no ORM: bytes in, plain tuples out. The ingestion service streams a file through
``ClaimRowParser`` one row at a time and never holds the file in memory.

A parsed row is a tuple in ``STAGING_COLUMNS`` order. A rejected row carries ``None`` in every
claim column and says which column, which value and why; an accepted row may carry warnings.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from portal.claims.cpt import default_group, is_valid_cpt

REQUIRED = ["payer", "cpt", "submitted_date", "outcome"]
OPTIONAL = [
    "claim_id",
    "decided_date",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
    "payment_date",
]
KNOWN = REQUIRED + OPTIONAL

OUTCOMES = {
    "PAID": "PAID", "APPROVED": "PAID", "ACCEPTED": "PAID",
    "DENIED": "DENIED", "REJECTED": "DENIED", "DECLINED": "DENIED",
    "PENDING": "PENDING", "OPEN": "PENDING", "SUBMITTED": "PENDING",
}  # fmt: skip

# Column names that look like protected health information: never stored, always called out.
PHI_PATTERN = re.compile(
    r"patient|first.?name|last.?name|full.?name|^name$|birth|dob|ssn|social|mrn|medical.?record"
    r"|member.?id|subscriber|insured.?id|address|street|city|zip|postal|phone|mobile|email",
    re.IGNORECASE,
)

STAGING_COLUMNS = [
    "row_number",
    "claim_id",
    "payer_name",
    "payer_key",
    "cpt",
    "cpt_group",
    "submitted_date",
    "decided_date",
    "outcome",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
    "payment_date",
    "issue_kind",
    "issue_column",
    "issue_value",
    "issue_reason",
]

MAX_LENGTHS = {"claim_id": 64, "payer": 200, "denial_reason_code": 20, "denial_reason_text": 300}
_AMOUNT_RE = re.compile(r"^[0-9]{1,10}(?:\.[0-9]{1,2})?$")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_US_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_SLASH_ISO = re.compile(r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$")


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says what is wrong."""


@dataclass
class Header:
    index: dict[str, int]
    width: int
    ignored: list[str] = field(default_factory=list)
    phi: list[str] = field(default_factory=list)


def read_header(names: list[str]) -> Header:
    """Map the contract's columns to their positions; list the ignored (and PHI-looking) ones."""
    cleaned = [name.strip().lower() for name in names]
    if not any(cleaned):
        raise FileProblem("The file is empty: expected a header row with column names.")
    seen: dict[str, int] = {}
    for position, name in enumerate(cleaned):
        if name in seen and name in KNOWN:
            raise FileProblem(f"The column {name!r} appears twice in the header.")
        seen.setdefault(name, position)
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        found = ", ".join(repr(n) for n in names if n.strip()) or "nothing"
        raise FileProblem(
            f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"Found: {found}. Required: {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)}."
        )
    ignored = [names[i].strip() for i, n in enumerate(cleaned) if n not in KNOWN and n]
    phi = [name for name in ignored if PHI_PATTERN.search(name)]
    return Header(
        index={name: seen[name] for name in KNOWN if name in seen},
        width=len(names),
        ignored=ignored,
        phi=phi,
    )


def parse_date(raw: str) -> date:
    """``YYYY-MM-DD``, ``MM/DD/YYYY`` or ``YYYY/MM/DD``; raises ValueError otherwise."""
    match = _ISO_DATE.match(raw)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)
    match = _US_DATE.match(raw)
    if match:
        month, day, year = (int(g) for g in match.groups())
        return date(year, month, day)
    match = _SLASH_ISO.match(raw)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)
    raise ValueError(raw)


def clean_amount(raw: str) -> str:
    """A non-negative amount as a plain decimal string; ``$`` and thousands separators allowed."""
    text = raw.replace("$", "").replace(",", "").replace(" ", "")
    if not _AMOUNT_RE.match(text):
        raise ValueError(raw)
    return text


def collapse(text: str) -> str:
    return " ".join(text.split())


class ClaimRowParser:
    """Turns CSV rows (lists of strings) into staging tuples. One instance per file.

    Hot loop: a million rows pass through ``parse``. Values that repeat across rows (dates,
    payer names, CPT codes) are validated once and remembered.
    """

    _FIELDS = [
        "claim_id", "payer", "cpt", "submitted_date", "decided_date", "outcome",
        "billed_amount", "allowed_amount", "paid_amount", "denial_reason_code",
        "denial_reason_text", "payment_date",
    ]  # fmt: skip
    _CACHE_LIMIT = 200_000

    def __init__(self, header: Header, *, today: date | None = None) -> None:
        self.header = header
        self.today = today or date.today()
        width = header.width
        # a missing optional column reads the empty string appended to every row
        self._positions = [header.index.get(name, width) for name in self._FIELDS]
        self._dates: dict[str, date] = {}
        self._payers: dict[str, str] = {}
        self._cpts: dict[str, tuple[str, str]] = {}

    def parse(self, row_number: int, row: list[str]) -> tuple:
        """The staging tuple for one row: an accepted claim, or a rejection with its reason."""
        try:
            return self._parse(row_number, row)
        except _Reject as reject:
            return (
                row_number,
                *([None] * 14),
                "rejected",
                reject.column,
                reject.value.replace("\x00", "\\0")[:200],
                reject.reason,
            )

    def _date(self, raw: str, name: str, *, required: bool) -> date | None:
        if not raw:
            if required:
                raise _Reject(name, "", f"{name} is required.")
            return None
        value = self._dates.get(raw)
        if value is None:
            value = _date(raw, name)
            if len(self._dates) < self._CACHE_LIMIT:
                self._dates[raw] = value
        return value

    def _parse(self, row_number: int, row: list[str]) -> tuple:
        if len(row) != self.header.width:
            raise _Reject(
                "", "", f"The row has {len(row)} fields; the header has {self.header.width}."
            )
        values = [*row, ""]  # missing optional columns read this empty string
        (
            claim_id, raw_payer, raw_cpt, raw_submitted, raw_decided, raw_outcome,
            raw_billed, raw_allowed, raw_paid, code, raw_text, raw_payment,
        ) = [values[i].strip() for i in self._positions]  # fmt: skip
        warnings: list[tuple[str, str, str]] = []  # (column, value, reason)

        if len(claim_id) > 64:
            raise _Reject("claim_id", claim_id, "Longer than 64 characters.")

        payer_name = self._payers.get(raw_payer)
        if payer_name is None:
            payer_name = collapse(raw_payer)
            if not payer_name:
                raise _Reject("payer", "", "The payer is required.")
            _max_length("payer", payer_name)
            if len(payer_name.lower()) > MAX_LENGTHS["payer"]:  # lower() can lengthen (İ → i̇)
                raise _Reject("payer", payer_name, "Longer than 200 characters.")
            if len(self._payers) < self._CACHE_LIMIT:
                self._payers[raw_payer] = payer_name

        known = self._cpts.get(raw_cpt)
        if known is None:
            cpt = raw_cpt.upper()
            if not is_valid_cpt(cpt):
                raise _Reject(
                    "cpt",
                    raw_cpt,
                    "Not a CPT (e.g. 99213, 0001U, 1234F) or HCPCS (e.g. J1100) code.",
                )
            known = self._cpts[raw_cpt] = (cpt, default_group(cpt))
        cpt, group = known

        submitted = self._date(raw_submitted, "submitted_date", required=True)

        if not raw_outcome:
            raise _Reject("outcome", "", "The outcome is required.")
        outcome = OUTCOMES.get(raw_outcome.upper())
        if outcome is None:
            outcome = "OTHER"
            warnings.append(("outcome", raw_outcome, "Not a known outcome: stored as OTHER."))

        decided = self._date(raw_decided, "decided_date", required=False)
        if outcome == "PENDING":
            if decided is not None:
                warnings.append(
                    ("decided_date", raw_decided, "PENDING has no decision date: ignored.")
                )
                decided = None
        elif decided is None:
            raise _Reject(
                "decided_date", "", "decided_date is required unless the outcome is PENDING."
            )
        if decided is not None and decided < submitted:
            raise _Reject("decided_date", raw_decided, "decided_date is before submitted_date.")

        billed = _amount(raw_billed, "billed_amount")
        allowed = _amount(raw_allowed, "allowed_amount")
        paid = _amount(raw_paid, "paid_amount")

        _max_length("denial_reason_code", code)
        text = collapse(raw_text) if raw_text else ""
        _max_length("denial_reason_text", text)
        payment = self._date(raw_payment, "payment_date", required=False)

        if "\x00" in claim_id + payer_name + code + text:  # PostgreSQL text cannot hold NUL
            raise _Reject("", "", "The row contains a NUL character.")

        return (
            row_number,
            claim_id or None,
            payer_name,
            payer_name.lower(),
            cpt,
            group,
            submitted,
            decided,
            outcome,
            billed,
            allowed,
            paid,
            code,
            text,
            payment,
            *_issue(warnings),
        )


def _amount(raw: str, name: str) -> str | None:
    if not raw:
        return None
    if _AMOUNT_RE.match(raw):
        return raw
    try:
        return clean_amount(raw)
    except ValueError:
        raise _Reject(name, raw, "Not an amount ≥ 0 (e.g. 1250.00, $1,250.00).") from None


def _issue(warnings: list[tuple[str, str, str]]) -> tuple:
    """The staging issue columns of an accepted row: its first warning's column and value, and
    every warning's reason."""
    if not warnings:
        return (None, None, None, None)
    column, value, _ = warnings[0]
    value = value.replace("\x00", "\\0")[:200]
    return ("warning", column, value, " ".join(reason for _, _, reason in warnings))


class _Reject(Exception):  # control flow inside the parser, never escapes it
    def __init__(self, column: str, value: str, reason: str) -> None:
        self.column, self.value, self.reason = column, value, reason


def _max_length(name: str, value: str) -> None:
    limit = MAX_LENGTHS[name]
    if len(value) > limit:
        raise _Reject(name, value, f"Longer than {limit} characters.")


def _date(raw: str, name: str) -> date:
    try:
        value = parse_date(raw)
    except ValueError:
        raise _Reject(name, raw, "Not a date (YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD).") from None
    if not 1900 <= value.year <= 2200:
        raise _Reject(name, raw, "The date is out of range.")
    return value


# -- streaming -------------------------------------------------------------------------------------


_BINARY_SIGNATURES = (
    b"%PDF",
    b"PK\x03\x04",  # zip: .xlsx, .docx
    b"\x89PNG",
    b"\xd0\xcf\x11\xe0",  # old .xls / .doc
    b"\xff\xfe",  # UTF-16 byte-order marks
    b"\xfe\xff",
    b"\xff\xd8\xff",  # JPEG
)


class CountingReader(io.RawIOBase):
    """Wraps a binary file: counts the bytes read (progress) and hashes them (sha256)."""

    def __init__(self, raw: BinaryIO) -> None:
        import hashlib

        self.raw = raw
        self.bytes_read = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        self.sha256.update(data)
        return n


def open_text(
    raw: BinaryIO, *, gzipped: bool | None = None
) -> tuple[CountingReader, io.TextIOWrapper]:
    """A streaming text view of a (possibly gzipped) UTF-8 CSV; BOM allowed.

    Returns the byte counter (of the file as stored) and the text stream."""
    counter = CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=1 << 16)
    head = buffered.peek(8)[:8]
    if gzipped is None:
        gzipped = head[:2] == b"\x1f\x8b"
    if head.startswith(_BINARY_SIGNATURES):
        raise FileProblem(
            "The file is not a CSV: it looks like a binary file (a PDF, an image, a spreadsheet) "
            "or UTF-16 text, which is not UTF-8. "
            "Save it as CSV (UTF-8) and upload it again."
        )
    source: BinaryIO = gzip.GzipFile(fileobj=buffered) if gzipped else buffered  # type: ignore[assignment]
    text = io.TextIOWrapper(source, encoding="utf-8-sig", errors="strict", newline="")
    return counter, text


def iter_rows(text: io.TextIOWrapper) -> Iterator[list[str]]:
    """CSV rows; translates decoding and CSV errors into a ``FileProblem`` with the row number."""
    reader = csv.reader(text, strict=False)
    row_number = 0
    try:
        for row in reader:
            yield row
            row_number += 1
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"The file is not UTF-8 text (undecodable bytes near row {row_number + 1}). "
            "Save it as UTF-8 CSV and upload it again."
        ) from exc
    except (csv.Error, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise FileProblem(
            f"The file is not a readable CSV (near row {row_number + 1}): {exc}"
        ) from exc


def sniff_not_csv(first_line: list[str]) -> None:
    """Refuse files that are plainly something else (a spreadsheet, a PDF, an image)."""
    joined = ",".join(first_line)[:200]
    if joined.startswith(("%PDF", "PK\x03\x04", "\x89PNG")) or "\x00" in joined:
        raise FileProblem("The file is not a CSV (it looks like a binary file).")


__all__ = [
    "KNOWN",
    "REQUIRED",
    "STAGING_COLUMNS",
    "ClaimRowParser",
    "FileProblem",
    "Header",
    "iter_rows",
    "open_text",
    "read_header",
]
