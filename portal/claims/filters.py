"""FilterSets of the claims tables, shared by the portal pages and the API (PRODUCT §9).

Choices that name tenant rows (payers, uploads) are built per request from the customer, never
from a model-wide queryset: another customer's payer is neither offered nor accepted. The customer
comes from the ``customer`` keyword, else from the request (``request.payerwatch_customer``, set by
the portal's ``CustomerMixin`` and by the API's ``CustomerScopedMixin``); without one the choices
are empty.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from portal.claims import selectors
from portal.claims.models import (
    Claim,
    CptGroupOverride,
    Outcome,
    Payer,
    PayerAlias,
    RejectedRow,
    RowIssue,
    Upload,
    UploadStatus,
)
from portal.core.filters import ModelChoiceFilter

DATE = forms.DateInput(attrs={"type": "date"})


def _customer(customer, request):
    if customer is not None:
        return customer
    return getattr(request, "payerwatch_customer", None)


class ClaimFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="claim_id", lookup_expr="startswith", label="Claim id starts with"
    )
    payer = ModelChoiceFilter(queryset=Payer.objects.none(), empty_label="Any payer")
    cpt = django_filters.CharFilter(method="filter_cpt", label="CPT")
    # Any group name is accepted (the API takes free text); the portal offers a list (__init__).
    cpt_group = django_filters.CharFilter(label="CPT group")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, empty_label="Any outcome")
    submitted_from = django_filters.DateFilter(
        field_name="submitted_date", lookup_expr="gte", label="Submitted from", widget=DATE
    )
    submitted_until = django_filters.DateFilter(
        field_name="submitted_date", lookup_expr="lte", label="Submitted until", widget=DATE
    )
    decided_from = django_filters.DateFilter(
        field_name="decided_date", lookup_expr="gte", label="Decided from", widget=DATE
    )
    decided_until = django_filters.DateFilter(
        field_name="decided_date", lookup_expr="lte", label="Decided until", widget=DATE
    )
    upload = ModelChoiceFilter(queryset=Upload.objects.none(), empty_label="Any upload")

    class Meta:
        model = Claim
        fields = [
            "q",
            "payer",
            "cpt",
            "cpt_group",
            "outcome",
            "submitted_from",
            "submitted_until",
            "decided_from",
            "decided_until",
            "upload",
        ]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, customer=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.customer = _customer(customer, request)
        if self.customer is not None:
            self.filters["payer"].queryset = selectors.payer_list(customer=self.customer)
            self.filters["upload"].queryset = selectors.upload_list(customer=self.customer)
        groups = selectors.cpt_group_names(customer=self.customer)
        self.filters["cpt_group"].extra["widget"] = forms.Select(
            choices=[("", "Any group"), *((name, name) for name in groups)]
        )

    def filter_cpt(self, queryset, name, value):
        return queryset.filter(cpt=value.strip().upper())


class UploadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="file_name", lookup_expr="icontains", label="File name"
    )
    status = django_filters.ChoiceFilter(choices=UploadStatus.choices, empty_label="Any status")

    class Meta:
        model = Upload
        fields = ["q", "status"]


class RejectedRowFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=RowIssue.choices, empty_label="Rejected and warnings"
    )
    column = django_filters.CharFilter(lookup_expr="iexact", label="Column")

    class Meta:
        model = RejectedRow
        fields = ["kind", "column"]


class PayerAliasFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = PayerAlias
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(raw_name__icontains=value) | Q(payer__name__icontains=value))


class CptGroupOverrideFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = CptGroupOverride
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(cpt__istartswith=value.strip()) | Q(group__icontains=value))


class PayerSummaryFilter(django_filters.FilterSet):
    """The payer summary's filters (portal table and ``/api/v1/claims/payer-summary/``).

    The range is by **decision date** (claims decided from … until, inclusive; the last
    ``SUMMARY_DAYS`` days when neither is given) and the CPT group narrows the claims counted, not
    the payers: they parameterise the aggregates, so ``filter_queryset`` hands them to the
    selector instead of filtering rows. ``q`` narrows the payers by name.
    """

    q = django_filters.CharFilter(method="noop", label="Payer name")
    decided_from = django_filters.DateFilter(method="noop", label="Decided from", widget=DATE)
    decided_until = django_filters.DateFilter(method="noop", label="Decided until", widget=DATE)
    cpt_group = django_filters.CharFilter(method="noop", label="CPT group")

    class Meta:
        model = Payer
        fields: list[str] = []  # every filter is declared above

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, customer=None):
        # Always bound: with no parameters at all the summary still needs its default range.
        super().__init__(data if data is not None else {}, queryset, request=request, prefix=prefix)
        self.customer = _customer(customer, request)
        groups = selectors.cpt_group_names(customer=self.customer)
        self.filters["cpt_group"].extra["widget"] = forms.Select(
            choices=[("", "Any group"), *((name, name) for name in groups)]
        )

    def noop(self, queryset, name, value):
        return queryset

    @property
    def values(self) -> dict:
        return getattr(self.form, "cleaned_data", {}) if self.is_valid() else {}

    @property
    def range(self):
        """(first, last) decision date the summary covers."""
        return selectors.summary_range(
            self.values.get("decided_from"), self.values.get("decided_until")
        )

    @property
    def group(self) -> str | None:
        """The CPT group the claims are narrowed to, if any."""
        return self.values.get("cpt_group") or None

    def filter_queryset(self, queryset):
        if self.customer is None:
            return queryset.none()
        values = self.form.cleaned_data
        start, until = self.range
        queryset = selectors.payer_summary(
            queryset,
            customer=self.customer,
            decided_from=start,
            decided_until=until,
            cpt_group=self.group,
        )
        if values.get("q"):
            queryset = queryset.filter(name__icontains=values["q"].strip())
        return queryset
