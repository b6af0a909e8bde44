"""System checks of the webhooks app: private networks are for development and tests."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.checks import Error, register


@register()
def private_networks_check(app_configs=None, **kwargs) -> list[Error]:
    networks = list(getattr(settings, "WEBHOOK_ALLOWED_PRIVATE_NETWORKS", []) or [])
    errors = []
    for cidr in networks:
        try:
            ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"WEBHOOK_ALLOWED_PRIVATE_NETWORKS: {cidr!r} is not a network (CIDR).",
                    id="webhooks.E002",
                )
            )
    if (
        networks
        and not settings.DEBUG
        and not getattr(settings, "WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION", False)
    ):
        errors.append(
            Error(
                "WEBHOOK_ALLOWED_PRIVATE_NETWORKS is set while DEBUG is off: customers' webhooks "
                f"could reach {', '.join(networks)}.",
                hint="Unset it in production, or set WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION=true if "
                "these networks really must receive webhooks.",
                id="webhooks.E001",
            )
        )
    return errors
