"""Reading claims CSV files (PRODUCT §3): the pure parser and validator, no database."""

import csv
import gzip
import hashlib
import io
import re
import string
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.claims import csvio
from portal.claims.cpt import default_group, is_valid_cpt
from portal.claims.generator import COLUMNS

FAST = settings(max_examples=60, deadline=None)

GOOD = {
    "claim_id": "C-1",
    "payer": "Aetna",
    "cpt": "99213",
    "submitted_date": "2024-03-01",
    "decided_date": "2024-03-10",
    "outcome": "PAID",
    "billed_amount": "150.00",
    "allowed_amount": "92.00",
    "paid_amount": "80.00",
    "denial_reason_code": "",
    "denial_reason_text": "",
    "payment_date": "2024-03-12",
}


def parse(row_number: int = 1, **changes: str) -> dict:
    """One row with the contract's columns (``GOOD`` with ``changes``), as a staging dict."""
    values = {**GOOD, **changes}
    header = csvio.read_header(list(values))
    staged = csvio.ClaimRowParser(header).parse(row_number, list(values.values()))
    assert len(staged) == len(csvio.STAGING_COLUMNS)
    return dict(zip(csvio.STAGING_COLUMNS, staged, strict=True))


def rows_of(data: bytes) -> list[list[str]]:
    _, text = csvio.open_text(io.BytesIO(data))
    return list(csvio.iter_rows(text))


# -- header ----------------------------------------------------------------------------------


@FAST
@given(order=st.permutations(COLUMNS), data=st.data())
def test_header_names_are_case_insensitive_and_order_free(order, data):
    spelled = [
        data.draw(st.sampled_from([name, name.upper(), name.title(), f"  {name} "]))
        for name in order
    ]
    header = csvio.read_header(spelled)
    assert header.index == {name: order.index(name) for name in COLUMNS}
    assert header.ignored == []
    assert header.phi == []


@pytest.mark.parametrize("missing", csvio.REQUIRED)
def test_a_missing_required_column_is_named_with_what_was_found(missing):
    names = ["claim_id", *(n for n in csvio.REQUIRED if n != missing), "notes"]
    with pytest.raises(csvio.FileProblem) as problem:
        csvio.read_header(names)
    message = str(problem.value)
    assert f"Missing required column: {missing}." in message
    assert "Found: 'claim_id', " in message
    assert "'notes'" in message


def test_several_missing_columns_are_all_named():
    with pytest.raises(csvio.FileProblem, match=r"Missing required columns: cpt, outcome\. "):
        csvio.read_header(["payer", "submitted_date", "Patient Name"])


def test_a_header_of_nothing_is_an_empty_file():
    with pytest.raises(csvio.FileProblem, match="empty"):
        csvio.read_header(["", "  "])


def test_a_contract_column_given_twice_is_refused():
    with pytest.raises(csvio.FileProblem, match="'payer' appears twice"):
        csvio.read_header(["payer", "cpt", "submitted_date", "outcome", "PAYER"])


def test_unknown_columns_are_ignored_and_listed():
    header = csvio.read_header(["Notes", *csvio.REQUIRED, "place_of_service", ""])
    assert header.ignored == ["Notes", "place_of_service"]
    assert header.phi == []
    assert "notes" not in header.index


@pytest.mark.parametrize(
    "name",
    [
        "patient_name",
        "Patient Name",
        "first_name",
        "LastName",
        "name",
        "dob",
        "date_of_birth",
        "ssn",
        "social_security",
        "mrn",
        "medical_record_number",
        "member_id",
        "Member ID",
        "subscriber_id",
        "insured_id",
        "address",
        "street",
        "city",
        "zip",
        "postal_code",
        "phone",
        "mobile",
        "email",
    ],
)
def test_phi_looking_columns_are_called_out(name):
    header = csvio.read_header([*csvio.REQUIRED, name])
    assert header.ignored == [name]
    assert header.phi == [name]


@pytest.mark.parametrize("name", ["notes", "place_of_service", "provider_npi", "modifier"])
def test_harmless_unknown_columns_are_not_called_phi(name):
    header = csvio.read_header([*csvio.REQUIRED, name])
    assert header.ignored == [name]
    assert header.phi == []


# -- dates -----------------------------------------------------------------------------------

in_range = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
FORMATS = {
    "YYYY-MM-DD": lambda d: d.isoformat(),
    "MM/DD/YYYY": lambda d: f"{d.month:02}/{d.day:02}/{d.year}",
    "M/D/YYYY": lambda d: f"{d.month}/{d.day}/{d.year}",
    "YYYY/MM/DD": lambda d: f"{d.year}/{d.month:02}/{d.day:02}",
    "YYYY/M/D": lambda d: f"{d.year}/{d.month}/{d.day}",
}


@FAST
@given(day=in_range, form=st.sampled_from(sorted(FORMATS)))
def test_each_contract_date_format_reads_back_the_same_day(day, form):
    assert csvio.parse_date(FORMATS[form](day)) == day


@FAST
@given(day=in_range.filter(lambda d: d.day > 12))
def test_a_day_first_date_is_not_read_as_a_date(day):
    with pytest.raises(ValueError):
        csvio.parse_date(f"{day.day:02}/{day.month:02}/{day.year}")


@pytest.mark.parametrize(
    "raw",
    [
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "02/30/2024",
        "13/01/2024",
        "2024/02/30",
        "01-02-2024",
        "2024.01.02",
        "20240102",
        "Jan 2 2024",
        "2024-1-2",
        "24-01-02",
        "01/02/24",
        "2024-01-02T10:00",
        "",
    ],
)
def test_dates_outside_the_contract_formats_are_refused(raw):
    with pytest.raises(ValueError):
        csvio.parse_date(raw)


def test_an_iso_week_date_is_not_a_contract_date():
    with pytest.raises(ValueError):
        csvio.parse_date("2024-W01-1")


@FAST
@given(raw=st.text(max_size=14))
def test_any_text_is_a_date_or_a_value_error(raw):
    try:
        value = csvio.parse_date(raw)
    except ValueError:
        return
    assert isinstance(value, date)


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [("1899-12-31", False), ("1900-01-01", True), ("2200-12-31", True), ("2201-01-01", False)],
)
def test_dates_must_lie_between_1900_and_2200(raw, accepted):
    row = parse(submitted_date=raw, decided_date=raw, payment_date="")
    if accepted:
        assert row["submitted_date"] == date.fromisoformat(raw)
    else:
        assert row["issue_kind"] == "rejected"
        assert (row["issue_column"], row["issue_value"]) == ("submitted_date", raw)
        assert row["issue_reason"] == "The date is out of range."


# -- amounts ---------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2)
AMOUNT_FORMATS = [
    lambda a: f"{a}",
    lambda a: f"${a}",
    lambda a: f"{a:,}",
    lambda a: f"${a:,}",
    lambda a: f"$ {a:,.2f}",
]


@FAST
@given(amount=amounts, form=st.sampled_from(AMOUNT_FORMATS))
def test_amounts_tolerate_dollar_signs_and_thousands_separators(amount, form):
    assert Decimal(csvio.clean_amount(form(amount))) == amount


@FAST
@given(
    amount=st.decimals(max_value=Decimal("-0.01"), min_value=-(10**12), places=2),
    form=st.sampled_from(AMOUNT_FORMATS),
)
def test_negative_amounts_are_refused(amount, form):
    with pytest.raises(ValueError):
        csvio.clean_amount(form(amount))


@pytest.mark.parametrize(
    "raw",
    ["-0", "($5.00)", "1.234", "12345678901", "1e5", "NaN", "Infinity", ".5", "5.", "1O0", "USD 5"],
)
def test_things_that_are_not_amounts_are_refused(raw):
    with pytest.raises(ValueError):
        csvio.clean_amount(raw)


@FAST
@given(raw=st.text(alphabet=string.printable, max_size=16))
def test_an_accepted_amount_is_always_a_plain_non_negative_decimal(raw):
    try:
        cleaned = csvio.clean_amount(raw)
    except ValueError:
        return
    assert re.fullmatch(r"[0-9]{1,10}(\.[0-9]{1,2})?", cleaned)


@pytest.mark.parametrize("raw", ["١٠٠", "１００", "$१,०००.00"])
def test_amounts_with_non_ascii_digits_are_refused(raw):
    with pytest.raises(ValueError):
        csvio.clean_amount(raw)


@pytest.mark.parametrize("column", ["billed_amount", "allowed_amount", "paid_amount"])
def test_a_negative_amount_rejects_the_row_naming_its_column(column):
    row = parse(**{column: "-12.50"})
    assert row["issue_kind"] == "rejected"
    assert (row["issue_column"], row["issue_value"]) == (column, "-12.50")
    assert row["issue_reason"] == "Not an amount ≥ 0 (e.g. 1250.00, $1,250.00)."


def test_amounts_are_staged_as_plain_decimals_and_blank_ones_as_null():
    row = parse(billed_amount="$1,250.00", allowed_amount="", paid_amount=" 3 ")
    assert (row["billed_amount"], row["allowed_amount"], row["paid_amount"]) == (
        "1250.00",
        None,
        "3",
    )


# -- CPT codes and their default groups --------------------------------------------------------


@pytest.mark.parametrize("code", ["99213", "00840", "0001U", "1234F", "0075T", "0001A", "J1100"])
def test_cpt_and_hcpcs_codes_are_valid(code):
    assert is_valid_cpt(code)


@pytest.mark.parametrize(
    "code", ["9921", "992134", "99 21", "JJ100", "J110", "J11000", "1234f", "", "ABCDE", "-9921"]
)
def test_other_codes_are_not_valid(code):
    assert not is_valid_cpt(code)


@pytest.mark.parametrize("code", ["J١١٠٠", "٩٩٢١3", "٠٠٠١U"])
def test_codes_with_non_ascii_digits_are_not_valid(code):
    assert not is_valid_cpt(code)


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("00099", "OTHER"),
        ("00100", "Anesthesia"),
        ("01999", "Anesthesia"),
        ("02000", "OTHER"),
        ("10003", "OTHER"),
        ("10004", "Surgery"),
        ("69990", "Surgery"),
        ("69991", "OTHER"),
        ("70009", "OTHER"),
        ("70010", "Radiology"),
        ("79999", "Radiology"),
        ("80046", "OTHER"),
        ("80047", "Pathology/Lab"),
        ("89398", "Pathology/Lab"),
        ("89399", "OTHER"),
        ("90280", "OTHER"),
        ("90281", "Medicine"),
        ("99199", "Medicine"),
        ("99200", "OTHER"),
        ("99201", "OTHER"),
        ("99202", "E/M"),
        ("99213", "E/M"),
        ("99499", "E/M"),
        ("99500", "Medicine"),
        ("99607", "Medicine"),
        ("99608", "OTHER"),
        ("1234F", "Category II"),
        ("0075T", "Category III"),
        ("0001U", "PLA"),
        ("J1100", "HCPCS"),
        ("G0439", "HCPCS"),
        ("0001A", "OTHER"),
        ("0591M", "OTHER"),
    ],
)
def test_default_groups_follow_the_cpt_sections(code, group):
    assert default_group(code) == group


SECTIONS = [  # PRODUCT §3.2, as written there
    (100, 1999, "Anesthesia"),
    (10004, 69990, "Surgery"),
    (70010, 79999, "Radiology"),
    (80047, 89398, "Pathology/Lab"),
    (90281, 99199, "Medicine"),
    (99500, 99607, "Medicine"),
    (99202, 99499, "E/M"),
]


@settings(max_examples=300, deadline=None)
@given(number=st.integers(min_value=0, max_value=99999))
def test_every_numeric_code_falls_in_its_section_or_other(number):
    expected = next((g for low, high, g in SECTIONS if low <= number <= high), "OTHER")
    assert default_group(f"{number:05}") == expected


@pytest.mark.parametrize(
    ("raw", "cpt", "group"),
    [("j1100", "J1100", "HCPCS"), (" 99213 ", "99213", "E/M"), ("0001u", "0001U", "PLA")],
)
def test_the_parser_normalises_codes_and_groups_them(raw, cpt, group):
    row = parse(cpt=raw)
    assert (row["cpt"], row["cpt_group"], row["issue_kind"]) == (cpt, group, None)


@pytest.mark.parametrize("raw", ["9921", "99213-25", "J110", "", "CPT99"])
def test_an_invalid_code_rejects_the_row_with_its_value(raw):
    row = parse(row_number=7, cpt=raw)
    assert row["row_number"] == 7
    assert row["issue_kind"] == "rejected"
    assert (row["issue_column"], row["issue_value"]) == ("cpt", raw)
    assert row["issue_reason"].startswith("Not a CPT")
    assert row["claim_id"] is None  # a rejected row carries no claim


# -- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("PAID", "PAID"),
        ("approved", "PAID"),
        (" Accepted ", "PAID"),
        ("DENIED", "DENIED"),
        ("rejected", "DENIED"),
        ("Declined", "DENIED"),
        ("PENDING", "PENDING"),
        ("open", "PENDING"),
        ("Submitted", "PENDING"),
    ],
)
def test_outcomes_map_to_paid_denied_or_pending(raw, outcome):
    row = parse(outcome=raw)
    assert row["outcome"] == outcome
    if outcome != "PENDING":
        assert row["issue_kind"] is None


@pytest.mark.parametrize("raw", ["PARTIAL", "adjusted", "Paid in part"])
def test_an_unknown_outcome_is_stored_as_other_with_a_warning(raw):
    row = parse(outcome=raw)
    assert row["outcome"] == "OTHER"
    assert (row["issue_kind"], row["issue_column"], row["issue_value"]) == (
        "warning",
        "outcome",
        raw,
    )
    assert row["issue_reason"] == "Not a known outcome: stored as OTHER."


def test_a_missing_outcome_rejects_the_row():
    row = parse(outcome="  ")
    assert (row["issue_kind"], row["issue_column"]) == ("rejected", "outcome")
    assert row["issue_reason"] == "The outcome is required."


def test_a_pending_claim_has_no_decision_date_and_says_so():
    row = parse(outcome="PENDING", decided_date="2024-03-10")
    assert row["outcome"] == "PENDING"
    assert row["decided_date"] is None
    assert (row["issue_kind"], row["issue_column"], row["issue_value"]) == (
        "warning",
        "decided_date",
        "2024-03-10",
    )


def test_a_pending_claim_without_a_decision_date_is_clean():
    row = parse(outcome="PENDING", decided_date="")
    assert (row["outcome"], row["decided_date"], row["issue_kind"]) == ("PENDING", None, None)


def test_an_unknown_outcome_still_needs_a_decision_date():
    row = parse(outcome="limbo", decided_date="")
    assert (row["issue_kind"], row["issue_column"]) == ("rejected", "decided_date")


# -- decision dates --------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["PAID", "DENIED", "weird"])
def test_a_decided_claim_needs_a_decision_date(outcome):
    row = parse(outcome=outcome, decided_date="")
    assert (row["issue_kind"], row["issue_column"], row["issue_value"]) == (
        "rejected",
        "decided_date",
        "",
    )
    assert row["issue_reason"] == "decided_date is required unless the outcome is PENDING."


def test_a_decision_before_the_submission_rejects_the_row():
    row = parse(submitted_date="03/10/2024", decided_date="2024/03/09")
    assert (row["issue_kind"], row["issue_column"], row["issue_value"]) == (
        "rejected",
        "decided_date",
        "2024/03/09",
    )
    assert row["issue_reason"] == "decided_date is before submitted_date."


def test_a_decision_on_the_day_of_submission_is_fine():
    row = parse(submitted_date="2024-03-10", decided_date="03/10/2024")
    assert row["decided_date"] == row["submitted_date"] == date(2024, 3, 10)
    assert row["issue_kind"] is None


def test_mixed_date_formats_in_one_row_are_read():
    row = parse(submitted_date="03/01/2024", decided_date="2024/03/10", payment_date="2024-03-12")
    assert (row["submitted_date"], row["decided_date"], row["payment_date"]) == (
        date(2024, 3, 1),
        date(2024, 3, 10),
        date(2024, 3, 12),
    )


@pytest.mark.parametrize(
    ("column", "raw", "reason"),
    [
        ("submitted_date", "", "submitted_date is required."),
        ("submitted_date", "31/12/2024", "Not a date (YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD)."),
        ("decided_date", "yesterday", "Not a date (YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD)."),
        ("payment_date", "2024-02-30", "Not a date (YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD)."),
    ],
)
def test_a_bad_date_rejects_the_row_naming_column_and_value(column, raw, reason):
    row = parse(**{column: raw})
    assert (row["issue_kind"], row["issue_column"], row["issue_value"], row["issue_reason"]) == (
        "rejected",
        column,
        raw,
        reason,
    )


# -- payer, claim_id, lengths, shape ------------------------------------------------------------


def test_payer_names_are_trimmed_and_collapsed_and_keyed_case_insensitively():
    row = parse(payer="  Blue   Cross\tBlue Shield ")
    assert row["payer_name"] == "Blue Cross Blue Shield"
    assert row["payer_key"] == "blue cross blue shield"
    assert parse(payer="  AETNA ")["payer_key"] == parse(payer="Aetna")["payer_key"] == "aetna"


def test_a_missing_payer_rejects_the_row():
    row = parse(payer="   ")
    assert (row["issue_kind"], row["issue_column"]) == ("rejected", "payer")
    assert row["issue_reason"] == "The payer is required."


@pytest.mark.parametrize(
    ("column", "limit"),
    [("claim_id", 64), ("payer", 200), ("denial_reason_code", 20), ("denial_reason_text", 300)],
)
def test_overlong_values_reject_the_row(column, limit):
    assert parse(**{column: "x" * limit})["issue_kind"] is None
    row = parse(**{column: "x" * (limit + 1)})
    assert (row["issue_kind"], row["issue_column"]) == ("rejected", column)
    assert row["issue_reason"] == f"Longer than {limit} characters."
    assert row["issue_value"] == ("x" * (limit + 1))[:200]  # cut to what the table holds


def test_a_payer_key_never_exceeds_what_the_table_holds():
    row = parse(payer="İ" * 150)
    assert row["issue_kind"] == "rejected" or len(row["payer_key"]) <= 200


def test_a_blank_claim_id_means_no_claim_id():
    assert parse(claim_id="  ")["claim_id"] is None
    assert parse(claim_id=" C-9 ")["claim_id"] == "C-9"


def test_denial_reasons_are_kept_and_text_collapsed():
    row = parse(outcome="DENIED", denial_reason_code="CO-197", denial_reason_text=" No  auth ")
    assert (row["denial_reason_code"], row["denial_reason_text"]) == ("CO-197", "No auth")


@pytest.mark.parametrize("width", [11, 13])
def test_a_row_with_the_wrong_number_of_fields_is_rejected(width):
    header = csvio.read_header(list(GOOD))
    row = dict(
        zip(
            csvio.STAGING_COLUMNS,
            csvio.ClaimRowParser(header).parse(4, [*GOOD.values(), "extra"][:width]),
            strict=True,
        )
    )
    assert (row["row_number"], row["issue_kind"], row["issue_column"]) == (4, "rejected", "")
    assert row["issue_reason"] == f"The row has {width} fields; the header has 12."


@pytest.mark.parametrize(
    "column", ["claim_id", "payer", "denial_reason_code", "denial_reason_text"]
)
def test_a_nul_character_in_a_stored_value_rejects_the_row(column):
    row = parse(**{column: "no\x00pe"})
    assert (row["issue_kind"], row["issue_reason"]) == (
        "rejected",
        "The row contains a NUL character.",
    )
    assert "\x00" not in row["issue_value"]  # PostgreSQL text cannot hold NUL


@pytest.mark.parametrize("column", ["cpt", "submitted_date", "billed_amount", "outcome"])
def test_a_value_kept_for_a_rejection_or_warning_never_carries_a_nul(column):
    row = parse(**{column: "9\x009"})
    assert row["issue_kind"] in ("rejected", "warning")
    assert row["issue_column"] == column
    assert row["issue_value"] == "9\\09"


def test_a_nul_in_an_ignored_phi_column_neither_rejects_the_row_nor_is_kept():
    header = csvio.read_header([*GOOD, "patient_name"])
    staged = csvio.ClaimRowParser(header).parse(1, [*GOOD.values(), "Jane\x00Roe"])
    row = dict(zip(csvio.STAGING_COLUMNS, staged, strict=True))
    assert (row["claim_id"], row["issue_kind"]) == ("C-1", None)
    assert not any("Jane" in str(value) for value in staged)


def test_parsing_leaves_the_given_row_alone():
    header = csvio.read_header(list(GOOD))
    given_row = list(GOOD.values())
    csvio.ClaimRowParser(header).parse(1, given_row)
    assert given_row == list(GOOD.values())


@settings(max_examples=150, deadline=None)
@given(
    fields=st.lists(st.text(max_size=24), min_size=10, max_size=14),
    number=st.integers(min_value=1, max_value=10**6),
)
def test_any_row_of_any_text_is_accepted_or_rejected_never_raises(fields, number):
    header = csvio.read_header(list(GOOD))
    row = dict(
        zip(
            csvio.STAGING_COLUMNS,
            csvio.ClaimRowParser(header).parse(number, fields),
            strict=True,
        )
    )
    assert row["row_number"] == number
    assert row["issue_kind"] in (None, "warning", "rejected")
    if row["issue_kind"] == "rejected":
        assert row["issue_column"] in ["", *csvio.KNOWN]
        assert row["issue_reason"]
        assert len(row["issue_value"]) <= 200
        assert row["payer_key"] is None
    else:
        assert row["outcome"] in ("PAID", "DENIED", "PENDING", "OTHER")
        assert isinstance(row["submitted_date"], date)
        assert row["decided_date"] is None or row["decided_date"] >= row["submitted_date"]
        assert row["payer_key"] == row["payer_name"].lower()


@FAST
@given(
    payer=st.text(alphabet=" \tAaEeTtNn", min_size=1, max_size=20).filter(str.strip),
)
def test_payer_spellings_that_differ_only_in_case_and_spacing_share_a_key(payer):
    canonical = " ".join(payer.split()).lower()
    assert parse(payer=payer)["payer_key"] == canonical
    assert parse(payer=f"  {payer.upper()}  ")["payer_key"] == canonical


# -- files: encoding, BOM, gzip, binary --------------------------------------------------------

SAMPLE = (
    "claim_id,payer,cpt,submitted_date,decided_date,outcome\n"
    "C-1,Aetna,99213,2024-03-01,2024-03-10,PAID\n"
    'C-2,"Cigna, Inc.",J1100,03/01/2024,,PENDING\n'
)


def test_a_utf8_file_reads_as_rows():
    assert rows_of(SAMPLE.encode()) == [
        ["claim_id", "payer", "cpt", "submitted_date", "decided_date", "outcome"],
        ["C-1", "Aetna", "99213", "2024-03-01", "2024-03-10", "PAID"],
        ["C-2", "Cigna, Inc.", "J1100", "03/01/2024", "", "PENDING"],
    ]


def test_a_byte_order_mark_is_not_part_of_the_first_column_name():
    rows = rows_of(b"\xef\xbb\xbf" + SAMPLE.encode())
    assert rows[0][0] == "claim_id"
    assert rows == rows_of(SAMPLE.encode())


def test_a_gzipped_file_reads_the_same_and_is_counted_and_hashed_as_stored():
    packed = gzip.compress(b"\xef\xbb\xbf" + SAMPLE.encode())
    counter, text = csvio.open_text(io.BytesIO(packed))
    assert list(csvio.iter_rows(text)) == rows_of(SAMPLE.encode())
    assert counter.bytes_read == len(packed)
    assert counter.sha256.hexdigest() == hashlib.sha256(packed).hexdigest()


@pytest.mark.parametrize(
    "data",
    [
        "payer,cpt\nSociété Générale,99213\n".encode("latin-1"),
        "payer,cpt\nAetna,99213\n".encode("utf-16"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U0#\xf4\x00\x00\x00L\x02",
    ],
    ids=["latin-1", "utf-16", "png", "xlsx"],
)
def test_a_file_that_is_not_utf8_is_a_file_problem(data):
    with pytest.raises(csvio.FileProblem, match="not UTF-8"):
        rows_of(data)


def test_a_pdf_is_not_a_csv():
    with pytest.raises(csvio.FileProblem, match="looks like a binary file"):
        rows_of(b"%PDF-1.4\n1 0 obj\n")  # refused from its first bytes
    with pytest.raises(csvio.FileProblem, match="looks like a binary file"):
        csvio.sniff_not_csv(["%PDF-1.4"])  # and from its first line, if it got that far


def test_a_header_with_nul_bytes_is_not_a_csv():
    with pytest.raises(csvio.FileProblem, match="not a CSV"):
        csvio.sniff_not_csv(["payer\x00", "cpt"])


def test_a_truncated_gzip_is_a_file_problem():
    with pytest.raises(csvio.FileProblem, match="not a readable CSV"):
        rows_of(gzip.compress(SAMPLE.encode())[:-12])


def test_a_corrupt_gzip_is_a_file_problem():
    packed = gzip.compress(SAMPLE.encode())
    with pytest.raises(csvio.FileProblem):
        rows_of(packed[:10] + b"\xff" * 20 + packed[30:])


def test_a_field_larger_than_the_csv_limit_is_a_file_problem():
    data = b"payer,cpt\n" + b'"' + b"x" * (csv.field_size_limit() + 1) + b'",99213\n'
    with pytest.raises(csvio.FileProblem, match="not a readable CSV"):
        rows_of(data)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300).filter(lambda b: not b.startswith(b"\x1f\x8b")))
def test_any_bytes_are_rows_or_a_file_problem(data):
    try:
        rows = rows_of(data)
    except csvio.FileProblem:
        return
    assert all(isinstance(field, str) for row in rows for field in row)


@FAST
@given(
    rows=st.lists(
        st.lists(
            st.text(
                alphabet=st.characters(
                    exclude_categories=("Cs",), exclude_characters="\x00\r\ufeff"
                ),
                max_size=12,
            )
        ),
        min_size=1,
        max_size=6,
    ).filter(lambda rows: all(row and any(row) for row in rows)),
    bom=st.booleans(),
    gzipped=st.booleans(),
)
def test_odd_strings_survive_a_round_trip_through_a_csv_file(rows, bom, gzipped):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    data = (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()
    if gzipped:
        data = gzip.compress(data)
    assert rows_of(data) == rows
