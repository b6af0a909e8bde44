"""Portal pages of the claims app: uploads (form, live progress, rejected rows), claims (filters,
CSV export), payers (summary table, payer detail), payer aliases and CPT groups (CRUD and CSV
import)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import SingleTableMixin

from portal.audit.actions import Action
from portal.audit.services import record
from portal.claims import selectors, services
from portal.claims.filters import (
    ClaimFilter,
    CptGroupOverrideFilter,
    PayerAliasFilter,
    PayerSummaryFilter,
    RejectedRowFilter,
    UploadFilter,
)
from portal.claims.forms import CptGroupForm, MappingImportForm, PayerAliasForm, UploadForm
from portal.claims.tables import (
    ClaimTable,
    CptGroupOverrideTable,
    PayerAliasTable,
    PayerSummaryTable,
    RejectedRowTable,
    UploadTable,
)
from portal.core import charts
from portal.core.exceptions import DomainError
from portal.core.views import (
    CustomerMixin,
    EvaluatedPaginator,
    ReadWriteMixin,
    TableView,
    form_error,
    get_or_404,
)
from portal.drift import selectors as drift_selectors
from portal.drift.tables import DriftEventTable


def _active_filters(filterset) -> dict[str, str]:
    """The filters in use, for the audit log (short: audit data is capped at 2 KB)."""
    return {
        name: str(filterset.data.get(name))[:100]
        for name in filterset.filters
        if filterset.data.get(name) not in (None, "")
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> HttpResponse:
    """Stream rows as CSV, a few thousand at a time: memory stays flat for any number of rows."""

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        batch = [writer.writerow(header)]
        for row in rows:
            batch.append(writer.writerow(row))
            if len(batch) >= 2000:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- uploads --------------------------------------------------------------------------------------


class UploadListView(ReadWriteMixin, TableView):
    write_permission = "accounts.upload_claims"
    table_class = UploadTable
    filterset_class = UploadFilter
    template_name = "claims/upload_list.html"
    keyset = True

    def get_queryset(self):
        return selectors.upload_list(customer=self.customer)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = getattr(self, "form", None) or UploadForm()
        return context

    def post(self, request, *args, **kwargs):
        self.form = UploadForm(request.POST, request.FILES)
        if self.form.is_valid():
            try:
                upload = services.upload_create(
                    customer=self.customer,
                    file=request.FILES["file"],
                    actor=request.user,
                    source="portal",
                )
            except DomainError as exc:
                form_error(self.form, exc)
            else:
                messages.success(request, f"{upload.file_name} uploaded; it is being imported.")
                return redirect("claims:upload-detail", slug=self.customer.slug, pk=upload.pk)
        response = self.get(request, *args, **kwargs)
        response.status_code = 400
        return response


class UploadDetailView(CustomerMixin, TableView):
    """The summary of one upload, its live progress, and its rejected rows (audited)."""

    table_class = RejectedRowTable
    filterset_class = RejectedRowFilter
    template_name = "claims/upload_detail.html"
    paginate_by = 50
    keyset = True

    def get(self, request, *args, **kwargs):
        self.upload = get_or_404(selectors.upload_get, customer=self.customer, pk=kwargs["pk"])
        response = super().get(request, *args, **kwargs)
        if self.upload.rejected or self.upload.warnings:
            record(
                action=Action.REJECTED_ROWS_VIEWED,
                actor=request.user,
                customer=self.customer,
                obj=self.upload,
                data={"page": self.page_number(), **_active_filters(self.filterset)},
            )
        return response

    def get_queryset(self):
        return selectors.rejected_rows(upload=self.upload)

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if not self.upload.is_finished:
            table.empty_text = "Rejected rows appear here when the import finishes."
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["upload"] = self.upload
        return context


class UploadProgressView(CustomerMixin, View):
    """The summary fragment polled every second while the upload runs. The finished fragment
    stops the polling and tells the page (``upload-finished``) to load the rejected rows."""

    def get(self, request, slug: str, pk: int):
        upload = get_or_404(selectors.upload_get, customer=self.customer, pk=pk)
        response = render(
            request,
            "claims/upload_detail.html#summary",
            {"upload": upload, "customer": self.customer},
        )
        if upload.is_finished:
            response["HX-Trigger"] = "upload-finished"
        return response


class RejectedRowsCsvView(CustomerMixin, View):
    """The rejected rows as CSV, with the page's filters (kind, column); audited."""

    def get(self, request, slug: str, pk: int):
        upload = get_or_404(selectors.upload_get, customer=self.customer, pk=pk)
        filterset = RejectedRowFilter(request.GET, queryset=selectors.rejected_rows(upload=upload))
        record(
            action=Action.REJECTED_ROWS_EXPORTED,
            actor=request.user,
            customer=self.customer,
            obj=upload,
            data=_active_filters(filterset),
        )
        rows = filterset.qs.values_list("row_number", "kind", "column", "value", "reason")
        return _csv_response(
            f"rejected-rows-{upload.pk}.csv",
            ["row", "kind", "column", "value", "reason"],
            rows.iterator(chunk_size=2000),
        )


# -- claims ---------------------------------------------------------------------------------------


class ClaimListView(CustomerMixin, TableView):
    table_class = ClaimTable
    filterset_class = ClaimFilter
    template_name = "claims/claim_list.html"
    paginate_by = 50
    keyset = True

    def get_queryset(self):
        return selectors.claim_list(customer=self.customer)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "customer": self.customer}

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record(
            action=Action.CLAIMS_VIEWED,
            actor=request.user,
            customer=self.customer,
            data={
                "page": self.page_number(),
                "filters": _active_filters(self.filterset),
            },
        )
        return response


class ClaimExportView(CustomerMixin, View):
    """The claims table as CSV, with the same filters as the page (all matching rows)."""

    def get(self, request, slug: str):
        filterset = ClaimFilter(
            request.GET or None,
            queryset=selectors.claim_list(customer=self.customer),
            request=request,
            customer=self.customer,
        )
        if filterset.is_bound and not filterset.is_valid():
            # never export more than was asked for because a filter did not parse
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
            return HttpResponse(f"Invalid filters: {errors}", status=400, content_type="text/plain")
        record(
            action=Action.CLAIMS_EXPORTED,
            actor=request.user,
            customer=self.customer,
            data={"filters": _active_filters(filterset)},
        )
        today = timezone.localdate().isoformat()
        return _csv_response(
            f"claims-{self.customer.slug}-{today}.csv",
            [name for name, _ in selectors.CLAIM_EXPORT_COLUMNS],
            selectors.claim_export_rows(filterset.qs),
        )


# -- payer aliases and CPT groups -----------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """What differs between the payer-alias and CPT-group pages; the views are shared."""

    noun: str
    plural: str
    list_url: str
    form_class: type[forms.Form]
    columns: tuple[str, ...]
    get: Callable  # (customer, pk) -> object
    save: Callable  # (customer, actor, obj, values) -> object
    delete: Callable  # (obj, actor) -> None
    initial: Callable  # obj -> form initial
    background: str  # what happens to existing claims afterwards

    def done(self, request, what: str) -> None:
        messages.success(request, f"{self.noun.capitalize()} {what}. {self.background}")


PAYER_ALIASES = Mapping(
    noun="payer alias",
    plural="payer aliases",
    list_url="claims:payer-alias-list",
    form_class=PayerAliasForm,
    columns=("raw_name", "payer_name"),
    get=lambda customer, pk: selectors.payer_alias_get(customer=customer, pk=pk),
    save=lambda customer, actor, obj, values: services.payer_alias_save(
        customer=customer, actor=actor, alias=obj, **values
    ),
    delete=lambda obj, actor: services.payer_alias_delete(alias=obj, actor=actor),
    initial=lambda alias: {"raw_name": alias.raw_name, "payer_name": alias.payer.name},
    background="Existing claims are re-normalised in the background after each change.",
)

CPT_GROUPS = Mapping(
    noun="CPT group",
    plural="CPT groups",
    list_url="claims:cpt-group-list",
    form_class=CptGroupForm,
    columns=("cpt", "group"),
    get=lambda customer, pk: selectors.cpt_group_get(customer=customer, pk=pk),
    save=lambda customer, actor, obj, values: services.cpt_group_save(
        customer=customer, actor=actor, override=obj, **values
    ),
    delete=lambda obj, actor: services.cpt_group_delete(override=obj, actor=actor),
    initial=lambda override: {"cpt": override.cpt, "group": override.group},
    background="Existing claims are re-grouped in the background after each change.",
)

# The default groups in words (PRODUCT §3.2); tests check them against cpt.default_group.
DEFAULT_GROUP_RULES = [
    ("Anesthesia", "00100–01999"),
    ("Surgery", "10004–69990"),
    ("Radiology", "70010–79999"),
    ("Pathology/Lab", "80047–89398"),
    ("Medicine", "90281–99199 and 99500–99607"),
    ("E/M", "99202–99499 (evaluation and management)"),
    ("Category II", "four digits and F, e.g. 3074F (performance measures)"),
    ("Category III", "four digits and T, e.g. 0042T (emerging technology)"),
    ("PLA", "four digits and U, e.g. 0001U (proprietary laboratory analyses)"),
    ("HCPCS", "a letter and four digits, e.g. J1100 (HCPCS Level II)"),
    ("OTHER", "any other valid code, e.g. 05000 (between the ranges)"),
]


class MappingListView(ReadWriteMixin, TableView):
    """The table of mappings, a create form and a CSV import form (editors only)."""

    write_permission = "accounts.edit_mappings"
    mapping: Mapping = PAYER_ALIASES  # set per URL

    def get_table_kwargs(self):
        if self.request.user.has_perm(self.write_permission, self.customer):
            return {}
        return {"exclude": ("actions",)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mapping"] = self.mapping
        context["form"] = getattr(self, "form", None) or self.mapping.form_class()
        context["import_form"] = MappingImportForm(columns=self.mapping.columns)
        return context

    def post(self, request, *args, **kwargs):
        self.form = self.mapping.form_class(request.POST)
        if self.form.is_valid():
            try:
                self.mapping.save(self.customer, request.user, None, self.form.cleaned_data)
            except DomainError as exc:
                form_error(self.form, exc)
            else:
                self.mapping.done(request, "saved")
                return redirect(self.mapping.list_url, slug=self.customer.slug)
        response = self.get(request, *args, **kwargs)
        response.status_code = 400
        return response


class PayerAliasListView(MappingListView):
    mapping = PAYER_ALIASES
    table_class = PayerAliasTable
    filterset_class = PayerAliasFilter
    template_name = "claims/payer_alias_list.html"

    def get_queryset(self):
        return selectors.payer_alias_list(customer=self.customer)


class CptGroupListView(MappingListView):
    mapping = CPT_GROUPS
    table_class = CptGroupOverrideTable
    filterset_class = CptGroupOverrideFilter
    template_name = "claims/cpt_group_list.html"

    def get_queryset(self):
        return selectors.cpt_group_list(customer=self.customer)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "default_groups": DEFAULT_GROUP_RULES}


class MappingEditView(CustomerMixin, View):
    permission = "accounts.edit_mappings"
    template_name = "claims/mapping_form.html"
    mapping: Mapping = PAYER_ALIASES  # set per URL

    def _render(self, form, status=200):
        context = {"customer": self.customer, "mapping": self.mapping, "form": form}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, slug: str, pk: int):
        obj = get_or_404(self.mapping.get, customer=self.customer, pk=pk)
        return self._render(self.mapping.form_class(initial=self.mapping.initial(obj)))

    def post(self, request, slug: str, pk: int):
        obj = get_or_404(self.mapping.get, customer=self.customer, pk=pk)
        form = self.mapping.form_class(request.POST)
        if form.is_valid():
            try:
                self.mapping.save(self.customer, request.user, obj, form.cleaned_data)
            except DomainError as exc:
                form_error(form, exc)
            else:
                self.mapping.done(request, "saved")
                return redirect(self.mapping.list_url, slug=self.customer.slug)
        return self._render(form, status=400)


class MappingDeleteView(CustomerMixin, View):
    permission = "accounts.edit_mappings"
    http_method_names = ["post"]
    mapping: Mapping = PAYER_ALIASES  # set per URL

    def post(self, request, slug: str, pk: int):
        obj = get_or_404(self.mapping.get, customer=self.customer, pk=pk)
        self.mapping.delete(obj, request.user)
        self.mapping.done(request, f"{obj} deleted")
        return redirect(self.mapping.list_url, slug=self.customer.slug)


class MappingImportView(CustomerMixin, View):
    """Save each row of a CSV through the same service as the form; report per-row errors."""

    permission = "accounts.edit_mappings"
    http_method_names = ["post"]
    mapping: Mapping = PAYER_ALIASES  # set per URL
    max_errors_shown = 20

    def post(self, request, slug: str):
        form = MappingImportForm(request.POST, request.FILES, columns=self.mapping.columns)
        if not form.is_valid():
            for error in form.errors.get("file", ["Choose a CSV file."]):
                messages.error(request, f"Nothing imported: {error}")
            return redirect(self.mapping.list_url, slug=self.customer.slug)
        saved, errors = 0, []
        for row_number, values in form.rows:
            try:
                self.mapping.save(self.customer, request.user, None, values)
            except DomainError as exc:
                errors.append(f"Row {row_number}: {exc.message}")
            else:
                saved += 1
        level = messages.SUCCESS if saved else messages.WARNING
        messages.add_message(
            request,
            level,
            f"Imported {saved} {self.mapping.noun if saved == 1 else self.mapping.plural}; "
            f"{len(errors)} row{'' if len(errors) == 1 else 's'} had errors."
            + (f" {self.mapping.background}" if saved else ""),
        )
        for error in errors[: self.max_errors_shown]:
            messages.error(request, error)
        if len(errors) > self.max_errors_shown:
            messages.error(request, f"…and {len(errors) - self.max_errors_shown} more rows.")
        return redirect(self.mapping.list_url, slug=self.customer.slug)


# -- payers ---------------------------------------------------------------------------------------


class PayerListView(CustomerMixin, TableView):
    """Every payer's claims, denial rate, decision time, dollars, open drift and a 12-week
    sparkline: one statement for the page's rows, one for all of its sparklines."""

    table_class = PayerSummaryTable
    filterset_class = PayerSummaryFilter
    template_name = "claims/payer_list.html"

    def get_queryset(self):
        return selectors.payer_summary_rows(customer=self.customer)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "customer": self.customer}

    def get_table_pagination(self, table):
        paginate = super().get_table_pagination(table)
        if paginate:
            paginate = {} if paginate is True else dict(paginate)
            paginate["paginator_class"] = EvaluatedPaginator
        return paginate

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        rows = list(table.page.object_list) if table.page else []
        _, table.trends = selectors.payer_weekly_denials_cached(
            customer=self.customer,
            payer_ids=[row.record.pk for row in rows],
            until=self.filterset.range[1],
            cpt_group=self.filterset.group,
        )
        rates = [d / n for weeks in table.trends.values() for n, d in weeks if n]
        table.trend_domain = (0.0, max(rates, default=0.0) or 1.0)
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["range"] = self.filterset.range
        return context


@dataclass(frozen=True)
class WeeklyChart:
    """One chart of the payer page and its table alternative."""

    id: str
    title: str
    chart: charts.LineChart | None
    rows: list[tuple[date, str, int]]  # (week, value, decided claims)


def _days(value: float) -> str:
    return f"{value:.1f} d"


def payer_charts(payer, weeks: list[selectors.PayerWeek]) -> list[WeeklyChart]:
    labels = [f"{w.week:%b %d}" for w in weeks]
    metrics = [
        ("denial-rate", "Denial rate", lambda w: w.denial_rate, lambda v: f"{v * 100:.1f}%"),
        ("decision-time", "Median days to decision", lambda w: w.median_days, _days),
        (
            "denied-dollars",
            "Denied dollars (billed)",
            lambda w: float(w.denied_dollars) if w.decided else None,
            lambda v: f"${v:,.0f}",
        ),
    ]
    result = []
    for chart_id, title, metric, fmt in metrics:
        values = [metric(w) for w in weeks]
        chart = charts.line_chart(
            labels, [charts.Series(payer.name, values)], fmt=fmt, label_width=130
        )
        rows = [
            (w.week, "—" if v is None else fmt(v), w.decided)
            for w, v in zip(weeks, values, strict=True)
        ]
        result.append(WeeklyChart(chart_id, title, chart, rows))
    return result


class PayerDetailView(CustomerMixin, SingleTableMixin, TemplateView):
    """A payer's weeks (denial rate, decision time, denied dollars) and its drift events."""

    template_name = "claims/payer_detail.html"
    table_class = DriftEventTable
    table_pagination = {"per_page": 20}

    def get(self, request, *args, **kwargs):
        self.payer = get_or_404(selectors.payer_get, customer=self.customer, pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.history_restore_request:
            return [f"{self.template_name}#table"]
        return [self.template_name]

    def get_table_data(self):
        return drift_selectors.drift_event_list(customer=self.customer).filter(payer=self.payer)

    def get_table_kwargs(self):
        return {"exclude": ("payer",)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["payer"] = self.payer
        context["charts"] = payer_charts(self.payer, selectors.payer_weekly(payer=self.payer))
        return context
