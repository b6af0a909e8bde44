"""Choice filters read their choices in one plain statement, never through a server-side cursor
(``portal.core.filters``), and offer the same options as django-filter's own."""

from unittest import mock

import django_filters
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.claims.models import Payer
from portal.core.filters import ModelChoiceFilter

pytestmark = pytest.mark.django_db


def _no_server_cursor():
    def refuse(*args, **kwargs):
        raise AssertionError("a server-side cursor was opened")

    return mock.patch.object(connection, "chunked_cursor", refuse)


def _options(filter_):
    return [(str(value), str(label)) for value, label in filter_.field.choices]


@pytest.fixture
def payers(acme, globex):
    for name in ("Cigna", "Aetna", "Humana"):
        Payer.objects.create(customer=acme, key=name.lower(), name=name)
    Payer.objects.create(customer=globex, key="globex", name="Globex Only")
    return Payer.objects.filter(customer=acme).order_by("name")


@pytest.mark.parametrize("null_label", [None, "No payer"])
def test_the_options_are_django_filters_own(payers, null_label):
    ours = ModelChoiceFilter(queryset=payers, empty_label="Any payer", null_label=null_label)
    theirs = django_filters.ModelChoiceFilter(
        queryset=payers, empty_label="Any payer", null_label=null_label
    )
    expected = _options(theirs)
    with _no_server_cursor(), CaptureQueriesContext(connection) as queries:
        assert _options(ours) == expected
    assert len(queries) == 1
    assert [label for _, label in expected][-3:] == ["Aetna", "Cigna", "Humana"]


def test_the_claims_page_lists_payers_without_a_server_side_cursor(client, bob, payers):
    client.force_login(bob)
    with _no_server_cursor():
        response = client.get(reverse("claims:claim-list", args=["acme"]), {"payer": payers[1].pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{payers[1].pk}" selected>Cigna</option>' in html
    assert "Globex Only" not in html
