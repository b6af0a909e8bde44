"""The events other apps emit, in the transaction of their cause (PRODUCT §6)."""

import json

import pytest

from portal.webhooks.models import WebhookMessage
from tests.claims.samples import GOOD, ingest
from tests.drift.test_portal import AS_OF, load

pytestmark = pytest.mark.django_db


def payloads(customer, event_type):
    return [
        json.loads(p)
        for p in WebhookMessage.objects.filter(customer=customer, event_type=event_type)
        .order_by("pk")
        .values_list("payload", flat=True)
    ]


def test_an_upload_emits_upload_completed_with_counts_and_no_claim_data(
    acme, make_endpoint, tmp_path
):
    make_endpoint("https://hooks.example.com/in")
    upload = ingest(acme, tmp_path, GOOD)
    (body,) = payloads(acme, "upload.completed")
    assert body["data"] == {
        "customer": "acme",
        "upload_id": upload.pk,
        "status": "succeeded",
        "rows_total": 3,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert "C1" not in json.dumps(body)  # no claim ids


def test_an_unusable_file_emits_upload_failed(acme, make_endpoint, tmp_path):
    make_endpoint("https://hooks.example.com/in")
    path = tmp_path / "bad.csv"
    path.write_bytes(b"not,a,claims,file\n1,2,3,4\n")
    from portal.claims import services as claims

    upload = claims.ingest_file(customer=acme, raw_path=str(path))
    (body,) = payloads(acme, "upload.failed")
    assert body["data"]["upload_id"] == upload.pk and body["data"]["status"] == "failed"


def test_a_drift_run_emits_created_events_then_updated_on_a_rerun(acme, make_endpoint, tmp_path):
    from portal.drift import services as drift

    make_endpoint("https://hooks.example.com/in")
    load(acme, tmp_path)
    first = drift.detect_now(customer=acme, as_of=AS_OF)
    created = payloads(acme, "drift_event.created")
    assert len(created) == first.events_created > 0
    assert {b["data"]["drift_run_id"] for b in created} == {first.pk}
    assert set(created[0]["data"]) == {
        "customer", "drift_event_id", "drift_run_id", "payer_id", "cpt_group", "drift_type",
        "direction", "severity", "label",
    }  # fmt: skip
    (completed,) = payloads(acme, "drift_run.completed")
    assert completed["data"]["events_created"] == first.events_created

    second = drift.detect_now(customer=acme, as_of=AS_OF)
    assert len(payloads(acme, "drift_event.created")) == len(created)  # nothing new
    assert len(payloads(acme, "drift_event.updated")) == second.events_updated
    assert len(payloads(acme, "drift_run.completed")) == 2


def test_without_endpoints_nothing_is_written(acme, tmp_path):
    ingest(acme, tmp_path, GOOD)
    assert not WebhookMessage.objects.exists()
