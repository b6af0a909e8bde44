"""Portal pages of the alerts app: alerts (active / all, bulk acknowledge and resolve), one alert
(status, notification, evidence, feedback in place), and the alert rules (CRUD, enable/disable)."""

from __future__ import annotations

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from portal.alerts import selectors, services
from portal.alerts.filters import AlertFilter, AlertRuleFilter
from portal.alerts.forms import AlertRuleForm, BulkStatusForm, FeedbackForm
from portal.alerts.models import ReasonCode
from portal.alerts.tables import AlertRuleTable, AlertTable
from portal.claims import selectors as claim_selectors
from portal.core.exceptions import DomainError
from portal.core.views import CustomerMixin, ReadWriteMixin, TableView, form_error, get_or_404
from portal.drift.views import evidence

TABS = [("active", "Active"), ("all", "All")]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- alerts ---------------------------------------------------------------------------------------


class AlertListView(ReadWriteMixin, TableView):
    """Active alerts by default (``?tab=all`` for every one); analysts and up tick rows and
    acknowledge or resolve them in bulk (POST here, then back to the same filters)."""

    write_permission = "accounts.give_feedback"
    table_class = AlertTable
    filterset_class = AlertFilter
    template_name = "alerts/alert_list.html"

    @property
    def tab(self) -> str:
        return "all" if self.request.GET.get("tab") == "all" else "active"

    def get_queryset(self):
        if self.tab == "all":
            return selectors.alert_list(customer=self.customer)
        return selectors.active_alerts(customer=self.customer)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "customer": self.customer}

    def get_table_kwargs(self):
        if self.request.user.has_perm(self.write_permission, self.customer):
            return {}
        return {"exclude": ("select",)}

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if self.tab == "active":
            table.empty_text = "No active alerts: nothing needs your attention right now."
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        tabs = []
        for value, label in TABS:
            query["tab"] = value
            tabs.append((value, label, f"?{query.urlencode()}", value == self.tab))
        context.update(
            tab=self.tab,
            tabs=tabs,
            recovered=selectors.recovered_totals(customer=self.customer),
            notice=getattr(self, "notice", None),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = BulkStatusForm(request.POST)
        query = request.POST.get("next_query", "")
        if form.is_valid():
            action = form.cleaned_data["action"]
            try:
                changed = services.alerts_bulk_change_status(
                    customer=self.customer, actor=request.user,
                    pks=form.cleaned_data["alert"], action=action,
                )  # fmt: skip
            except DomainError as exc:
                notice = ("error", exc.message)
            else:
                notice = ("success", f"{_plural(changed, 'alert')} {services.DONE[action]}.")
        else:
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            notice = ("error", " ".join(errors))
        if request.htmx:  # the table region again, with the same filters and a notice in it
            request.GET = QueryDict(query)
            self.notice = notice
            return self.get(request, *args, **kwargs)
        messages.add_message(
            request, messages.SUCCESS if notice[0] == "success" else messages.ERROR, notice[1]
        )
        url = reverse("alerts:alert-list", kwargs={"slug": self.customer.slug})
        return redirect(f"{url}?{query}" if query else url)


class AlertDetailView(ReadWriteMixin, View):
    """One alert: status and its buttons, suppression, notification, the drift evidence, and the
    feedback form (POST here: in place with htmx, else redirect back)."""

    write_permission = "accounts.give_feedback"
    template_name = "alerts/alert_detail.html"

    def _context(self, alert, form=None, *, whole_page: bool = True) -> dict:
        """The page's context; ``whole_page=False`` (htmx's feedback and status fragments) leaves
        out the drift evidence and its chart, which only the whole page shows."""
        feedback = list(selectors.feedback_list(alert=alert))
        own = next((f for f in feedback if f.user_id == self.request.user.pk), None)
        return {
            **(evidence(self.customer, alert.event) if whole_page else {}),
            "customer": self.customer,
            "event": alert.event,
            "alert": alert,
            "history": [(f, [ReasonCode(c).label for c in f.reason_codes]) for f in feedback],
            "form": form or FeedbackForm.for_feedback(own),
            "own_feedback": own,
        }

    def get(self, request, slug: str, pk: int):
        alert = get_or_404(selectors.alert_get, customer=self.customer, pk=pk)
        return render(request, self.template_name, self._context(alert))

    def post(self, request, slug: str, pk: int):
        alert = get_or_404(selectors.alert_get, customer=self.customer, pk=pk)
        form = FeedbackForm(request.POST)
        saved = False
        if form.is_valid():
            try:
                services.feedback_save(alert=alert, actor=request.user, fields=form.to_fields())
            except DomainError as exc:
                form_error(form, exc)
            else:
                saved = True
        if saved and not request.htmx:
            messages.success(request, "Feedback saved.")
            return redirect("alerts:alert-detail", slug=self.customer.slug, pk=alert.pk)
        alert = selectors.alert_get(customer=self.customer, pk=alert.pk)  # its status may move
        context = {
            **self._context(alert, None if saved else form, whole_page=not request.htmx),
            "saved": saved,
            "oob": bool(request.htmx),  # the status section is swapped too (out of band)
        }
        if request.htmx:  # htmx swaps 2xx answers only: the errors come back in the fragment
            return render(request, f"{self.template_name}#feedback", context)
        return render(request, self.template_name, context, status=400)


class AlertStatusView(CustomerMixin, View):
    """POST ``action`` = acknowledge | resolve | reopen, then back to the alert."""

    permission = "accounts.give_feedback"
    http_method_names = ["post"]

    def post(self, request, slug: str, pk: int):
        alert = get_or_404(selectors.alert_get, customer=self.customer, pk=pk)
        action = request.POST.get("action", "")
        try:
            services.alert_change_status(alert=alert, actor=request.user, action=action)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Alert {services.DONE[action]}.")
        return redirect("alerts:alert-detail", slug=self.customer.slug, pk=alert.pk)


# -- rules ----------------------------------------------------------------------------------------


class RuleListView(CustomerMixin, TableView):
    table_class = AlertRuleTable
    filterset_class = AlertRuleFilter
    template_name = "alerts/rule_list.html"

    def get_queryset(self):
        return selectors.alert_rule_list(customer=self.customer)

    def get_table_kwargs(self):
        payers = claim_selectors.payer_list(customer=self.customer).values_list("pk", "name")
        kwargs = {"payer_names": dict(payers)}
        if not self.request.user.has_perm("accounts.manage_alert_rules", self.customer):
            kwargs["exclude"] = ("actions",)
        return kwargs


class RuleFormView(CustomerMixin, View):
    """Create (no ``pk``) or edit a rule; a name taken (ignoring case) is an error on the name."""

    permission = "accounts.manage_alert_rules"
    template_name = "alerts/rule_form.html"

    def _rule(self, pk):
        if pk is None:
            return None
        return get_or_404(selectors.alert_rule_get, customer=self.customer, pk=pk)

    def _render(self, form, rule, status=200):
        context = {"customer": self.customer, "form": form, "rule": rule}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, slug: str, pk: int | None = None):
        rule = self._rule(pk)
        return self._render(AlertRuleForm(customer=self.customer, rule=rule), rule)

    def post(self, request, slug: str, pk: int | None = None):
        rule = self._rule(pk)
        form = AlertRuleForm(request.POST, customer=self.customer, rule=rule)
        if form.is_valid():
            try:
                if rule is None:
                    rule = services.alert_rule_create(
                        customer=self.customer, actor=request.user, fields=form.to_fields()
                    )
                else:
                    services.alert_rule_update(
                        rule=rule, actor=request.user, fields=form.to_fields()
                    )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(request, f"Alert rule “{rule.name}” saved.")
                return redirect("alerts:rule-list", slug=self.customer.slug)
        return self._render(form, self._rule(pk), status=400)


class RuleToggleView(CustomerMixin, View):
    """Enable or disable a rule: the row's switch re-renders in place with htmx."""

    permission = "accounts.manage_alert_rules"
    http_method_names = ["post"]

    def post(self, request, slug: str, pk: int):
        rule = get_or_404(selectors.alert_rule_get, customer=self.customer, pk=pk)
        enabled = request.POST.get("enabled") == "true"
        services.alert_rule_set_enabled(rule=rule, actor=request.user, enabled=enabled)
        if request.htmx:
            context = {"customer": self.customer, "record": rule}
            return render(request, "alerts/_rule_toggle.html", context)
        state = "enabled" if enabled else "disabled"
        messages.success(request, f"Alert rule “{rule.name}” {state}.")
        return redirect("alerts:rule-list", slug=self.customer.slug)


class RuleDeleteView(CustomerMixin, View):
    """GET asks for confirmation; POST deletes (the rule's alerts stay, with its name)."""

    permission = "accounts.manage_alert_rules"

    def get(self, request, slug: str, pk: int):
        rule = get_or_404(selectors.alert_rule_get, customer=self.customer, pk=pk)
        context = {"customer": self.customer, "rule": rule, "alert_count": rule.alerts.count()}
        return render(request, "alerts/rule_confirm_delete.html", context)

    def post(self, request, slug: str, pk: int):
        rule = get_or_404(selectors.alert_rule_get, customer=self.customer, pk=pk)
        name = rule.name
        services.alert_rule_delete(rule=rule, actor=request.user)
        messages.success(request, f"Alert rule “{name}” deleted; its alerts are kept.")
        return redirect("alerts:rule-list", slug=self.customer.slug)
