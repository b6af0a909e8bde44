"""The reports table's FilterSet, shared by the portal page and the API list (PRODUCT §9)."""

from __future__ import annotations

import django_filters

from portal.reports.models import Report, ReportKind, ReportStatus, ReportTrigger


class ReportFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReportKind.choices, empty_label="Any kind")
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices, empty_label="Any status")
    trigger = django_filters.ChoiceFilter(choices=ReportTrigger.choices, empty_label="Any trigger")

    class Meta:
        model = Report
        fields = ["kind", "status", "trigger"]
