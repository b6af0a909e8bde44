"""The base of every customer-scoped API view: which customer, which permission."""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.exceptions import NotFound

from portal.accounts.models import ApiToken, Customer
from portal.accounts.selectors import customers_for_user
from portal.api.exceptions import CustomerRequired
from portal.api.permissions import CustomerPermission

CUSTOMER_HEADER = "X-Customer"


class CustomerScopedMixin:
    """Resolves ``self.customer`` before permissions are checked.

    A token works inside its own customer. A portal session names the customer with the
    ``X-Customer`` header (or ``?customer=<slug>``); a user with one customer may omit it. A
    customer the user may not enter is a 404, as in the portal.
    """

    permission_classes = [CustomerPermission]
    read_permission = "accounts.view_customer_data"
    write_permission = "accounts.manage_members"
    customer: Customer

    def get_required_permission(self, request) -> str:
        if request.method in permissions.SAFE_METHODS:
            return self.read_permission
        return self.write_permission

    def check_permissions(self, request):
        if request.user and request.user.is_authenticated:
            self.customer = self.resolve_customer(request)
            request._request.payerwatch_customer = self.customer  # for the request log line
        super().check_permissions(request)

    def resolve_customer(self, request) -> Customer:
        if isinstance(request.auth, ApiToken):
            return request.auth.customer
        customers = customers_for_user(user=request.user)
        slug = request.headers.get(CUSTOMER_HEADER) or request.query_params.get("customer")
        if slug:
            try:
                return customers.get(slug=slug)
            except Customer.DoesNotExist:
                raise NotFound("No such customer.") from None
        candidates = list(customers[:2])
        if len(candidates) == 1 and not request.user.is_staff:
            return candidates[0]
        raise CustomerRequired(
            f"Say which customer: send the {CUSTOMER_HEADER} header or ?customer=<slug>."
        )
