"""Payer aliases and CPT groups in the portal (PRODUCT §3.2): CRUD, CSV import, and existing
claims that follow every change (the background task runs inline here)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.claims import services
from portal.claims.cpt import DEFAULT_GROUPS, default_group
from portal.claims.generator import csv_bytes
from portal.claims.models import Claim, CptGroupOverride, PayerAlias
from portal.claims.views import DEFAULT_GROUP_RULES

pytestmark = pytest.mark.django_db

ALIASES = reverse("claims:payer-alias-list", args=["acme"])
CPT_GROUPS = reverse("claims:cpt-group-list", args=["acme"])


def row(claim_id, payer, cpt="99213"):
    return [claim_id, payer, cpt, "2025-03-01", "2025-03-05", "PAID", "100", "80", "70", "", "", ""]


@pytest.fixture
def claims(acme, tmp_path):
    path = tmp_path / "claims.csv"
    rows = [row("A1", "Aetna"), row("A2", "Aetna Inc"), row("A3", "AETNA  INC", "80053"),
            row("C1", "Cigna", "80053")]  # fmt: skip
    path.write_bytes(csv_bytes(rows))
    services.ingest_file(customer=acme, raw_path=str(path))
    return acme


def payers_of(customer) -> dict[str, str]:
    return dict(Claim.objects.filter(customer=customer).values_list("claim_id", "payer__name"))


def groups_of(customer) -> dict[str, str]:
    return dict(Claim.objects.filter(customer=customer).values_list("claim_id", "cpt_group"))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def csv_file(text: str, name="mappings.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# -- payer aliases -------------------------------------------------------------------------------


def test_creating_an_alias_moves_existing_claims_to_the_payer(
    client, claims, analyst, django_capture_on_commit_callbacks
):
    assert payers_of(claims)["A2"] == "Aetna Inc"
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ALIASES, {"raw_name": " aetna inc ", "payer_name": "Aetna"})
    assert response.status_code == 302
    alias = PayerAlias.objects.get(customer=claims)
    assert (alias.raw_name, alias.payer.name) == ("aetna inc", "Aetna")
    assert payers_of(claims) == {"A1": "Aetna", "A2": "Aetna", "A3": "Aetna", "C1": "Cigna"}
    page = client.get(ALIASES)
    assert "re-normalised in the background" in " ".join(messages_of(page))
    assert 'data-alias="aetna inc"' in page.content.decode()


def test_editing_an_alias_moves_the_claims_again(
    client, claims, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # committed, as in real life
        alias = services.payer_alias_save(
            customer=claims, raw_name="Aetna Inc", payer_name="Aetna", actor=None
        )
    url = reverse("claims:payer-alias-edit", args=["acme", alias.pk])
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert 'value="Aetna Inc"' in page and 'value="Aetna"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"raw_name": "Aetna Inc", "payer_name": "Cigna"})
    assert response.status_code == 302
    assert payers_of(claims) == {"A1": "Aetna", "A2": "Cigna", "A3": "Cigna", "C1": "Cigna"}


def test_deleting_an_alias_gives_the_claims_their_own_payer_back(
    client, claims, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alias = services.payer_alias_save(
            customer=claims, raw_name="Aetna Inc", payer_name="Aetna", actor=None
        )
    assert payers_of(claims)["A2"] == "Aetna"
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("claims:payer-alias-delete", args=["acme", alias.pk]))
    assert response.status_code == 302
    assert not PayerAlias.objects.exists()
    assert payers_of(claims)["A2"] == "Aetna Inc"


def test_alias_errors_rerender_the_form(client, claims, alice):
    services.payer_alias_save(customer=claims, raw_name="Aetna Inc", payer_name="Aetna", actor=None)
    client.force_login(alice)
    response = client.post(ALIASES, {"raw_name": "AETNA INC", "payer_name": "Cigna"})
    assert response.status_code == 400
    assert "already an alias" in response.content.decode()
    response = client.post(ALIASES, {"raw_name": "Aetna", "payer_name": "aetna"})
    assert response.status_code == 400
    assert "another payer name" in response.content.decode()


def test_importing_aliases_saves_good_rows_and_lists_bad_ones(
    client, claims, alice, django_capture_on_commit_callbacks
):
    text = "Payer_Name,raw_name\nAetna,Aetna Inc\nNobody,\nCigna,Cigna Corp\nAetna,aetna\n"
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("claims:payer-alias-import", args=["acme"]), {"file": csv_file(text)}
        )
    assert response.status_code == 302
    assert sorted(PayerAlias.objects.values_list("raw_name", flat=True)) == [
        "Aetna Inc",
        "Cigna Corp",
    ]
    assert payers_of(claims)["A3"] == "Aetna"
    shown = messages_of(client.get(ALIASES))
    assert shown[0].startswith("Imported 2 payer aliases; 2 rows had errors.")
    assert shown[1] == "Row 2: Give the raw payer name as it appears in your files."
    assert shown[2] == "Row 4: An alias must point at another payer name."


def test_an_import_without_the_columns_imports_nothing(client, claims, alice):
    client.force_login(alice)
    response = client.post(
        reverse("claims:payer-alias-import", args=["acme"]),
        {"file": csv_file("raw,payer\nA,B\n")},
        follow=True,
    )
    assert not PayerAlias.objects.exists()
    (message,) = messages_of(response)
    assert message.startswith("Nothing imported: Missing column(s): raw_name, payer_name.")


def test_viewer_sees_aliases_but_cannot_change_them(client, claims, bob):
    alias = services.payer_alias_save(
        customer=claims, raw_name="Aetna Inc", payer_name="Aetna", actor=None
    )
    client.force_login(bob)
    page = client.get(ALIASES).content.decode()
    assert "Aetna Inc" in page
    assert 'id="mapping-form"' not in page and "Delete" not in page
    assert client.post(ALIASES, {"raw_name": "X", "payer_name": "Y"}).status_code == 403
    for name in ("payer-alias-edit", "payer-alias-delete"):
        assert client.post(reverse(f"claims:{name}", args=["acme", alias.pk])).status_code == 403
    import_url = reverse("claims:payer-alias-import", args=["acme"])
    assert (
        client.post(import_url, {"file": csv_file("raw_name,payer_name\nX,Y\n")}).status_code == 403
    )
    assert list(PayerAlias.objects.values_list("raw_name", flat=True)) == ["Aetna Inc"]


def test_charlie_cannot_touch_acme_aliases(client, claims, charlie):
    alias = services.payer_alias_save(
        customer=claims, raw_name="Aetna Inc", payer_name="Aetna", actor=None
    )
    client.force_login(charlie)
    edit = reverse("claims:payer-alias-edit", args=["acme", alias.pk])
    delete = reverse("claims:payer-alias-delete", args=["acme", alias.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"raw_name": "X", "payer_name": "Y"}).status_code == 404
    assert client.post(delete).status_code == 404
    # nor through his own customer's URLs
    assert (
        client.get(reverse("claims:payer-alias-edit", args=["globex", alias.pk])).status_code == 404
    )
    assert (
        client.post(reverse("claims:payer-alias-delete", args=["globex", alias.pk])).status_code
        == 404
    )
    assert PayerAlias.objects.count() == 1


# -- CPT groups ----------------------------------------------------------------------------------


def test_a_cpt_override_regroups_existing_claims(
    client, claims, analyst, django_capture_on_commit_callbacks
):
    assert groups_of(claims)["A1"] == "E/M"
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CPT_GROUPS, {"cpt": " 99213 ", "group": "Office visits"})
    assert response.status_code == 302
    assert groups_of(claims) == {
        "A1": "Office visits", "A2": "Office visits", "A3": "Pathology/Lab", "C1": "Pathology/Lab",
    }  # fmt: skip
    page = client.get(CPT_GROUPS)
    assert "re-grouped in the background" in " ".join(messages_of(page))
    assert re.search(r'data-cpt="99213".*?Office visits.*?E/M', page.content.decode(), re.S)


def test_editing_and_deleting_an_override_regroups_again(
    client, claims, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # committed, as in real life
        override = services.cpt_group_save(customer=claims, cpt="80053", group="Labs", actor=None)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("claims:cpt-group-edit", args=["acme", override.pk]),
            {"cpt": "80053", "group": "Chemistry"},
        )
    assert groups_of(claims)["C1"] == "Chemistry"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("claims:cpt-group-delete", args=["acme", override.pk]))
    assert not CptGroupOverride.objects.exists()
    assert groups_of(claims)["C1"] == "Pathology/Lab"


def test_an_invalid_cpt_is_a_form_error(client, claims, alice):
    client.force_login(alice)
    response = client.post(CPT_GROUPS, {"cpt": "9921", "group": "X"})
    assert response.status_code == 400
    assert "is not a CPT or HCPCS code" in response.content.decode()


def test_importing_cpt_groups_saves_good_rows_and_lists_bad_ones(
    client, claims, alice, django_capture_on_commit_callbacks
):
    text = "cpt,group\n99213,Office visits\nXYZ,Nonsense\n\n80053,Labs\n"
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("claims:cpt-group-import", args=["acme"]), {"file": csv_file(text)}, follow=True
        )
    assert dict(CptGroupOverride.objects.values_list("cpt", "group")) == {
        "99213": "Office visits",
        "80053": "Labs",
    }
    assert groups_of(claims)["C1"] == "Labs"
    shown = messages_of(response)
    assert shown[0].startswith("Imported 2 CPT groups; 1 row had errors.")
    assert shown[1] == "Row 2: 'XYZ' is not a CPT or HCPCS code."


def test_the_cpt_page_describes_the_default_groups(client, claims, bob):
    client.force_login(bob)
    page = client.get(CPT_GROUPS).content.decode()
    reference = page.split('id="default-groups"')[1]
    for group, codes in DEFAULT_GROUP_RULES:
        assert group in reference and codes in reference


def test_the_default_group_descriptions_match_the_code():
    assert [group for group, _ in DEFAULT_GROUP_RULES] == DEFAULT_GROUPS
    for group, words in DEFAULT_GROUP_RULES:
        for low, high in re.findall(r"(\d{5})–(\d{5})", words):
            assert default_group(low) == group and default_group(high) == group, words
        for example in re.findall(r"e\.g\. (\w{5})", words):
            assert default_group(example) == group, words


def test_viewer_and_charlie_cannot_change_cpt_groups(client, claims, bob, charlie):
    override = services.cpt_group_save(customer=claims, cpt="80053", group="Labs", actor=None)
    edit = reverse("claims:cpt-group-edit", args=["acme", override.pk])
    delete = reverse("claims:cpt-group-delete", args=["acme", override.pk])
    for user, status in ((bob, 403), (charlie, 404)):
        client.force_login(user)
        assert client.post(CPT_GROUPS, {"cpt": "99213", "group": "X"}).status_code == status
        assert client.get(edit).status_code == status
        assert client.post(edit, {"cpt": "80053", "group": "X"}).status_code == status
        assert client.post(delete).status_code == status
    assert list(CptGroupOverride.objects.values_list("group", flat=True)) == ["Labs"]


def test_delete_is_post_only(client, claims, alice):
    override = services.cpt_group_save(customer=claims, cpt="80053", group="Labs", actor=None)
    client.force_login(alice)
    assert (
        client.get(reverse("claims:cpt-group-delete", args=["acme", override.pk])).status_code
        == 405
    )
    assert CptGroupOverride.objects.exists()
