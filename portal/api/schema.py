"""drf-spectacular: our auth scheme, and the customer header on customer-scoped operations."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter
from drf_standardized_errors.openapi import AutoSchema as StandardErrorsAutoSchema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.BearerTokenAuthentication"
    name = "BearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A per-customer API token (`pw_…`), created by an admin on the "
            "portal's API tokens page or with `manage.py create_api_token`.",
        }


CUSTOMER_PARAMETER = OpenApiParameter(
    name="X-Customer",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Portal sessions only: the slug of the customer to work in (a user with one "
    "customer may omit it). Tokens always work in their own customer.",
    type=str,
)


class AutoSchema(StandardErrorsAutoSchema):
    """Documents what every customer-scoped operation can answer besides its own errors: the
    ``X-Customer`` header, ``customer_required`` for sessions that name no customer, and DRF's
    search filter refusing NUL characters."""

    def _get_extra_validation_errors(self):
        from portal.api.base import CustomerScopedMixin

        extra = {
            field: set(codes) for field, codes in super()._get_extra_validation_errors().items()
        }
        if isinstance(self.view, CustomerScopedMixin):
            extra.setdefault(None, set()).add("customer_required")
        if self.method == "GET" and (
            getattr(self.view, "search_fields", None)
            or getattr(self.view, "ordering_fields", None)
            or getattr(self.view, "filterset_class", None)
        ):  # query parameters with a NUL character are refused (DRF and Django validators)
            extra.setdefault(None, set()).add("null_characters_not_allowed")
        return extra

    def get_override_parameters(self):
        from portal.api.base import CustomerScopedMixin

        params = list(super().get_override_parameters())
        if isinstance(self.view, CustomerScopedMixin):
            params.append(CUSTOMER_PARAMETER)
        return params
