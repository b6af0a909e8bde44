"""The base of every customer-scoped API view: which customer, which permission."""

from __future__ import annotations

from operator import attrgetter

from rest_framework import permissions, serializers
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


class FlatSerializerMixin:
    """A read serializer of plain attributes (``source`` paths, slugs of related rows, no
    method fields), written out without DRF's per-field machinery (``get_attribute``'s error
    handling, ``SkipField``, the readable-fields generator) for every field of every row: the
    same dict, each value through its field's own ``to_representation``, ``None`` as ``None``.
    The claims list writes 50–200 rows × 16 fields per request, the audit list 50–200 × 12.
    Other serializers fall back to DRF's way."""

    def to_representation(self, instance):
        plan = self.__dict__.get("_flat_plan")
        if plan is None:
            plan = self._flat_plan = self._make_flat_plan()
        if not plan:
            return super().to_representation(instance)
        row = {}
        for name, get, represent in plan:
            value = get(instance)
            row[name] = None if value is None else represent(value)
        return row

    def _make_flat_plan(self) -> list:
        plan = []
        for field in self._readable_fields:
            if (
                field.source == "*"
                or isinstance(
                    field,
                    serializers.SerializerMethodField
                    | serializers.ManyRelatedField
                    | serializers.BaseSerializer,
                )
                # a slug of a related row is its attribute (DRF writes None for no row, as here)
                or (
                    isinstance(field, serializers.RelatedField)
                    and not isinstance(field, serializers.SlugRelatedField)
                )
            ):
                return []
            plan.append((field.field_name, attrgetter(field.source), field.to_representation))
        return plan
