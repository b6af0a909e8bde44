"""Portal pages of the webhooks app: endpoints (CRUD, enable/disable, test, rotate secret), their
message log, a message with its attempts, and the dead letters (replay one or all).

Everyone at the customer reads; changing anything needs ``accounts.manage_webhooks``."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from portal.core.exceptions import DomainError
from portal.core.views import CustomerMixin, TableView, form_error, get_or_404
from portal.webhooks import selectors, services
from portal.webhooks.filters import WebhookEndpointFilter, WebhookMessageFilter
from portal.webhooks.forms import EndpointForm
from portal.webhooks.models import MessageStatus
from portal.webhooks.tables import DeadMessageTable, WebhookEndpointTable, WebhookMessageTable

MANAGE = "accounts.manage_webhooks"


def _secret_page(request, customer, endpoint, secret, *, status):
    """The secret, shown on this response only (never stored in a session, never shown again)."""
    context = {"customer": customer, "endpoint": endpoint, "secret": secret}
    return render(request, "webhooks/secret.html", context, status=status)


class EndpointListView(CustomerMixin, TableView):
    table_class = WebhookEndpointTable
    filterset_class = WebhookEndpointFilter
    template_name = "webhooks/endpoint_list.html"

    def get_queryset(self):
        return selectors.endpoint_list(customer=self.customer)


class EndpointCreateView(CustomerMixin, View):
    permission = MANAGE

    def _render(self, form, status=200):
        context = {"customer": self.customer, "form": form, "endpoint": None}
        return render(self.request, "webhooks/endpoint_form.html", context, status=status)

    def get(self, request, slug: str):
        return self._render(EndpointForm())

    def post(self, request, slug: str):
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = services.endpoint_create(
                    customer=self.customer, actor=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                return _secret_page(request, self.customer, endpoint, secret, status=201)
        return self._render(form, status=400)


class EndpointEditView(CustomerMixin, View):
    permission = MANAGE

    def _render(self, form, endpoint, status=200):
        context = {"customer": self.customer, "form": form, "endpoint": endpoint}
        return render(self.request, "webhooks/endpoint_form.html", context, status=status)

    def get(self, request, slug: str, pk: int):
        endpoint = get_or_404(selectors.endpoint_get, customer=self.customer, pk=pk)
        initial = {"name": endpoint.name, "url": endpoint.url, "event_types": endpoint.event_types}
        return self._render(EndpointForm(initial=initial), endpoint)

    def post(self, request, slug: str, pk: int):
        endpoint = get_or_404(selectors.endpoint_get, customer=self.customer, pk=pk)
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                services.endpoint_update(endpoint=endpoint, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(request, f"Endpoint “{endpoint.name}” saved.")
                return redirect("webhooks:endpoint-detail", slug=self.customer.slug, pk=endpoint.pk)
        return self._render(form, endpoint, status=400)


class EndpointDetailView(CustomerMixin, TableView):
    """The endpoint and its message log (status, attempts, last response code)."""

    table_class = WebhookMessageTable
    filterset_class = WebhookMessageFilter
    template_name = "webhooks/endpoint_detail.html"

    def get_queryset(self):
        self.endpoint = get_or_404(
            selectors.endpoint_get, customer=self.customer, pk=self.kwargs["pk"]
        )
        return selectors.message_list(customer=self.customer, endpoint=self.endpoint)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "customer": self.customer}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["endpoint"] = self.endpoint
        context["dead_count"] = (
            selectors.message_list(customer=self.customer, endpoint=self.endpoint)
            .filter(status=MessageStatus.DEAD)
            .count()
        )
        return context


class EndpointActionView(CustomerMixin, View):
    """POST-only buttons of an endpoint: enable, disable, delete, test, rotate, replay-dead."""

    permission = MANAGE
    action: str = ""

    def post(self, request, slug: str, pk: int):
        endpoint = get_or_404(selectors.endpoint_get, customer=self.customer, pk=pk)
        detail = redirect("webhooks:endpoint-detail", slug=self.customer.slug, pk=endpoint.pk)
        try:
            if self.action == "rotate":
                secret = services.secret_rotate(endpoint=endpoint, actor=request.user)
                return _secret_page(request, self.customer, endpoint, secret, status=200)
            if self.action == "delete":
                services.endpoint_delete(endpoint=endpoint, actor=request.user)
                messages.success(request, f"Endpoint “{endpoint.name}” deleted.")
                return redirect("webhooks:endpoint-list", slug=self.customer.slug)
            if self.action == "enable":
                services.endpoint_enable(endpoint=endpoint, actor=request.user)
                messages.success(request, "Endpoint enabled; waiting messages are sent now.")
            elif self.action == "disable":
                services.endpoint_disable(endpoint=endpoint, actor=request.user)
                messages.success(request, "Endpoint disabled; new messages wait until enabled.")
            elif self.action == "test":
                message = services.endpoint_send_test(endpoint=endpoint, actor=request.user)
                messages.success(request, f"Test message {message.webhook_id} queued.")
            elif self.action == "replay-dead":
                count = services.messages_replay_dead(endpoint=endpoint, actor=request.user)
                messages.success(request, f"{count} dead message{'s' * (count != 1)} replayed.")
            else:  # pragma: no cover - the URLconf names every action
                raise Http404("No such action.")
        except DomainError as exc:
            messages.error(request, exc.message)
        return detail


class MessageDetailView(CustomerMixin, View):
    def get(self, request, slug: str, pk: int):
        message = get_or_404(selectors.message_get, customer=self.customer, pk=pk)
        context = {
            "customer": self.customer,
            "message": message,
            "attempts": selectors.attempt_list(message=message),
        }
        return render(request, "webhooks/message_detail.html", context)


class MessageReplayView(CustomerMixin, View):
    permission = MANAGE

    def post(self, request, slug: str, pk: int):
        message = get_or_404(selectors.message_get, customer=self.customer, pk=pk)
        try:
            services.message_replay(message=message, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Message {message.webhook_id} replayed.")
        return redirect("webhooks:message-detail", slug=self.customer.slug, pk=message.pk)


class DeadLetterView(CustomerMixin, TableView):
    table_class = DeadMessageTable
    filterset_class = WebhookMessageFilter
    template_name = "webhooks/dead_letters.html"

    def get_queryset(self):
        return selectors.message_list(customer=self.customer).filter(status=MessageStatus.DEAD)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "customer": self.customer}
