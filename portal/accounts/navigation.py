"""The portal's top bar (brand, main navigation, customer switcher), rendered once per user,
customer and permissions and then read from the cache: every page shows it, and it cost a query
(the switcher's customers) and a few milliseconds of template per page.

The key holds everything the bar shows of the user (id, e-mail, staff) and of the customer (id,
slug, name), the answers to the permission questions its links depend on, and a generation that
every save or delete of a customer or a membership moves on (the switcher's list). The user menu
with its CSRF-protected logout form is not part of it.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from portal.accounts.models import Customer, Membership
from portal.accounts.selectors import customers_for_user

TEMPLATE = "core/_topbar.html"
GENERATION_KEY = "navigation:generation"
SECONDS = 3600
# The permissions whose links the bar shows or hides: answered here, once, for both the cache
# key and the template (``allowed.<name>``), so the two cannot disagree.
LINK_PERMISSIONS = (
    "manage_members",
    "manage_api_tokens",
    "view_audit_log",
    "manage_detection_settings",
)


def _allowed(user, customer) -> dict[str, bool]:
    if customer is None:
        return {}
    return {name: user.has_perm(f"accounts.{name}", customer) for name in LINK_PERMISSIONS}


def _key(user, customer, allowed: dict[str, bool]) -> str:
    parts = [
        cache.get(GENERATION_KEY, 0),
        user.pk,
        user.email,
        user.is_staff,
        getattr(customer, "pk", None),
        getattr(customer, "slug", None),
        getattr(customer, "name", None),
        sorted(allowed.items()),
    ]
    return "navigation:topbar:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def topbar_html(context) -> str:
    """The bar for the page's user and customer (the template's context supplies both)."""
    user = context.get("user")
    customer = context.get("customer")
    if user is None or not user.is_authenticated:
        return mark_safe(render_to_string(TEMPLATE, {"user": user}))  # the brand alone
    allowed = _allowed(user, customer)
    key = _key(user, customer, allowed)
    html = cache.get(key)
    if html is None:
        html = render_to_string(
            TEMPLATE,
            {
                "user": user,
                "customer": customer,
                "allowed": allowed,
                # the switcher's entries (the first 50; staff use the customers page), read
                # only when the bar is rendered: not built into every template's context
                "switcher_customers": customers_for_user(user=user).only("slug", "name")[:50],
            },
        )
        cache.set(key, html, SECONDS)
    return mark_safe(html)  # our own template's output, escaped when it was rendered


def _next_generation() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet (or evicted)
        cache.set(GENERATION_KEY, 1, None)


@receiver([post_save, post_delete], sender=Customer, dispatch_uid="navigation-customer")
@receiver([post_save, post_delete], sender=Membership, dispatch_uid="navigation-membership")
def new_generation(**kwargs) -> None:
    """A customer or a membership changed: every cached bar is read anew once the change is
    committed (a bar rendered before the commit would otherwise be kept as the new one)."""
    transaction.on_commit(_next_generation)
