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


def test_a_choice_field_of_the_row_is_computed_directly(acme):
    """``outcome`` (a field with choices, shown by ``render_outcome`` from its display) takes
    the fast path with the same cell as ``get_cell``; the payer's name (a related row) does
    not need it, and a related field with choices is left to django-tables2."""
    from portal.core.tables import _fast_cell

    random_claims(acme, claims=5, payers=2, today=timezone.localdate())
    table = ClaimTable(Claim.objects.filter(customer=acme).select_related("payer"))
    RequestConfig(RequestFactory().get("/"), paginate={"per_page": 25}).configure(table)
    rows = list(table.paginated_rows)
    outcome = table.columns["outcome"]
    compute = _fast_cell(outcome, rows[0].record)
    assert compute is not None
    for row in rows:
        assert compute(row.record) == row.get_cell("outcome")
        assert row.record.get_outcome_display() in compute(row.record)

    class ByUpload(tables.Table):
        status = tables.Column(accessor="upload__status")

    upload_table = ByUpload(Claim.objects.filter(customer=acme).select_related("upload"))
    column = upload_table.columns["status"]
    assert _fast_cell(column, upload_table.rows[0].record) is None


def test_signatures_are_remembered_per_function():
    class Probe:
        def render(self, value, record):
            return value

    first, second = Probe(), Probe()
    assert cached_signature(first.render) == (("value", "record"), None)
    assert cached_signature(second.render) is cached_signature(first.render)
    assert cached_signature(lambda **kwargs: None) == ((), "kwargs")


def _tbodies(html: str) -> list[str]:
    """The page's table bodies, whitespace between tags and CSRF tokens (masked anew on every
    response) taken out."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    bodies = re.findall(r"<tbody[^>]*>.*?</tbody>", html, re.S)
    return [re.sub(r">\s+<", "><", body) for body in bodies]


def test_every_table_page_of_the_demo_is_the_same_without_the_fast_cells(client, monkeypatch):
    """``_fast_cell`` computes most cells itself: every table page the demo fills (every URL
    whose view is a django-tables2 view and takes only the customer) is compared with the same
    page with every cell through django-tables2's ``get_cell``."""
    from django.core.management import call_command
    from django.urls import reverse
    from django_tables2 import SingleTableMixin

    from portal.accounts.models import User
    from portal.core import tables as core_tables
    from tests.test_authorization_matrix import url_patterns

    call_command("demo", "--no-serve", "--password", "Demo-pass-1", stdout=mock.MagicMock())
    client.force_login(User.objects.get(email="owner@acme.test"))
    names = sorted(
        name
        for name, callback in url_patterns().items()
        if issubclass(getattr(callback, "view_class", object), SingleTableMixin)
        and not name.startswith("staff")
    )
    compared = fast_cells = 0
    plain = core_tables._fast_cell
    counted = []

    def counting(bound_column, record):
        cell = plain(bound_column, record)
        counted.append(cell is not None)
        return cell

    for name in names:
        try:
            path = reverse(name, args=["acme"])
        except Exception:
            continue
        monkeypatch.setattr(core_tables, "_fast_cell", counting)
        fast = client.get(path)
        monkeypatch.setattr(core_tables, "_fast_cell", lambda bound_column, record: None)
        slow = client.get(path)
        assert fast.status_code == slow.status_code == 200, path
        assert _tbodies(fast.text) == _tbodies(slow.text), path
        compared += sum(body.count("<tr ") for body in _tbodies(fast.text))
    fast_cells = sum(counted)
    assert compared > 100 and fast_cells > 20, (compared, fast_cells)
