"""Every claims page for every role (PRODUCT §2): members read, analysts and up write, charlie
gets 404 on every Acme URL, anonymous users go to the login page."""

import pytest
from django.urls import reverse

from portal.accounts.roles import Role
from portal.claims import services
from portal.claims.generator import csv_bytes
from portal.claims.models import Upload
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(acme, alice, bob, charlie, staff):
    return {
        "owner": alice,
        "admin": member(acme, Role.ADMIN, email="adam@acme.test"),
        "analyst": member(acme, Role.ANALYST, email="ana@acme.test"),
        "viewer": bob,
        "charlie": charlie,
        "staff": staff,
    }


@pytest.fixture
def objects(acme, tmp_path):
    path = tmp_path / "claims.csv"
    rows = [
        ["A1", "Aetna", "99213", "2025-03-01", "2025-03-05", "PAID", "1", "1", "1", "", "", ""],
        ["A2", "Aetna", "bad", "2025-03-01", "2025-03-05", "PAID", "1", "1", "1", "", "", ""],
    ]
    path.write_bytes(csv_bytes(rows))
    upload = services.ingest_file(customer=acme, raw_path=str(path))
    alias = services.payer_alias_save(
        customer=acme, raw_name="Aetna Inc", payer_name="Aetna", actor=None
    )
    override = services.cpt_group_save(customer=acme, cpt="99213", group="Visits", actor=None)
    return {"upload": upload.pk, "alias": alias.pk, "override": override.pk}


READ = dict(owner=200, admin=200, analyst=200, viewer=200, charlie=404, staff=200)
WRITE = dict(owner=200, admin=200, analyst=200, viewer=403, charlie=404, staff=200)

PAGES = [
    ("upload-list", None, READ),
    ("upload-detail", "upload", READ),
    ("upload-progress", "upload", READ),
    ("upload-rejected-csv", "upload", READ),
    ("claim-list", None, READ),
    ("claim-export", None, READ),
    ("payer-alias-list", None, READ),
    ("payer-alias-edit", "alias", WRITE),
    ("cpt-group-list", None, READ),
    ("cpt-group-edit", "override", WRITE),
]


def url_for(name, key, objects, slug="acme"):
    args = [slug] if key is None else [slug, objects[key]]
    return reverse(f"claims:{name}", args=args)


@pytest.mark.parametrize(("name", "key", "expected"), PAGES)
def test_page_access_by_role(client, cast, objects, name, key, expected):
    url = url_for(name, key, objects)
    for who, status in expected.items():
        client.force_login(cast[who])
        assert client.get(url).status_code == status, (who, url)


@pytest.mark.parametrize(("name", "key", "_"), PAGES)
def test_anonymous_is_sent_to_login(client, objects, name, key, _):
    response = client.get(url_for(name, key, objects))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


@pytest.mark.parametrize(("name", "key", "_"), [p for p in PAGES if p[1]])
def test_charlie_gets_404_for_acme_objects_under_his_own_customer(
    client, cast, objects, name, key, _
):
    client.force_login(cast["charlie"])
    assert client.get(url_for(name, key, objects, slug="globex")).status_code == 404


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("upload-list", None),
        ("payer-alias-list", None),
        ("payer-alias-import", None),
        ("payer-alias-edit", "alias"),
        ("payer-alias-delete", "alias"),
        ("cpt-group-list", None),
        ("cpt-group-import", None),
        ("cpt-group-edit", "override"),
        ("cpt-group-delete", "override"),
    ],
)
def test_writes_by_role(client, cast, objects, name, key):
    """Viewers are refused (403), charlie never learns the URL exists (404); analysts and up
    reach the form handling (redirect or form error, never a refusal)."""
    url = url_for(name, key, objects)
    for who in ("viewer", "charlie"):
        client.force_login(cast[who])
        assert client.post(url, {}).status_code == {"viewer": 403, "charlie": 404}[who], who
    writers = ("analyst",) if name.endswith("delete") else ("analyst", "admin", "owner", "staff")
    for who in writers:
        client.force_login(cast[who])
        assert client.post(url, {}).status_code in (302, 400), who


def test_unknown_and_foreign_uploads_are_404(client, cast, objects, globex):
    foreign = Upload.objects.create(customer=globex, file_name="globex.csv")
    client.force_login(cast["owner"])
    for pk in (foreign.pk, 999_999):
        for name in ("upload-detail", "upload-progress", "upload-rejected-csv"):
            assert client.get(reverse(f"claims:{name}", args=["acme", pk])).status_code == 404


def test_the_customer_nav_links_the_claims_pages(client, cast, objects):
    client.force_login(cast["viewer"])
    page = client.get(reverse("accounts:customer-home", args=["acme"])).content.decode()
    for name in ("upload-list", "claim-list", "payer-alias-list", "cpt-group-list"):
        assert f'href="{reverse(f"claims:{name}", args=["acme"])}"' in page


# -- back office ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["payer", "payeralias", "cptgroupoverride", "upload", "rejectedrow", "claim"]
)
def test_every_claims_model_is_in_the_back_office(client, objects, model):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(f"/admin/claims/{model}/")
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_claims_are_read_only_in_the_back_office(client, acme, objects):
    from portal.claims.models import Claim

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    claim = Claim.objects.get(customer=acme)
    response = client.get(f"/admin/claims/claim/{claim.pk}/change/")
    assert response.status_code == 200
    assert client.post(f"/admin/claims/claim/{claim.pk}/change/", {}).status_code == 403
    assert client.get("/admin/claims/claim/add/").status_code == 403
    response = client.get("/admin/claims/claim/", {"q": "A1", "cpt_group": "E/M"})
    assert [c.claim_id for c in response.context["cl"].result_list] == ["A1"]
    # the group filter offers the customers' own groups without scanning the claims
    assert "Visits" in response.content.decode()
