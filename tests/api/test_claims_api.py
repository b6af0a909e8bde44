"""The claims resource: the portal's filters, paginated, tenant-scoped and audited
(PRODUCT §9, §10, §12)."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims.models import Claim, CptGroupOverride, Outcome, Payer, Upload, UploadStatus
from tests.api.test_auth import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/claims/"
DAY = date(2026, 3, 1)


def payer(customer, name):
    return Payer.objects.get_or_create(
        customer=customer, key=name.lower(), defaults={"name": name}
    )[0]


def make_claim(customer, claim_id, *, payer_name="Aetna", submitted=DAY, decided=5, **fields):
    """A claim as an import writes it: ``decided`` is days after submission (None: pending)."""
    values = {
        "cpt": "99213",
        "cpt_group": "E/M",
        "outcome": Outcome.PAID if decided is not None else Outcome.PENDING,
        "allowed_amount": Decimal("80.00"),
        **fields,
    }
    return Claim.objects.create(
        customer=customer,
        claim_id=claim_id,
        payer=payer(customer, payer_name),
        payer_key=payer_name.lower(),
        submitted_date=submitted,
        decided_date=submitted + timedelta(days=decided) if decided is not None else None,
        **values,
    )


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["claim_id"] for c in response.json()["results"]]


def viewed_events():
    return AuditEvent.objects.filter(action=Action.CLAIMS_VIEWED).order_by("id")


def test_any_role_lists_claims_newest_submission_first(bearer, acme, bob):
    older = make_claim(acme, "C-OLD", submitted=DAY - timedelta(days=10))
    newer = make_claim(
        acme,
        "C-NEW",
        payer_name="Cigna",
        outcome=Outcome.DENIED,
        billed_amount=Decimal("1250.5"),
        paid_amount=Decimal("0"),
        denial_reason_code="CO-97",
        denial_reason_text="Service included in another service",
    )
    body = bearer(bob, acme).get(URL).json()
    assert body["count"] == 2
    assert [c["id"] for c in body["results"]] == [newer.pk, older.pk]
    assert body["results"][0] == {
        "id": newer.pk,
        "claim_id": "C-NEW",
        "payer": "Cigna",
        "payer_id": newer.payer_id,
        "cpt": "99213",
        "cpt_group": "E/M",
        "submitted_date": "2026-03-01",
        "decided_date": "2026-03-06",
        "outcome": "DENIED",
        "billed_amount": "1250.50",
        "allowed_amount": "80.00",
        "paid_amount": "0.00",
        "denial_reason_code": "CO-97",
        "denial_reason_text": "Service included in another service",
        "payment_date": None,
        "upload_id": None,
    }


def test_one_claim(bearer, acme, bob):
    claim = make_claim(acme, "C1", decided=None)
    body = bearer(bob, acme).get(f"{URL}{claim.pk}/").json()
    assert (body["claim_id"], body["outcome"], body["decided_date"]) == ("C1", "PENDING", None)


def test_claims_are_read_only(bearer, acme, alice):
    claim = make_claim(acme, "C1")
    client = bearer(alice, acme, "write")
    assert_error(client.post(URL, {"claim_id": "X"}), 405, "method_not_allowed")
    assert_error(client.delete(f"{URL}{claim.pk}/"), 405)


def test_filters_are_the_portals(bearer, acme, bob):
    upload = Upload.objects.create(customer=acme, file_name="a.csv", status=UploadStatus.SUCCEEDED)
    make_claim(acme, "A-1", submitted=DAY, decided=3, upload=upload)
    make_claim(acme, "A-2", payer_name="Cigna", submitted=DAY + timedelta(days=10), decided=40)
    make_claim(acme, "B-1", outcome=Outcome.DENIED, cpt="71046", cpt_group="Radiology", decided=1)
    make_claim(acme, "B-2", submitted=DAY - timedelta(days=30), decided=None)
    cigna = Payer.objects.get(customer=acme, key="cigna")
    client = bearer(bob, acme)

    def found(**params):
        return sorted(ids(client.get(URL, params)))

    assert found(payer=cigna.pk) == ["A-2"]
    assert found(outcome="DENIED") == ["B-1"]
    assert found(outcome="PENDING") == ["B-2"]
    assert found(submitted_from="2026-03-01") == ["A-1", "A-2", "B-1"]
    assert found(submitted_from="2026-03-02", submitted_until="2026-03-31") == ["A-2"]
    assert found(submitted_until="2026-02-28") == ["B-2"]
    assert found(decided_from="2026-03-04", decided_until="2026-03-04") == ["A-1"]
    assert found(decided_until="2026-03-05") == ["A-1", "B-1"]
    assert found(cpt_group="Radiology") == ["B-1"]
    assert found(cpt=" 71046 ") == ["B-1"]
    assert found(upload=upload.pk) == ["A-1"]
    assert found(search="A-") == ["A-1", "A-2"]
    assert found(q="B-") == ["B-1", "B-2"]
    assert found(search="-1") == []  # claim id *starts with*
    assert found(outcome="PAID", payer=cigna.pk, submitted_from="2026-03-05") == ["A-2"]


def test_a_customers_own_cpt_group_is_a_filter_choice(bearer, acme, bob):
    CptGroupOverride.objects.create(customer=acme, cpt="99213", group="Office visits")
    make_claim(acme, "C1", cpt_group="Office visits")
    make_claim(acme, "C2", cpt="71046", cpt_group="Radiology")
    client = bearer(bob, acme)
    assert ids(client.get(URL, {"cpt_group": "Office visits"})) == ["C1"]
    assert ids(client.get(URL, {"cpt_group": "Office"})) == []  # the group's exact name


@pytest.mark.parametrize(
    ("params", "attr", "code"),
    [
        ({"outcome": "MAYBE"}, "outcome", "invalid_choice"),
        ({"submitted_from": "01/03/2026x"}, "submitted_from", "invalid"),
        ({"payer": "999999"}, "payer", "invalid_choice"),
    ],
)
def test_invalid_filters_are_400_naming_the_filter(bearer, acme, bob, params, attr, code):
    body = assert_error(bearer(bob, acme).get(URL, params), 400, code)
    assert body["errors"][0]["attr"] == attr
    assert not viewed_events().exists()  # nothing was shown


def test_ordering_is_whitelisted_and_stable_across_pages(bearer, acme, bob):
    for i in range(7):
        make_claim(acme, f"C{i}", outcome=Outcome.DENIED if i % 2 else Outcome.PAID)
    client = bearer(bob, acme)
    assert ids(client.get(URL, {"ordering": "claim_id"})) == [f"C{i}" for i in range(7)]
    pages = [
        ids(client.get(URL, {"ordering": "-outcome", "page_size": 3, "page": page}))
        for page in (1, 2, 3)
    ]
    seen = [claim_id for page in pages for claim_id in page]
    assert sorted(seen) == [f"C{i}" for i in range(7)]  # no row twice, none skipped
    assert seen[:4] == ["C6", "C4", "C2", "C0"]  # PAID first, then the ties by -id
    default = ids(client.get(URL, {"ordering": "content_hash"}))
    assert default == ids(client.get(URL))  # not a whitelisted field: ignored


def test_page_size_is_capped_at_200(bearer, acme, bob):
    aetna = payer(acme, "Aetna")
    Claim.objects.bulk_create(
        Claim(
            customer=acme,
            claim_id=f"C{i:03}",
            payer=aetna,
            payer_key="aetna",
            cpt="99213",
            cpt_group="E/M",
            submitted_date=DAY,
            outcome=Outcome.PENDING,
        )
        for i in range(205)
    )
    body = bearer(bob, acme).get(URL, {"page_size": 500}).json()
    assert body["count"] == 205 and len(body["results"]) == 200


def test_queries_do_not_grow_with_page_size(bearer, acme, bob, django_assert_max_num_queries):
    payers = [payer(acme, name) for name in ("Aetna", "Cigna", "Humana")]
    Claim.objects.bulk_create(
        Claim(
            customer=acme,
            claim_id=f"C{i:03}",
            payer=payers[i % 3],
            payer_key=payers[i % 3].key,
            cpt="99213",
            cpt_group="E/M",
            submitted_date=DAY,
            outcome=Outcome.PENDING,
        )
        for i in range(200)
    )
    client = bearer(bob, acme)
    client.get(URL)  # the token's last-used time is written once a minute: not in the count
    with django_assert_max_num_queries(20) as small:
        assert len(client.get(URL, {"page_size": 10}).json()["results"]) == 10
    with django_assert_max_num_queries(20) as large:
        assert len(client.get(URL, {"page_size": 200}).json()["results"]) == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_charlie_gets_404_on_acmes_claim(bearer, acme, globex, charlie):
    claim = make_claim(acme, "C1")
    client = bearer(charlie, globex)
    assert_error(client.get(f"{URL}{claim.pk}/"), 404, "not_found")
    assert client.get(URL).json()["count"] == 0
    # Acme's payer and upload ids are not valid filters at Globex either
    assert_error(client.get(URL, {"payer": claim.payer_id}), 400, "invalid_choice")


def test_listing_claims_is_audited_once_with_filters_not_contents(bearer, acme, bob):
    make_claim(acme, "SECRET-1", denial_reason_text="Patient-specific reason")
    bearer(bob, acme).get(URL, {"outcome": "PAID", "search": "SEC", "page_size": 10})
    [event] = viewed_events()
    assert (event.actor, event.customer, event.outcome) == (bob, acme, "success")
    assert event.data == {
        "page": "1",
        "rows": 1,
        "filters": {"outcome": "PAID", "search": "SEC"},
    }
    assert "SECRET-1" not in json.dumps(event.data) and "Patient" not in json.dumps(event.data)


def test_reading_one_claim_is_audited_with_its_id(bearer, acme, bob):
    claim = make_claim(acme, "C1")
    bearer(bob, acme).get(f"{URL}{claim.pk}/")
    [event] = viewed_events()
    assert (event.object_type, event.object_id, event.data) == ("claims.claim", str(claim.pk), {})


def test_a_long_filter_value_never_breaks_the_audit_line(bearer, acme, bob):
    """Audit data is capped at 2 KB; non-ASCII text grows sixfold as JSON."""
    emoji = "\U0001f600" * 300
    response = bearer(bob, acme).get(URL, {"q": emoji, "search": emoji, "cpt": emoji})
    assert response.status_code == 200 and response.json()["count"] == 0
    [event] = viewed_events()
    assert set(event.data["filters"]) == {"q", "search", "cpt"}
    assert len(json.dumps(event.data)) < 2048


def test_a_nul_character_in_ordering_is_ignored_and_audited_without_it(bearer, acme, bob):
    make_claim(acme, "C-1")
    response = bearer(bob, acme).get(URL, {"ordering": "cpt\x00"})
    assert ids(response) == ["C-1"]
    assert viewed_events().last().data["filters"] == {"ordering": "cpt"}


def test_the_flat_claim_serializer_writes_what_drf_writes(acme):
    """``FlatSerializerMixin`` skips DRF's per-field machinery, not its output."""
    from rest_framework import serializers as drf
    from rest_framework.renderers import JSONRenderer

    from portal.api.claims import ClaimSerializer
    from tests.claims.builders import random_claims

    class Generic(drf.ModelSerializer):
        payer = drf.CharField(source="payer.name", read_only=True)
        payer_id = drf.IntegerField(read_only=True)
        upload_id = drf.IntegerField(read_only=True, allow_null=True)

        class Meta(ClaimSerializer.Meta):
            pass

    random_claims(acme, claims=80, payers=3, today=timezone.localdate())
    Claim.objects.filter(pk=Claim.objects.filter(customer=acme).first().pk).update(
        claim_id=None,
        content_hash="12345678-1234-5678-1234-567812345678",
        allowed_amount=Decimal("12.5"),
    )
    claims = list(Claim.objects.filter(customer=acme).select_related("payer"))
    assert any(c.decided_date is None for c in claims) and any(c.decided_date for c in claims)
    flat = JSONRenderer().render(ClaimSerializer(claims, many=True).data)
    assert flat == JSONRenderer().render(Generic(claims, many=True).data)
    assert b'"allowed_amount":"12.50"' in flat
