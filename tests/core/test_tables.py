"""The table body (``core.tables``) writes what django-tables2's own template writes, without
compiling a template per cell."""

import re
from unittest import mock

import django_tables2 as tables
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone
from django_tables2 import RequestConfig

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.audit.services import record
from portal.audit.tables import AuditEventTable
from portal.claims.models import Claim, Upload
from portal.claims.tables import ClaimTable, UploadTable
from portal.core.tables import cached_signature
from tests.claims.builders import random_claims

pytestmark = pytest.mark.django_db


def _body(table, template: str) -> str:
    """The ``<tbody>`` of ``table`` rendered with ``template``, whitespace between tags gone."""
    request = RequestFactory().get("/")
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    html = Template(f'{{% load django_tables2 %}}{{% render_table table "{template}" %}}').render(
        Context({"table": table, "request": request, "customer": table.customer})
    )
    body = re.search(r"<tbody[^>]*>(.*)</tbody>", html, re.S)[1]
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", body)).strip()


def _same_as_django_tables2(table_class, queryset, customer):
    ours, theirs = table_class(queryset), table_class(queryset)
    ours.customer = theirs.customer = customer
    mine = _body(ours, "core/table.html")
    assert mine == _body(theirs, "django_tables2/table.html")
    assert mine.count("<tr ") == min(len(queryset), 25)
    return mine


def test_claim_rows_are_django_tables2s(acme):
    random_claims(acme, claims=40, payers=3, today=timezone.localdate())
    body = _same_as_django_tables2(
        ClaimTable, Claim.objects.filter(customer=acme).select_related("payer"), acme
    )
    assert 'class="num"' in body and "outcome-" in body and "data-claim=" in body


def test_template_and_date_columns_render_as_before(acme, alice):
    for name in ("a.csv", "b<script>.csv"):
        Upload.objects.create(customer=acme, file_name=name, uploaded_by=alice, status="succeeded")
    body = _same_as_django_tables2(UploadTable, Upload.objects.filter(customer=acme), acme)
    assert "b&lt;script&gt;.csv" in body and "<script>" not in body
    assert "/c/acme/uploads/" in body and "status-succeeded" in body


def test_audit_rows_are_django_tables2s(acme, alice):
    for _ in range(3):
        record(action=Action.CLAIMS_VIEWED, actor=alice, customer=acme, data={"page": "1"})
    _same_as_django_tables2(AuditEventTable, AuditEvent.objects.all(), acme)


def test_attributes_that_depend_on_the_row_are_computed_per_row(acme):
    class Rows(tables.Table):
        name = tables.Column(attrs={"td": {"data-len": lambda value: len(value)}})
        other = tables.Column(attrs={"td": {"class": "fixed"}})

    data = [{"name": "ab", "other": 1}, {"name": "abcd", "other": 2}]
    ours, theirs = Rows(data), Rows(data)
    ours.customer = theirs.customer = acme
    body = _body(ours, "core/table.html")
    assert body == _body(theirs, "django_tables2/table.html")
    assert 'data-len="2"' in body and 'data-len="4"' in body


def test_a_page_of_claims_compiles_no_template_per_cell(client, acme, alice):
    random_claims(acme, claims=60, payers=3, today=timezone.localdate())
    client.force_login(alice)
    client.get("/c/acme/claims/")
    compiled = []
    original = Template.__init__

    def counting(self, *args, **kwargs):
        compiled.append(self)
        original(self, *args, **kwargs)

    with mock.patch.object(Template, "__init__", counting):
        response = client.get("/c/acme/claims/")
    assert response.status_code == 200 and response.text.count("data-claim=") == 50
    assert len(compiled) == 0  # before: two per row (the date columns' template code)


def test_signatures_are_remembered_per_function():
    class Probe:
        def render(self, value, record):
            return value

    first, second = Probe(), Probe()
    assert cached_signature(first.render) == (("value", "record"), None)
    assert cached_signature(second.render) is cached_signature(first.render)
    assert cached_signature(lambda **kwargs: None) == ((), "kwargs")
