"""Portal pages of the drift app: runs (request one, live status), events (filters, evidence with
a weekly chart) and the detection settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from portal.core.exceptions import DomainError
from portal.core.views import CustomerMixin, ReadWriteMixin, TableView, get_or_404
from portal.drift import selectors, services
from portal.drift.filters import DriftEventFilter, DriftRunFilter
from portal.drift.forms import DetectionSettingsForm, RunRequestForm
from portal.drift.models import DetectionSettings, DriftRun, RunStatus
from portal.drift.tables import DriftEventTable, DriftRunTable, format_delta, format_value


def _is_finished(run: DriftRun) -> bool:
    return run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)


# -- runs -----------------------------------------------------------------------------------------


class RunListView(ReadWriteMixin, TableView):
    write_permission = "accounts.run_detection"
    table_class = DriftRunTable
    filterset_class = DriftRunFilter
    template_name = "drift/run_list.html"
    keyset = True

    def get_queryset(self):
        return selectors.drift_run_list(customer=self.customer)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = getattr(self, "form", None) or RunRequestForm()
        return context

    def post(self, request, *args, **kwargs):
        self.form = RunRequestForm(request.POST)
        if self.form.is_valid():
            try:
                run = services.run_request(
                    customer=self.customer,
                    actor=request.user,
                    trigger="portal",
                    as_of=self.form.cleaned_data["as_of"],
                )
            except DomainError as exc:
                self.form.add_error(None, exc.message)
            else:
                messages.success(request, f"Drift run #{run.pk} requested.")
                return redirect("drift:run-detail", slug=self.customer.slug, pk=run.pk)
        response = self.get(request, *args, **kwargs)
        response.status_code = 400
        return response


class RunDetailView(CustomerMixin, View):
    def get(self, request, slug: str, pk: int):
        run = get_or_404(selectors.drift_run_get, customer=self.customer, pk=pk)
        context = {"customer": self.customer, "run": run, "finished": _is_finished(run)}
        return render(request, "drift/run_detail.html", context)


class RunStatusView(CustomerMixin, View):
    """The status fragment polled every second while the run is queued or running; the finished
    fragment carries no trigger, so the polling stops."""

    def get(self, request, slug: str, pk: int):
        run = get_or_404(selectors.drift_run_get, customer=self.customer, pk=pk)
        context = {"customer": self.customer, "run": run, "finished": _is_finished(run)}
        return render(request, "drift/run_detail.html#status", context)


# -- events ---------------------------------------------------------------------------------------


class EventListView(CustomerMixin, TableView):
    table_class = DriftEventTable
    filterset_class = DriftEventFilter
    template_name = "drift/event_list.html"
    keyset = True

    def get_queryset(self):
        return selectors.drift_event_list(customer=self.customer)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "customer": self.customer}


@dataclass(frozen=True)
class Chart:
    """A server-rendered line chart: coordinates in a fixed viewBox, drawn by the template."""

    width: int
    height: int
    points: str
    dots: list[tuple[float, float, str]]
    windows: list[tuple[str, float, float]]  # (name, x, width)
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    top: int
    bottom: int
    left: int


def weekly_chart(event, series: list[tuple[date, float | None]]) -> Chart | None:
    values = [value for _, value in series if value is not None]
    if not series or not values:
        return None
    width, height, left, right, top, bottom = 640, 240, 64, 12, 12, 210
    lo, hi = min(0.0, min(values)), max(values)
    hi = hi if hi > lo else lo + 1
    first = series[0][0]
    span = max((event.current_end - first).days + 1, 1)

    def x(day: date) -> float:
        return round(left + (width - left - right) * (day - first).days / span, 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * (value - lo) / (hi - lo), 1)

    dots = [
        (x(week + timedelta(days=3)), y(value), format_value(event.drift_type, value))
        for week, value in series
        if value is not None
    ]
    windows = [
        ("baseline", x(event.baseline_start), x(event.baseline_end + timedelta(days=1))),
        ("current", x(event.current_start), x(event.current_end + timedelta(days=1))),
    ]
    return Chart(
        width=width,
        height=height,
        points=" ".join(f"{px},{py}" for px, py, _ in dots),
        dots=dots,
        windows=[(name, x0, round(x1 - x0, 1)) for name, x0, x1 in windows],
        y_ticks=[
            (y(lo + (hi - lo) * i / 4), format_value(event.drift_type, lo + (hi - lo) * i / 4))
            for i in range(5)
        ],
        x_ticks=[(x(week), f"{week:%b %d}") for week, _ in series[::3]],
        top=top,
        bottom=bottom,
        left=left,
    )


def claims_url(customer, event) -> str:
    """The claims page filtered to the event's segment and windows (ClaimFilter's names)."""
    params = {
        "payer": event.payer_id,
        "decided_from": event.baseline_start.isoformat(),
        "decided_until": event.current_end.isoformat(),
    }
    if event.cpt_group != "ALL":
        params["cpt_group"] = event.cpt_group
    return f"{reverse('claims:claim-list', args=[customer.slug])}?{urlencode(params)}"


def evidence(customer, event) -> dict:
    """The context of ``drift/_evidence.html`` (the drift event page and the alert page)."""
    series = selectors.event_weekly_series(event=event)
    kind = event.drift_type
    return {
        "customer": customer,
        "event": event,
        "baseline": format_value(kind, event.baseline_value),
        "current": format_value(kind, event.current_value),
        "delta": format_delta(kind, event.delta),
        "series": [(week, format_value(kind, value)) for week, value in series],
        "chart": weekly_chart(event, series),
        "claims_url": claims_url(customer, event),
    }


class EventDetailView(CustomerMixin, View):
    def get(self, request, slug: str, pk: int):
        event = get_or_404(selectors.drift_event_get, customer=self.customer, pk=pk)
        return render(request, "drift/event_detail.html", evidence(self.customer, event))


# -- settings -------------------------------------------------------------------------------------


class SettingsView(CustomerMixin, View):
    permission = "accounts.manage_detection_settings"

    def _render(self, form, status=200):
        context = {"customer": self.customer, "form": form}
        return render(self.request, "drift/settings.html", context, status=status)

    def _instance(self) -> DetectionSettings:
        instance, _ = DetectionSettings.objects.get_or_create(customer=self.customer)
        return instance

    def get(self, request, slug: str):
        return self._render(DetectionSettingsForm(instance=self._instance()))

    def post(self, request, slug: str):
        form = DetectionSettingsForm(request.POST, instance=self._instance())
        if not form.is_valid():
            return self._render(form, status=400)
        services.detection_settings_save(
            customer=self.customer, actor=request.user, **form.cleaned_data
        )
        messages.success(request, "Detection settings saved. They apply from the next run.")
        return redirect("drift:settings", slug=self.customer.slug)
