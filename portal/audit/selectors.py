from __future__ import annotations

from django.db.models import Q, QuerySet

from portal.accounts.models import Customer, Membership
from portal.audit.models import AuditEvent


def audit_events_for_customer(*, customer: Customer) -> QuerySet[AuditEvent]:
    """The customer's own events, plus the sign-in events of its current members (logins are
    not tied to one customer, and an admin wants to see who signed in)."""
    members = Membership.objects.filter(customer=customer).values("user_id")
    return AuditEvent.objects.filter(
        Q(customer=customer)
        | Q(customer__isnull=True, action__startswith="auth.", actor_id__in=members)
    ).select_related("customer")


def audit_events_all() -> QuerySet[AuditEvent]:
    """Every event (staff only)."""
    return AuditEvent.objects.select_related("customer")
