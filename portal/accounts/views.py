"""Portal pages of the accounts app: home, customer home, members, customers (staff)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from portal.accounts import selectors, services
from portal.accounts.filters import ApiTokenFilter, CustomerFilter, MembershipFilter
from portal.accounts.forms import ApiTokenForm, CustomerCreateForm, MemberAddForm, MemberRoleForm
from portal.accounts.models import ApiToken, Membership
from portal.accounts.roles import PERMISSIONS, Role
from portal.accounts.tables import ApiTokenTable, CustomerTable, MembershipTable
from portal.core.exceptions import DomainError
from portal.core.views import CustomerMixin, StaffRequiredMixin, TableView
from portal.dashboard.views import DashboardView


@login_required
def home(request):
    customers = selectors.customers_for_user(user=request.user)
    return render(request, "accounts/home.html", {"customers": customers[:200]})


class CustomerHomeView(DashboardView):
    """The customer's home page is its dashboard, with what the user's role may do there."""

    template_name = "accounts/customer_home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["abilities"] = [
            (description, user.has_perm(f"accounts.{codename}", self.customer))
            for codename, description, _ in PERMISSIONS
        ]
        context["member_count"] = selectors.membership_list(customer=self.customer).count()
        return context


class MemberListView(CustomerMixin, TableView):
    permission = "accounts.manage_members"
    table_class = MembershipTable
    filterset_class = MembershipFilter
    template_name = "accounts/member_list.html"

    def get_queryset(self):
        return selectors.membership_list(customer=self.customer)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["add_form"] = getattr(self, "add_form", None) or MemberAddForm()
        context["roles"] = Role.choices
        return context

    def post(self, request, *args, **kwargs):
        """Add a member; errors re-render the page with the form."""
        form = MemberAddForm(request.POST)
        if form.is_valid():
            try:
                membership = services.membership_add(
                    customer=self.customer, actor=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request, f"{membership.user.email} added as {membership.get_role_display()}."
                )
                return redirect("accounts:member-list", slug=self.customer.slug)
        self.add_form = form
        response = self.get(request, *args, **kwargs)
        response.status_code = 400
        return response


class MemberActionView(CustomerMixin, View):
    """POST-only: change a member's role or remove them, then back to the members page."""

    permission = "accounts.manage_members"
    action = "role"

    def post(self, request, slug: str, pk: int):
        try:
            membership = selectors.membership_get(customer=self.customer, pk=pk)
        except Membership.DoesNotExist:
            raise Http404("No such member.") from None
        try:
            if self.action == "remove":
                services.membership_remove(membership=membership, actor=request.user)
                messages.success(request, f"{membership.user.email} removed.")
            else:
                form = MemberRoleForm(request.POST)
                if not form.is_valid():
                    raise DomainError("Choose one of the roles.")
                services.membership_change_role(
                    membership=membership, role=form.cleaned_data["role"], actor=request.user
                )
                messages.success(
                    request, f"{membership.user.email} is now {membership.get_role_display()}."
                )
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(self._back_url())

    def _back_url(self) -> str:
        url = reverse("accounts:member-list", kwargs={"slug": self.customer.slug})
        query = self.request.POST.get("next_query", "")
        return f"{url}?{query}" if query else url


class CustomerListView(StaffRequiredMixin, TableView):
    table_class = CustomerTable
    filterset_class = CustomerFilter
    template_name = "accounts/customer_list.html"

    def get_queryset(self):
        return selectors.customer_list_with_counts()


class CustomerCreateView(StaffRequiredMixin, View):
    template_name = "accounts/customer_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": CustomerCreateForm()})

    def post(self, request):
        form = CustomerCreateForm(request.POST)
        if form.is_valid():
            try:
                customer = services.customer_create(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"Customer {customer.name} created.")
                return redirect("accounts:customer-home", slug=customer.slug)
        return render(request, self.template_name, {"form": form}, status=400)


class ApiTokenListView(CustomerMixin, TableView):
    """Settings → API tokens: list, create (the token is shown once), revoke. Admins."""

    permission = "accounts.manage_api_tokens"
    table_class = ApiTokenTable
    filterset_class = ApiTokenFilter
    template_name = "accounts/token_list.html"

    def get_queryset(self):
        return selectors.api_token_list(customer=self.customer)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = getattr(self, "form", None) or ApiTokenForm()
        context["new_token"] = getattr(self, "new_token", None)
        return context

    def post(self, request, *args, **kwargs):
        self.form = ApiTokenForm(request.POST)
        status = 400
        if self.form.is_valid():
            try:
                _, plain = services.api_token_create(
                    customer=self.customer,
                    user=request.user,
                    actor=request.user,
                    **self.form.cleaned_data,
                )
            except DomainError as exc:
                self.form.add_error(
                    exc.field if exc.field in self.form.fields else None, exc.message
                )
            else:
                # Shown on this response only: never stored, never shown again.
                self.new_token, self.form, status = plain, ApiTokenForm(), 201
        response = self.get(request, *args, **kwargs)
        response.status_code = status
        return response


class ApiTokenRevokeView(CustomerMixin, View):
    permission = "accounts.manage_api_tokens"

    def post(self, request, slug: str, pk: int):
        try:
            token = selectors.api_token_list(customer=self.customer).get(pk=pk)
        except ApiToken.DoesNotExist:
            raise Http404("No such token.") from None
        services.api_token_revoke(token=token, actor=request.user)
        messages.success(request, f"Token {token.name} ({token.prefix}…) revoked.")
        return redirect("accounts:token-list", slug=self.customer.slug)
