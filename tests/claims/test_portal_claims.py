"""The claims page (PRODUCT §8): every filter narrows, choices stay inside the customer, the CSV
export honours the filters, and viewing or exporting claims is audited (§10)."""

import csv
import io
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims import services
from portal.claims.generator import csv_bytes
from portal.claims.models import Claim, Payer, Upload, UploadStatus

pytestmark = pytest.mark.django_db

URL = reverse("claims:claim-list", args=["acme"])
EXPORT = reverse("claims:claim-export", args=["acme"])


def row(claim_id, payer, cpt, submitted, decided, outcome, billed="100.00", code=""):
    allowed, paid = ("0.00", "0.00") if outcome == "DENIED" else ("80.00", "70.00")
    if outcome == "PENDING":
        allowed = paid = ""
    return [claim_id, payer, cpt, submitted, decided, outcome, billed, allowed, paid, code, "", ""]


ROWS = [
    row("A1", "Aetna", "99213", "2025-01-10", "2025-01-20", "PAID", billed="100.00"),
    row("A2", "Aetna", "80053", "2025-02-10", "2025-02-12", "DENIED", "50.00", code="CO-97"),
    row("A3", "Cigna", "99214", "2025-03-10", "", "PENDING", billed="300.00"),
    row("A4", "Cigna", "71046", "2025-03-15", "2025-04-01", "DENIED", "20.00", code="CO-16"),
    row("A5", "Humana", "J1100", "2025-04-01", "2025-04-03", "PAID", billed="10.00"),
    row("X99", "aetna ", "99215", "2025-04-05", "2025-04-09", "PAID", billed="200.00"),
]


@pytest.fixture
def upload(acme, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_bytes(csv_bytes(ROWS))
    upload = services.ingest_file(customer=acme, raw_path=str(path))
    assert upload.inserted == len(ROWS)
    return upload


@pytest.fixture
def globex_claim(globex):
    """Globex's own claim and payers (made directly: one import per test transaction)."""
    payer = Payer.objects.create(customer=globex, key="aetna", name="Aetna")
    Payer.objects.create(customer=globex, key="globex only", name="Globex Only")
    return Claim.objects.create(
        customer=globex,
        claim_id="G1",
        payer=payer,
        payer_key="aetna",
        cpt="99213",
        cpt_group="E/M",
        submitted_date=date(2025, 3, 1),
        decided_date=date(2025, 3, 2),
        outcome="PAID",
    )


def shown(response) -> list[str]:
    return [r.record.claim_id for r in response.context["table"].page.object_list]


def test_claims_are_listed_newest_submitted_first(client, bob, upload, globex_claim):
    client.force_login(bob)
    response = client.get(URL)
    assert response.status_code == 200
    assert shown(response) == ["X99", "A5", "A4", "A3", "A2", "A1"]
    page = response.content.decode()
    for header in ("Claim id", "Payer", "CPT group", "Submitted", "Decided", "Outcome",
                   "Billed", "Allowed", "Paid", "Denial code"):  # fmt: skip
        assert re.search(rf">\s*{re.escape(header)}\s*<", page), header
    assert "G1" not in page  # Globex's claim


def test_payer_names_are_normalised_into_one_payer(client, bob, upload):
    client.force_login(bob)
    page = client.get(URL, {"q": "X"}).content.decode()
    assert ">Aetna<" in page and "aetna " not in page


def payer(customer, name):
    return Payer.objects.get(customer=customer, name=name).pk


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"payer": "Aetna"}, ["X99", "A2", "A1"]),
        ({"cpt": "80053"}, ["A2"]),
        ({"cpt": " j1100 "}, ["A5"]),
        ({"cpt_group": "Radiology"}, ["A4"]),
        ({"cpt_group": "E/M"}, ["X99", "A3", "A1"]),
        ({"outcome": "DENIED"}, ["A4", "A2"]),
        ({"outcome": "PENDING"}, ["A3"]),
        ({"submitted_from": "2025-03-15"}, ["X99", "A5", "A4"]),
        ({"submitted_until": "2025-02-10"}, ["A2", "A1"]),
        ({"decided_from": "2025-04-01", "decided_until": "2025-04-03"}, ["A5", "A4"]),
        ({"q": "X"}, ["X99"]),
        ({"q": "A"}, ["A5", "A4", "A3", "A2", "A1"]),
        ({"outcome": "PAID", "payer": "Aetna"}, ["X99", "A1"]),
    ],
)
def test_each_filter_narrows_the_claims(client, acme, bob, upload, params, expected):
    if "payer" in params:
        params = {**params, "payer": payer(acme, params["payer"])}
    client.force_login(bob)
    assert shown(client.get(URL, params)) == expected


def test_the_upload_filter_narrows_to_one_upload(client, acme, bob, upload):
    other = Upload.objects.create(customer=acme, file_name="old.csv", status=UploadStatus.FAILED)
    client.force_login(bob)
    assert len(shown(client.get(URL, {"upload": upload.pk}))) == 6
    assert shown(client.get(URL, {"upload": other.pk})) == []


def test_payer_and_upload_choices_never_include_another_customers(
    client, acme, globex, bob, upload, globex_claim
):
    globex_upload = Upload.objects.create(customer=globex, file_name="globex.csv")
    client.force_login(bob)
    response = client.get(URL)
    form = response.context["filter"].form
    assert {p.name for p in form.fields["payer"].queryset} == {"Aetna", "Cigna", "Humana"}
    assert all(p.customer_id == acme.pk for p in form.fields["payer"].queryset)
    assert list(form.fields["upload"].queryset) == [upload]
    page = response.content.decode()
    assert "Globex Only" not in page and "globex.csv" not in page
    # and they are refused, not silently ignored
    response = client.get(URL, {"payer": payer(globex, "Aetna")})
    assert shown(response) == []
    assert "payer" in response.context["filter"].form.errors
    assert shown(client.get(URL, {"upload": globex_upload.pk})) == []


def test_cpt_group_choices_include_the_customers_own_groups(client, acme, bob, upload):
    services.cpt_group_save(customer=acme, cpt="99213", group="Office visits", actor=None)
    client.force_login(bob)
    choices = dict(client.get(URL).context["filter"].form.fields["cpt_group"].widget.choices)
    assert "Office visits" in choices and "E/M" in choices and "Radiology" in choices


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("submitted_date", ["A1", "A2", "A3", "A4", "A5", "X99"]),
        ("-decided_date", ["A3", "X99", "A5", "A4", "A2", "A1"]),  # PENDING: no date, first
        ("billed_amount", ["A5", "A4", "A2", "A1", "X99", "A3"]),
        ("-billed_amount", ["A3", "X99", "A1", "A2", "A4", "A5"]),
    ],
)
def test_claims_sort_by_dates_and_amounts(client, bob, upload, sort, expected):
    client.force_login(bob)
    assert shown(client.get(URL, {"sort": sort})) == expected


def test_filtering_with_htmx_returns_the_table_and_moves_the_export_link(client, bob, upload):
    client.force_login(bob)
    response = client.get(URL, {"outcome": "DENIED"}, headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert "<html" not in fragment and 'id="table-region"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert f'href="{EXPORT}?outcome=DENIED"' in fragment


def test_the_export_link_carries_the_filters_but_not_the_page(client, bob, upload):
    client.force_login(bob)
    page = client.get(URL, {"outcome": "PAID", "page": "1", "sort": "billed_amount"})
    assert f'href="{EXPORT}?outcome=PAID"' in page.content.decode()
    assert 'hx-swap-oob="true"' not in page.content.decode()


def test_claims_paginate_by_50_with_a_constant_number_of_queries(client, acme, bob, tmp_path):
    rows = [row(f"P{n:03d}", f"Payer {n % 7}", "99213", "2025-01-10", "2025-01-11", "PAID")
            for n in range(120)]  # fmt: skip
    path = tmp_path / "many.csv"
    path.write_bytes(csv_bytes(rows))
    services.ingest_file(customer=acme, raw_path=str(path))
    client.force_login(bob)
    client.get(URL)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as full_page:
        response = client.get(URL)
    assert len(shown(response)) == 50
    assert response.context["table"].paginator.num_pages == 3
    with CaptureQueriesContext(connection) as one_row:
        assert len(shown(client.get(URL, {"q": "P007"}))) == 1
    assert len(full_page) == len(one_row)  # no per-row queries


def test_empty_states_tell_nothing_yet_from_nothing_matches(client, bob, upload, acme):
    client.force_login(bob)
    assert "Nothing matches these filters" in client.get(URL, {"q": "nope"}).content.decode()
    Claim.objects.filter(customer=acme).delete()
    assert "No claims yet" in client.get(URL).content.decode()


# -- audit ---------------------------------------------------------------------------------------


def test_viewing_claims_is_audited_with_page_and_filters(client, acme, bob, upload):
    client.force_login(bob)
    client.get(URL, {"outcome": "DENIED", "page": "1", "sort": "billed_amount"})
    event = AuditEvent.objects.get(action=Action.CLAIMS_VIEWED)
    assert (event.actor, event.customer) == (bob, acme)
    assert event.data == {"page": "1", "filters": {"outcome": "DENIED"}}


def test_each_page_view_is_one_audit_event(client, bob, upload):
    client.force_login(bob)
    client.get(URL)
    client.get(URL, {"q": "A"}, headers={"HX-Request": "true"})
    assert AuditEvent.objects.filter(action=Action.CLAIMS_VIEWED).count() == 2


# -- export --------------------------------------------------------------------------------------


def exported(response) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_honours_the_filters_and_is_audited(client, acme, bob, upload, globex_claim):
    client.force_login(bob)
    response = client.get(EXPORT, {"outcome": "DENIED", "payer": payer(acme, "Aetna")})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="claims-acme-' in response["Content-Disposition"]
    rows = exported(response)
    assert rows[0][:7] == [
        "claim_id", "payer", "cpt", "cpt_group", "submitted_date", "decided_date", "outcome",
    ]  # fmt: skip
    assert rows[1:] == [
        ["A2", "Aetna", "80053", "Pathology/Lab", "2025-02-10", "2025-02-12", "DENIED",
         "50.00", "0.00", "0.00", "CO-97", "", ""],
    ]  # fmt: skip
    event = AuditEvent.objects.get(action=Action.CLAIMS_EXPORTED)
    assert (event.actor, event.customer) == (bob, acme)
    assert event.data == {"filters": {"outcome": "DENIED", "payer": str(payer(acme, "Aetna"))}}


def test_export_without_filters_has_every_claim_of_the_customer_only(
    client, bob, upload, globex_claim
):
    client.force_login(bob)
    ids = [r[0] for r in exported(client.get(EXPORT))[1:]]
    assert ids == ["X99", "A5", "A4", "A3", "A2", "A1"]


def test_export_refuses_filters_it_cannot_apply(client, bob, globex, upload, globex_claim):
    client.force_login(bob)
    response = client.get(EXPORT, {"payer": payer(globex, "Aetna")})
    assert response.status_code == 400
    response = client.get(EXPORT, {"submitted_from": "yesterday"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=Action.CLAIMS_EXPORTED).exists()


def test_charlie_cannot_export_acme_claims(client, charlie, upload):
    client.force_login(charlie)
    assert client.get(EXPORT).status_code == 404
    assert client.get(URL).status_code == 404
