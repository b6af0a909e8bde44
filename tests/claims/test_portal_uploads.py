"""Portal uploads (PRODUCT §3, §8): the form, the live progress, the rejected rows and their CSV."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims import services
from portal.claims.generator import COLUMNS, ClaimsSpec, csv_bytes, generate_rows
from portal.claims.models import Claim, Upload, UploadStatus
from tests.claims.samples import BAD, GOOD, claim, ingest, upload_file

pytestmark = pytest.mark.django_db


def detail_url(upload, suffix="upload-detail"):
    return reverse(f"claims:{suffix}", args=[upload.customer.slug, upload.pk])


# -- the upload form -----------------------------------------------------------------------------


def test_upload_through_the_form_ends_in_a_finished_upload(
    client, acme, analyst, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("claims:upload-list", args=["acme"]), {"file": upload_file(rows=GOOD + BAD)}
        )
    upload = Upload.objects.get(customer=acme)
    assert response.status_code == 302
    assert response["Location"] == detail_url(upload)
    assert upload.status == UploadStatus.PARTIAL
    assert (upload.rows_total, upload.inserted, upload.rejected, upload.warnings) == (6, 4, 2, 1)
    assert upload.uploaded_by == analyst and upload.source == "portal"
    assert sorted(Claim.objects.filter(customer=acme).values_list("claim_id", flat=True)) == [
        "C1", "C2", "C3", "W1",
    ]  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert "Partially succeeded" in page
    assert "every 1s" not in page  # finished: nothing to poll


def test_upload_list_shows_uploads_with_counts(client, acme, alice, tmp_path):
    ingest(acme, tmp_path, GOOD + BAD, name="march.csv")
    client.force_login(alice)
    response = client.get(reverse("claims:upload-list", args=["acme"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "march.csv" in page and "Partially succeeded" in page
    row = response.context["table"].page.object_list[0].record
    assert (row.inserted, row.rejected) == (4, 2)
    assert 'enctype="multipart/form-data"' in page


def test_upload_list_filters_by_status(client, acme, alice, tmp_path):
    ingest(acme, tmp_path, GOOD, name="good.csv")
    # one import per test transaction: the import's staging table lives until commit
    Upload.objects.create(customer=acme, file_name="bad.csv", status=UploadStatus.FAILED)
    client.force_login(alice)
    response = client.get(reverse("claims:upload-list", args=["acme"]), {"status": "failed"})
    names = [row.record.file_name for row in response.context["table"].page.object_list]
    assert names == ["bad.csv"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("claims.xlsx", b"payer\n", "is not a .csv or .csv.gz file"),
        ("empty.csv", b"", "empty"),
    ],
)
def test_an_unacceptable_file_is_a_form_error(client, acme, alice, name, content, message):
    client.force_login(alice)
    response = client.post(
        reverse("claims:upload-list", args=["acme"]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Upload.objects.exists()


def test_an_unusable_csv_fails_with_a_message_naming_what_is_missing(
    client, acme, alice, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    file = SimpleUploadedFile("x.csv", b"claim,who\n1,2\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("claims:upload-list", args=["acme"]), {"file": file})
    page = client.get(response["Location"]).content.decode()
    assert Upload.objects.get().status == UploadStatus.FAILED
    assert "Missing required columns" in page


def test_viewer_cannot_upload_and_sees_no_form(client, acme, bob):
    client.force_login(bob)
    url = reverse("claims:upload-list", args=["acme"])
    assert 'id="upload-form"' not in client.get(url).content.decode()
    assert client.post(url, {"file": upload_file()}).status_code == 403
    assert not Upload.objects.exists()


def test_charlie_cannot_upload_to_acme(client, acme, charlie):
    client.force_login(charlie)
    response = client.post(reverse("claims:upload-list", args=["acme"]), {"file": upload_file()})
    assert response.status_code == 404
    assert not Upload.objects.exists()


# -- progress ------------------------------------------------------------------------------------


def make_upload(customer, **fields):
    return Upload.objects.create(customer=customer, file_name="big.csv", size_bytes=1000, **fields)


def test_a_queued_upload_polls_its_progress(client, acme, bob):
    upload = make_upload(acme)
    client.force_login(bob)
    page = client.get(detail_url(upload)).content.decode()
    progress_url = detail_url(upload, "upload-progress")
    assert f'hx-get="{progress_url}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert "<progress" in page and "Waiting for a worker" in page


def test_the_progress_fragment_of_a_running_upload_shows_percent_and_rows(client, acme, bob):
    upload = make_upload(
        acme, status=UploadStatus.PROCESSING, bytes_processed=420, rows_processed=1234
    )
    client.force_login(bob)
    response = client.get(detail_url(upload, "upload-progress"), headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section id="upload-summary"')
    assert "<html" not in fragment
    assert 'hx-trigger="every 1s"' in fragment
    assert re.search(r'<progress[^>]*max="100" value="42"', fragment)
    assert "42%" in fragment and "1234 rows processed" in fragment
    assert "HX-Trigger" not in response.headers


def test_the_finished_fragment_stops_polling_and_shows_the_summary(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client.force_login(bob)
    response = client.get(detail_url(upload, "upload-progress"), headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert "hx-trigger" not in fragment and "<progress" not in fragment
    assert "Partially succeeded" in fragment
    assert re.search(r"<dt>Rejected</dt><dd>2</dd>", fragment)
    # the page's rejected-rows table listens for this event and loads itself
    assert response.headers["HX-Trigger"] == "upload-finished"


def test_the_summary_calls_out_phi_columns(client, acme, bob, tmp_path):
    rows = [[*claim("C1"), "Jane Doe", "1980-01-01", "blue"]]
    path = tmp_path / "phi.csv"
    path.write_bytes(csv_bytes(rows, [*COLUMNS, "patient_name", "DOB", "colour"]))
    upload = services.ingest_file(customer=acme, raw_path=str(path))
    client.force_login(bob)
    page = client.get(detail_url(upload)).content.decode()
    assert 'id="phi-columns"' in page
    phi = page.split('id="phi-columns"')[1].split("</div>")[0]
    assert "patient_name" in phi and "DOB" in phi and "colour" not in phi
    assert "Ignored columns" in page and "colour" in page


def test_the_summary_shows_size_sha256_and_timings(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD)
    upload.refresh_from_db()
    client.force_login(bob)
    page = client.get(detail_url(upload)).content.decode()
    assert upload.sha256 and upload.sha256 in page
    assert "Finished" in page and "Started" in page
    assert "Succeeded" in page


# -- rejected rows -------------------------------------------------------------------------------


def test_rejected_rows_are_listed_with_row_column_value_and_reason(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client.force_login(bob)
    response = client.get(detail_url(upload))
    rows = [
        (r.record.row_number, r.record.kind, r.record.column, r.record.value)
        for r in response.context["table"].page.object_list
    ]
    assert rows == [
        (4, "rejected", "cpt", "XYZ"),
        (5, "rejected", "decided_date", "2025-02-01"),
        (6, "warning", "outcome", "WEIRD"),
    ]
    assert "Not a CPT" in response.content.decode()


def test_rejected_rows_filter_by_kind(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client.force_login(bob)
    response = client.get(detail_url(upload), {"kind": "warning"})
    assert [r.record.row_number for r in response.context["table"].page.object_list] == [6]


def test_rejected_rows_are_paginated_and_the_table_swaps_alone(client, acme, bob, tmp_path):
    rows = [claim(f"B{n}", cpt="bad") for n in range(60)] + GOOD
    upload = ingest(acme, tmp_path, rows)
    client.force_login(bob)
    response = client.get(detail_url(upload), {"page": 2}, headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="table-region"')
    assert len(response.context["table"].page.object_list) == 10
    assert "page 2 of 2" in fragment


def test_viewing_rejected_rows_is_audited_once_per_page_view(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client.force_login(bob)
    client.get(detail_url(upload))
    client.get(detail_url(upload), {"kind": "rejected"})
    events = AuditEvent.objects.filter(action=Action.REJECTED_ROWS_VIEWED).order_by("id")
    assert [(e.actor, e.customer, e.object_id) for e in events] == [(bob, acme, str(upload.pk))] * 2
    assert events[1].data == {"page": "1", "kind": "rejected"}


def test_a_clean_upload_has_no_rejected_rows_to_audit(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD)
    client.force_login(bob)
    assert "No row was rejected" in client.get(detail_url(upload)).content.decode()
    assert not AuditEvent.objects.filter(action=Action.REJECTED_ROWS_VIEWED).exists()


def test_rejected_rows_download_as_csv_and_are_audited(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client.force_login(bob)
    response = client.get(detail_url(upload, "upload-rejected-csv"))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["row", "kind", "column", "value", "reason"]
    assert [r[:4] for r in rows[1:]] == [
        ["4", "rejected", "cpt", "XYZ"],
        ["5", "rejected", "decided_date", "2025-02-01"],
        ["6", "warning", "outcome", "WEIRD"],
    ]
    event = AuditEvent.objects.get(action=Action.REJECTED_ROWS_EXPORTED)
    assert (event.actor, event.customer, event.object_id) == (bob, acme, str(upload.pk))


def test_rejected_rows_csv_honours_the_kind_filter(client, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client.force_login(bob)
    page = client.get(detail_url(upload), {"kind": "rejected"}).content.decode()
    assert f"{detail_url(upload, 'upload-rejected-csv')}?kind=rejected" in page
    response = client.get(detail_url(upload, "upload-rejected-csv"), {"kind": "rejected"})
    body = b"".join(response.streaming_content).decode()
    assert body.count("\n") == 3 and "WEIRD" not in body
    event = AuditEvent.objects.get(action=Action.REJECTED_ROWS_EXPORTED)
    assert event.data == {"kind": "rejected"}


def test_a_generated_file_imports_through_the_portal(
    client, acme, alice, django_capture_on_commit_callbacks
):
    data = csv_bytes(list(generate_rows(ClaimsSpec(rows=300, seed=3))))
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("claims:upload-list", args=["acme"]),
            {"file": SimpleUploadedFile("gen.csv", data, content_type="text/csv")},
        )
    upload = Upload.objects.get()
    assert (upload.status, upload.inserted) == (UploadStatus.SUCCEEDED, 300)
    assert not upload.file  # the stored copy is deleted after the import
