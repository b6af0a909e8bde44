"""Demo data for ``manage.py demo``: two customers and one login per role.

Idempotent: running it again keeps the data and gives every demo login a fresh password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from portal.accounts import services
from portal.accounts.models import Customer, Membership, User
from portal.accounts.roles import Role

DEMO_CUSTOMERS = [("acme", "Acme Health"), ("globex", "Globex Clinics")]
DEMO_MEMBERS = [
    ("owner@acme.test", "Olivia Owner", "acme", Role.OWNER),
    ("admin@acme.test", "Adam Admin", "acme", Role.ADMIN),
    ("analyst@acme.test", "Ana Analyst", "acme", Role.ANALYST),
    ("viewer@acme.test", "Victor Viewer", "acme", Role.VIEWER),
    ("owner@globex.test", "Gloria Owner", "globex", Role.OWNER),
    # a user in two customers, to show the customer switcher
    ("admin@acme.test", "Adam Admin", "globex", Role.VIEWER),
]
STAFF_EMAIL = "staff@payerwatch.test"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    roles: str


DEMO_TOKEN_NAME = "Demo token"


def api_token() -> str:
    """A fresh read token for Acme's admin; the previous demo token is revoked."""
    from portal.accounts.models import ApiToken

    admin = User.objects.get(email="admin@acme.test")
    acme = Customer.objects.get(slug="acme")
    for old in ApiToken.objects.filter(customer=acme, name=DEMO_TOKEN_NAME, revoked_at=None):
        services.api_token_revoke(token=old, actor=None)
    _, plain = services.api_token_create(
        customer=acme, user=admin, name=DEMO_TOKEN_NAME, scope="read", actor=None
    )
    return plain


@transaction.atomic
def seed(*, password: str | None = None) -> list[DemoLogin]:
    customers = {}
    for slug, name in DEMO_CUSTOMERS:
        customers[slug], _ = Customer.objects.get_or_create(slug=slug, defaults={"name": name})
    roles: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for email, full_name, slug, role in DEMO_MEMBERS:
        customer = customers[slug]
        user, _ = services.user_get_or_create(email=email, full_name=full_name)
        names[email] = full_name
        membership = Membership.objects.filter(customer=customer, user=user).first()
        if membership is None:
            services.membership_add(customer=customer, email=email, role=role, actor=None)
        elif membership.role != role:
            services.membership_change_role(membership=membership, role=role, actor=None)
        roles.setdefault(email, []).append(f"{role} at {customer.name}")
    staff, _ = services.user_get_or_create(email=STAFF_EMAIL, full_name="Sam Staff")
    User.objects.filter(pk=staff.pk).update(is_staff=True, is_superuser=True)
    roles[STAFF_EMAIL] = ["staff (every customer, back office)"]

    logins = []
    for email, described in roles.items():
        user = User.objects.get(email=email)
        secret = password or secrets.token_urlsafe(9)
        user.set_password(secret)
        user.save(update_fields=["password"])
        logins.append(DemoLogin(email=email, password=secret, roles="; ".join(described)))
    return logins
