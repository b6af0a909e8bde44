"""The uploads resource: send a claims file, follow its status, read its rejected rows
(PRODUCT §3.1, §9, §10)."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims.generator import COLUMNS, csv_bytes
from portal.claims.models import Claim, Upload, UploadStatus
from tests.api.test_auth import assert_error
from tests.claims.samples import BAD, GOOD, ingest, upload_file

pytestmark = pytest.mark.django_db

URL = "/api/v1/uploads/"


# -- POST /uploads/ --------------------------------------------------------------------------------


def test_upload_answers_202_with_a_status_url_and_then_finishes(
    bearer, acme, analyst, django_capture_on_commit_callbacks
):
    client = bearer(analyst, acme, "write")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"file": upload_file(rows=GOOD + BAD)}, format="multipart")

    assert response.status_code == 202, response.content
    body = response.json()
    upload = Upload.objects.get(customer=acme)
    status_url = f"http://testserver/api/v1/uploads/{upload.pk}/"
    assert body["status_url"] == response["Location"] == status_url
    assert (body["status"], body["source"], body["file_name"]) == ("queued", "api", "claims.csv")
    assert body["uploaded_by"] == "ana@acme.test"

    finished = client.get(status_url).json()
    assert finished["status"] == "partially_succeeded"
    assert finished["counts"] == {
        "total": 6,
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "warnings": 1,
    }
    assert finished["progress_percent"] == 100 and finished["rows_processed"] == 6
    assert finished["size_bytes"] == len(csv_bytes(GOOD + BAD)) and len(finished["sha256"]) == 64
    assert finished["started_at"] and finished["finished_at"] and finished["seconds"] >= 0
    assert sorted(Claim.objects.filter(customer=acme).values_list("claim_id", flat=True)) == [
        "C1", "C2", "C3", "W1",
    ]  # fmt: skip
    created = AuditEvent.objects.get(action=Action.UPLOAD_CREATED)
    assert created.data["source"] == "api" and created.actor == analyst


def test_upload_summary_lists_ignored_and_phi_columns(
    bearer, acme, alice, django_capture_on_commit_callbacks
):
    rows = [[*row, "Jane Doe", "note"] for row in GOOD]
    file = upload_file(rows=rows, columns=[*COLUMNS, "patient_name", "notes"])
    client = bearer(alice, acme, "write")
    with django_capture_on_commit_callbacks(execute=True):
        pk = client.post(URL, {"file": file}, format="multipart").json()["id"]
    body = client.get(f"{URL}{pk}/").json()
    assert body["status"] == "succeeded"
    assert body["ignored_columns"] == ["patient_name", "notes"]
    assert body["phi_columns"] == ["patient_name"]


def test_an_unusable_file_fails_with_an_error(
    bearer, acme, alice, django_capture_on_commit_callbacks
):
    file = SimpleUploadedFile("x.csv", b"claim,who\n1,2\n", content_type="text/csv")
    client = bearer(alice, acme, "write")
    with django_capture_on_commit_callbacks(execute=True):
        pk = client.post(URL, {"file": file}, format="multipart").json()["id"]
    body = client.get(f"{URL}{pk}/").json()
    assert body["status"] == "failed"
    assert "Missing required columns" in body["error"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("claims.xlsx", b"payer\n", "claims.xlsx is not a .csv or .csv.gz file."),
        ("empty.csv", b"", "The submitted file is empty."),
    ],
)
def test_an_unacceptable_file_is_a_400_on_the_file_field(
    bearer, acme, alice, name, content, message
):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    response = bearer(alice, acme, "write").post(URL, {"file": file}, format="multipart")
    body = assert_error(response, 400)
    assert body["errors"][0]["attr"] == "file" and body["errors"][0]["detail"] == message
    assert not Upload.objects.exists()


def test_a_missing_file_is_a_400(bearer, acme, alice):
    body = assert_error(bearer(alice, acme, "write").post(URL, {}, format="multipart"), 400)
    assert body["errors"][0] == {
        "code": "required",
        "detail": "No file was submitted.",
        "attr": "file",
    }


def test_json_is_not_accepted_for_uploads(bearer, acme, alice):
    assert_error(bearer(alice, acme, "write").post(URL, {"file": "x"}), 415)


def test_read_token_cannot_upload(bearer, acme, alice):
    response = bearer(alice, acme, "read").post(URL, {"file": upload_file()}, format="multipart")
    body = assert_error(response, 403, "permission_denied")
    assert "read scope" in body["errors"][0]["detail"]
    assert not Upload.objects.exists()


def test_viewer_cannot_upload(bearer, acme, bob):
    response = bearer(bob, acme, "write").post(URL, {"file": upload_file()}, format="multipart")
    assert_error(response, 403, "permission_denied")
    assert not Upload.objects.exists()


def test_uploads_have_their_own_rate_limit(bearer, acme, alice, settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "uploads": "2/hour",
        },
    }
    client = bearer(alice, acme, "write")
    for _ in range(2):
        assert client.post(URL, {"file": upload_file()}, format="multipart").status_code == 202
    response = client.post(URL, {"file": upload_file()}, format="multipart")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert Upload.objects.count() == 2
    assert client.get(URL).status_code == 200  # reads are not throttled by it
    cache.clear()


# -- GET /uploads/ ---------------------------------------------------------------------------------


def finished_upload(customer, name, status=UploadStatus.SUCCEEDED, **counts):
    """An upload row as a finished import leaves it."""
    counts = {"rows_total": 3, "inserted": 3, **counts}
    return Upload.objects.create(customer=customer, file_name=name, status=status, **counts)


def test_any_role_lists_uploads_newest_first(bearer, acme, bob, tmp_path):
    first = ingest(acme, tmp_path, GOOD, name="march.csv")
    second = finished_upload(acme, "april.csv", UploadStatus.FAILED, inserted=0)
    body = bearer(bob, acme).get(URL).json()
    assert body["count"] == 2
    assert [u["id"] for u in body["results"]] == [second.pk, first.pk]
    assert body["results"][1]["counts"]["inserted"] == 3
    assert body["results"][1]["source"] == "command"
    assert body["results"][0]["status"] == "failed"


def test_uploads_filter_by_status_and_search_by_file_name(bearer, acme, bob):
    finished_upload(acme, "march.csv")
    finished_upload(acme, "april.csv", UploadStatus.FAILED, inserted=0)
    client = bearer(bob, acme)

    def names(**params):
        return [u["file_name"] for u in client.get(URL, params).json()["results"]]

    assert names(status="failed") == ["april.csv"]
    assert names(search="marc") == ["march.csv"]
    assert names(q="apr") == ["april.csv"]
    assert names(ordering="file_name") == ["april.csv", "march.csv"]
    assert_error(client.get(URL, {"status": "nope"}), 400, "invalid_choice")


def test_unknown_upload_is_404(bearer, acme, alice):
    assert_error(bearer(alice, acme).get(f"{URL}999999/"), 404, "not_found")


def test_charlie_gets_404_on_acmes_upload(bearer, acme, globex, charlie, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client = bearer(charlie, globex)
    assert_error(client.get(f"{URL}{upload.pk}/"), 404)
    assert_error(client.get(f"{URL}{upload.pk}/rejected-rows/"), 404)
    assert client.get(URL).json()["count"] == 0


# -- GET /uploads/{id}/rejected-rows/ ------------------------------------------------------------


def test_rejected_rows_are_paginated_in_file_order(bearer, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, BAD * 3)  # B1, B2 rejected per copy; W1 warned
    client = bearer(bob, acme)
    url = f"{URL}{upload.pk}/rejected-rows/"
    first = client.get(url, {"page_size": 4}).json()
    assert first["count"] == 9 and len(first["results"]) == 4 and first["previous"] is None
    pages, next_url = [first], first["next"]
    while next_url:
        pages.append(client.get(next_url).json())
        next_url = pages[-1]["next"]
    assert [len(page["results"]) for page in pages] == [4, 4, 1]
    assert [r["row"] for page in pages for r in page["results"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert first["results"][0] == {
        "id": first["results"][0]["id"],
        "row": 1,
        "kind": "rejected",
        "column": "cpt",
        "value": "XYZ",
        "reason": "Not a CPT (e.g. 99213, 0001U, 1234F) or HCPCS (e.g. J1100) code.",
    }


def test_rejected_rows_filter_by_kind_and_column(bearer, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    client = bearer(bob, acme)
    url = f"{URL}{upload.pk}/rejected-rows/"

    def rows(**params):
        return [(r["row"], r["kind"]) for r in client.get(url, params).json()["results"]]

    assert rows() == [(4, "rejected"), (5, "rejected"), (6, "warning")]
    assert rows(kind="warning") == [(6, "warning")]
    assert rows(kind="rejected") == [(4, "rejected"), (5, "rejected")]
    assert rows(column="DECIDED_DATE") == [(5, "rejected")]
    assert rows(search="before submitted") == [(5, "rejected")]
    assert rows(ordering="-row_number") == [(6, "warning"), (5, "rejected"), (4, "rejected")]
    assert_error(client.get(url, {"kind": "fatal"}), 400, "invalid_choice")


def test_reading_rejected_rows_is_audited(bearer, acme, bob, tmp_path):
    upload = ingest(acme, tmp_path, GOOD + BAD)
    bearer(bob, acme).get(f"{URL}{upload.pk}/rejected-rows/", {"kind": "rejected", "page": 1})
    event = AuditEvent.objects.get(action=Action.REJECTED_ROWS_VIEWED)
    assert (event.actor, event.customer, event.object_id) == (bob, acme, str(upload.pk))
    assert event.data == {"page": "1", "rows": 2, "filters": {"kind": "rejected"}}


def test_upload_list_costs_the_same_queries_for_any_page_size(
    bearer, acme, alice, django_assert_max_num_queries
):
    for i in range(30):
        Upload.objects.create(
            customer=acme, file_name=f"f{i}.csv", uploaded_by=alice, status=UploadStatus.SUCCEEDED
        )
    client = bearer(alice, acme)
    client.get(URL)  # the token's last-used time is written once a minute: not in the count
    with django_assert_max_num_queries(20) as small:
        assert len(client.get(URL, {"page_size": 2}).json()["results"]) == 2
    with django_assert_max_num_queries(20) as large:
        assert len(client.get(URL, {"page_size": 30}).json()["results"]) == 30
    assert len(large.captured_queries) == len(small.captured_queries)
