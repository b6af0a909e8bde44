"""Payer aliases and CPT groups: read by every role, changed by analysts and above, with the
claims following (PRODUCT §3.2, §9)."""

from datetime import date

import pytest

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.claims import services
from portal.claims.models import Claim, CptGroupOverride, Outcome, Payer, PayerAlias
from tests.api.test_auth import assert_error

pytestmark = pytest.mark.django_db

ALIASES = "/api/v1/payer-aliases/"
GROUPS = "/api/v1/cpt-groups/"


def alias(customer, raw_name, payer_name):
    return services.payer_alias_save(
        customer=customer, raw_name=raw_name, payer_name=payer_name, actor=None
    )


def override(customer, cpt, group):
    return services.cpt_group_save(customer=customer, cpt=cpt, group=group, actor=None)


def claim_with_raw_payer(customer, claim_id, raw_name, cpt="99213"):
    key = raw_name.lower()
    payer, _ = Payer.objects.get_or_create(customer=customer, key=key, defaults={"name": raw_name})
    return Claim.objects.create(
        customer=customer,
        claim_id=claim_id,
        payer=payer,
        payer_key=key,
        cpt=cpt,
        cpt_group="E/M",
        submitted_date=date(2026, 3, 1),
        outcome=Outcome.PENDING,
    )


# -- payer aliases --------------------------------------------------------------------------------


def test_any_role_lists_payer_aliases(bearer, acme, bob):
    first = alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    alias(acme, "Aetna Inc.", "Aetna")
    body = bearer(bob, acme).get(ALIASES).json()
    assert body["count"] == 2
    assert [a["raw_name"] for a in body["results"]] == ["Aetna Inc.", "BCBS TX"]
    assert body["results"][1] == {
        "id": first.pk,
        "raw_name": "BCBS TX",
        "payer_name": "Blue Cross Blue Shield",
        "payer_id": first.payer_id,
        "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": first.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_payer_aliases_search_and_ordering(bearer, acme, bob):
    alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    alias(acme, "Aetna Inc.", "Aetna")
    client = bearer(bob, acme)

    def raw(**params):
        return [a["raw_name"] for a in client.get(ALIASES, params).json()["results"]]

    assert raw(search="blue") == ["BCBS TX"]
    assert raw(q="inc") == ["Aetna Inc."]
    assert raw(ordering="-raw_name") == ["BCBS TX", "Aetna Inc."]


def test_analyst_adds_changes_and_deletes_an_alias_and_claims_follow(
    bearer, acme, analyst, django_capture_on_commit_callbacks
):
    claim = claim_with_raw_payer(acme, "C1", "BCBS TX")
    client = bearer(analyst, acme, "write")

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            ALIASES, {"raw_name": "  bcbs   tx ", "payer_name": "Blue Cross Blue Shield"}
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["raw_name"], body["payer_name"]) == ("bcbs tx", "Blue Cross Blue Shield")
    claim.refresh_from_db()
    assert claim.payer.name == "Blue Cross Blue Shield"

    with django_capture_on_commit_callbacks(execute=True):
        changed = client.patch(f"{ALIASES}{body['id']}/", {"payer_name": "Anthem"})
    assert changed.status_code == 200
    assert (changed.json()["raw_name"], changed.json()["payer_name"]) == ("bcbs tx", "Anthem")
    claim.refresh_from_db()
    assert claim.payer.name == "Anthem"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{ALIASES}{body['id']}/").status_code == 204
    assert not PayerAlias.objects.filter(customer=acme).exists()
    claim.refresh_from_db()
    assert claim.payer.key == "bcbs tx"  # its own payer again

    events = AuditEvent.objects.filter(customer=acme, actor=analyst, action__startswith="payer")
    assert list(events.order_by("id").values_list("action", flat=True)) == [
        Action.PAYER_ALIAS_SAVED,
        Action.PAYER_ALIAS_SAVED,
        Action.PAYER_ALIAS_DELETED,
    ]


def test_a_second_alias_for_the_same_raw_name_is_a_conflict(bearer, acme, alice):
    alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    response = bearer(alice, acme, "write").post(
        ALIASES, {"raw_name": "bcbs tx", "payer_name": "Anthem"}
    )
    body = assert_error(response, 400, "conflict")
    assert body["errors"][0] == {
        "code": "conflict",
        "detail": "There is already an alias for 'bcbs tx'.",
        "attr": "raw_name",
    }
    assert PayerAlias.objects.get(customer=acme).payer.name == "Blue Cross Blue Shield"


def test_renaming_an_alias_onto_another_is_a_conflict(bearer, acme, alice):
    alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    other = alias(acme, "Aetna Inc.", "Aetna")
    response = bearer(alice, acme, "write").patch(f"{ALIASES}{other.pk}/", {"raw_name": "BCBS TX"})
    assert assert_error(response, 400, "conflict")["errors"][0]["attr"] == "raw_name"
    other.refresh_from_db()
    assert other.raw_name == "Aetna Inc."


@pytest.mark.parametrize(
    ("data", "attr", "code"),
    [
        ({"raw_name": "Aetna", "payer_name": "AETNA"}, "payer_name", "invalid"),
        ({"raw_name": "   ", "payer_name": "Aetna"}, "raw_name", "blank"),
        ({"payer_name": "Aetna"}, "raw_name", "required"),
        ({"raw_name": "x" * 201, "payer_name": "Aetna"}, "raw_name", "max_length"),
    ],
)
def test_invalid_aliases_are_400_naming_the_field(bearer, acme, alice, data, attr, code):
    body = assert_error(bearer(alice, acme, "write").post(ALIASES, data), 400, code)
    assert body["errors"][0]["attr"] == attr
    assert not PayerAlias.objects.exists()


def test_viewer_cannot_change_aliases(bearer, acme, bob):
    existing = alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    client = bearer(bob, acme, "write")
    assert_error(client.post(ALIASES, {"raw_name": "a", "payer_name": "b"}), 403)
    assert_error(client.patch(f"{ALIASES}{existing.pk}/", {"payer_name": "b"}), 403)
    assert_error(client.delete(f"{ALIASES}{existing.pk}/"), 403)
    assert PayerAlias.objects.get().payer.name == "Blue Cross Blue Shield"


def test_read_token_cannot_change_aliases(bearer, acme, alice):
    response = bearer(alice, acme, "read").post(ALIASES, {"raw_name": "a", "payer_name": "b"})
    assert_error(response, 403, "permission_denied")


def test_charlie_gets_404_on_acmes_alias(bearer, acme, globex, charlie):
    existing = alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    client = bearer(charlie, globex, "write")
    assert_error(client.get(f"{ALIASES}{existing.pk}/"), 404)
    assert_error(client.patch(f"{ALIASES}{existing.pk}/", {"payer_name": "Evil"}), 404)
    assert_error(client.delete(f"{ALIASES}{existing.pk}/"), 404)
    assert client.get(ALIASES).json()["count"] == 0
    assert PayerAlias.objects.get().payer.name == "Blue Cross Blue Shield"


def test_put_is_not_offered(bearer, acme, alice):
    existing = alias(acme, "BCBS TX", "Blue Cross Blue Shield")
    client = bearer(alice, acme, "write")
    response = client.put(f"{ALIASES}{existing.pk}/", {"raw_name": "a", "payer_name": "b"})
    assert_error(response, 405)


# -- CPT groups -----------------------------------------------------------------------------------


def test_any_role_lists_cpt_groups_with_their_default(bearer, acme, bob):
    override(acme, "G0439", "Annual wellness")
    override(acme, "99213", "Office visits")
    body = bearer(bob, acme).get(GROUPS).json()
    assert [(g["cpt"], g["group"], g["default_group"]) for g in body["results"]] == [
        ("99213", "Office visits", "E/M"),
        ("G0439", "Annual wellness", "HCPCS"),
    ]
    client = bearer(bob, acme)
    assert [g["cpt"] for g in client.get(GROUPS, {"search": "wellness"}).json()["results"]] == [
        "G0439"
    ]
    assert [g["cpt"] for g in client.get(GROUPS, {"q": "992"}).json()["results"]] == ["99213"]


def test_analyst_adds_changes_and_deletes_a_cpt_group_and_claims_follow(
    bearer, acme, analyst, django_capture_on_commit_callbacks
):
    claim = claim_with_raw_payer(acme, "C1", "Aetna", cpt="99213")
    client = bearer(analyst, acme, "write")

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(GROUPS, {"cpt": " 99213 ", "group": "Office visits"})
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert (created.json()["cpt"], created.json()["group"]) == ("99213", "Office visits")
    claim.refresh_from_db()
    assert claim.cpt_group == "Office visits"

    with django_capture_on_commit_callbacks(execute=True):
        changed = client.patch(f"{GROUPS}{pk}/", {"group": "Visits"})
    assert changed.status_code == 200 and changed.json()["group"] == "Visits"
    claim.refresh_from_db()
    assert claim.cpt_group == "Visits"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{GROUPS}{pk}/").status_code == 204
    claim.refresh_from_db()
    assert claim.cpt_group == "E/M"  # the default section again
    assert not CptGroupOverride.objects.exists()


def test_a_second_group_for_the_same_code_is_a_conflict(bearer, acme, alice):
    override(acme, "99213", "Office visits")
    other = override(acme, "99214", "Long visits")
    client = bearer(alice, acme, "write")
    body = assert_error(client.post(GROUPS, {"cpt": "99213", "group": "Other"}), 400, "conflict")
    assert body["errors"][0] == {
        "code": "conflict",
        "detail": "99213 already has a group of its own.",
        "attr": "cpt",
    }
    response = client.patch(f"{GROUPS}{other.pk}/", {"cpt": "99213"})
    assert assert_error(response, 400, "conflict")["errors"][0]["attr"] == "cpt"
    assert sorted(CptGroupOverride.objects.values_list("cpt", "group")) == [
        ("99213", "Office visits"),
        ("99214", "Long visits"),
    ]


@pytest.mark.parametrize(
    ("data", "attr", "code"),
    [
        ({"cpt": "9921", "group": "Visits"}, "cpt", "invalid"),
        ({"cpt": "99213", "group": "x" * 33}, "group", "max_length"),
        ({"cpt": "99213"}, "group", "required"),
    ],
)
def test_invalid_cpt_groups_are_400_naming_the_field(bearer, acme, alice, data, attr, code):
    body = assert_error(bearer(alice, acme, "write").post(GROUPS, data), 400, code)
    assert body["errors"][0]["attr"] == attr
    assert not CptGroupOverride.objects.exists()


def test_viewer_cannot_change_cpt_groups(bearer, acme, bob):
    existing = override(acme, "99213", "Office visits")
    client = bearer(bob, acme, "write")
    assert_error(client.post(GROUPS, {"cpt": "99214", "group": "x"}), 403)
    assert_error(client.delete(f"{GROUPS}{existing.pk}/"), 403)
    assert CptGroupOverride.objects.count() == 1


def test_charlie_gets_404_on_acmes_cpt_group(bearer, acme, globex, charlie):
    existing = override(acme, "99213", "Office visits")
    client = bearer(charlie, globex, "write")
    assert_error(client.get(f"{GROUPS}{existing.pk}/"), 404)
    assert_error(client.patch(f"{GROUPS}{existing.pk}/", {"group": "Evil"}), 404)
    assert_error(client.delete(f"{GROUPS}{existing.pk}/"), 404)
    assert CptGroupOverride.objects.get().group == "Office visits"
