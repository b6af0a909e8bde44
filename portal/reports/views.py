"""Portal pages of the reports app: the reports table (generate the weekly summary, live
progress, downloads), a report's page, exports of the filtered tables, and the report settings."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views import View

from portal.core.exceptions import DomainError
from portal.core.views import CustomerMixin, ReadWriteMixin, TableView, get_or_404
from portal.reports import selectors, services, sources
from portal.reports.filters import ReportFilter
from portal.reports.forms import ReportSettingsForm, WeeklySummaryForm
from portal.reports.models import ReportFormat, ReportKind, ReportTrigger
from portal.reports.tables import ReportTable

SETTINGS_PERMISSION = "accounts.manage_detection_settings"  # admins (PRODUCT §2)


def _status(exc: DomainError) -> int:
    return 429 if isinstance(exc, services.TooManyReports) else 400


class ReportListView(ReadWriteMixin, TableView):
    write_permission = "accounts.generate_reports"
    table_class = ReportTable
    filterset_class = ReportFilter
    template_name = "reports/report_list.html"

    def get_queryset(self):
        return selectors.report_list(customer=self.customer)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = getattr(self, "form", None) or WeeklySummaryForm()
        page = getattr(context["table"], "page", None)
        rows = page.object_list if page is not None else []
        context["live"] = any(not row.record.is_finished for row in rows)
        return context

    def post(self, request, *args, **kwargs):
        self.form = WeeklySummaryForm(request.POST)
        status = 400
        if self.form.is_valid():
            try:
                report = services.report_request(
                    customer=self.customer,
                    actor=request.user,
                    kind=ReportKind.WEEKLY_SUMMARY,
                    trigger=ReportTrigger.PORTAL,
                    period_end=self.form.cleaned_data["period_end"],
                )
            except DomainError as exc:
                self.form.add_error(None, exc.message)
                status = _status(exc)
            else:
                messages.success(request, f"Weekly summary #{report.pk} requested.")
                return redirect("reports:report-detail", slug=self.customer.slug, pk=report.pk)
        response = self.get(request, *args, **kwargs)
        response.status_code = status
        return response


class ReportDetailView(CustomerMixin, View):
    def get(self, request, slug: str, pk: int):
        report = get_or_404(selectors.report_get, customer=self.customer, pk=pk)
        context = {
            "customer": self.customer,
            "report": report,
            "settings": selectors.report_settings(customer=self.customer),
        }
        return render(request, "reports/report_detail.html", context)


class ReportStatusView(CustomerMixin, View):
    """The status fragment polled every second while the report is queued or running; the
    finished fragment carries no trigger, so the polling stops."""

    def get(self, request, slug: str, pk: int):
        report = get_or_404(selectors.report_get, customer=self.customer, pk=pk)
        context = {"customer": self.customer, "report": report}
        return render(request, "reports/report_detail.html#status", context)


class ReportDownloadView(CustomerMixin, View):
    """One generated file, as an attachment; every download is audited."""

    def get(self, request, slug: str, pk: int, format: str):
        report = get_or_404(selectors.report_get, customer=self.customer, pk=pk)
        if format not in ReportFormat.values:
            raise Http404("No such format.")
        stored = get_or_404(
            services.report_download, report=report, format=format, actor=request.user
        )
        return FileResponse(
            stored.file.open("rb"),
            as_attachment=True,
            filename=stored.file_name,
            content_type=stored.content_type,
        )


class ReportEmailView(CustomerMixin, View):
    permission = "accounts.generate_reports"
    http_method_names = ["post"]

    def post(self, request, slug: str, pk: int):
        report = get_or_404(selectors.report_get, customer=self.customer, pk=pk)
        try:
            sent = services.report_email(report=report, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        except Exception:
            messages.error(request, "The e-mail could not be sent; please try again later.")
        else:
            messages.success(request, f"E-mailed to {sent} recipient{'s' if sent != 1 else ''}.")
        return redirect("reports:report-detail", slug=self.customer.slug, pk=report.pk)


class ExportView(CustomerMixin, View):
    """An export of a table as filtered: ``?table=claims|drift_events|alerts&<its filters>``.

    GET asks for confirmation (so it can be linked from any page); POST — the export buttons of
    the tables — queues the export and opens its page."""

    permission = "accounts.generate_reports"

    def _kind(self, request) -> str:
        table = request.GET.get("table") or request.POST.get("table") or ""
        if table not in sources.KIND_BY_TABLE:
            raise Http404("No such table.")
        return sources.KIND_BY_TABLE[table]

    def _render(self, request, kind: str, error: str = "", status: int = 200):
        context = {
            "customer": self.customer,
            "kind": kind,
            "title": sources.SOURCES[kind].title,
            "filters": {k: v for k, v in request.GET.items() if k not in sources.NOT_FILTERS},
            "error": error,
        }
        return render(request, "reports/export_confirm.html", context, status=status)

    def get(self, request, slug: str):
        return self._render(request, self._kind(request))

    def post(self, request, slug: str):
        kind = self._kind(request)
        try:
            report = services.report_request(
                customer=self.customer,
                actor=request.user,
                kind=kind,
                filters=request.GET.dict(),
                trigger=ReportTrigger.PORTAL,
            )
        except DomainError as exc:
            return self._render(request, kind, error=exc.message, status=_status(exc))
        messages.success(request, f"Export #{report.pk} requested.")
        return redirect("reports:report-detail", slug=self.customer.slug, pk=report.pk)


class SettingsView(CustomerMixin, View):
    permission = SETTINGS_PERMISSION

    def _render(self, form, status=200):
        context = {"customer": self.customer, "form": form}
        return render(self.request, "reports/settings.html", context, status=status)

    def get(self, request, slug: str):
        stored = selectors.report_settings(customer=self.customer)
        initial = {
            "weekly_enabled": stored.weekly_enabled,
            "weekday": stored.weekday,
            "recipients": "\n".join(stored.recipients),
            "email_pdf": stored.email_pdf,
        }
        return self._render(ReportSettingsForm(initial=initial))

    def post(self, request, slug: str):
        form = ReportSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.report_settings_save(
                    customer=self.customer, actor=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "Report settings saved.")
                return redirect("reports:settings", slug=self.customer.slug)
        return self._render(form, status=400)
