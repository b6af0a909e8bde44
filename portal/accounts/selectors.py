"""Reads of customers and memberships. Every read of tenant data takes the customer."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from portal.accounts.models import Customer, Membership, User
from portal.accounts.roles import RANK


def customers_for_user(*, user: User) -> QuerySet[Customer]:
    """The customers a user may enter: all of them for staff, their memberships otherwise."""
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    if user.is_staff:
        return Customer.objects.all()
    return Customer.objects.filter(membership__user=user)


def customer_for_user(*, user: User, slug: str) -> Customer:
    """One customer by slug, or ``Customer.DoesNotExist`` when the user may not enter it (a 404:
    another customer's existence is never confirmed). ``user_role`` is the user's role there
    (None for staff without a membership) and the user's permissions on it are read in the same
    statement."""
    from portal.accounts.backends import customer_entry

    customer = None
    if user.is_authenticated and user.is_active:  # as customers_for_user
        customer = customer_entry(user, slug)
    if customer is None:
        raise Customer.DoesNotExist("No such customer for this user.")
    return customer


def role_of(*, user: User, customer: Customer) -> str | None:
    return (
        Membership.objects.filter(customer=customer, user=user)
        .values_list("role", flat=True)
        .first()
    )


def _role_rank() -> Case:
    return Case(
        *[When(role=role, then=Value(rank)) for role, rank in RANK.items()],
        output_field=IntegerField(),
    )


def membership_list(*, customer: Customer) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(customer=customer)
        .select_related("user")
        .annotate(role_rank=_role_rank())
        .order_by("user__email")
    )


def membership_get(*, customer: Customer, pk: int) -> Membership:
    return Membership.objects.select_related("user", "customer").get(customer=customer, pk=pk)


def customer_list_with_counts() -> QuerySet[Customer]:
    """All customers with their member counts (staff only)."""
    return Customer.objects.annotate(
        member_count=Count("membership"),
        owner_count=Count("membership", filter=Q(membership__role="owner")),
    ).order_by("name")


def api_token_list(*, customer: Customer):
    from portal.accounts.models import ApiToken

    return ApiToken.objects.filter(customer=customer).select_related("user", "customer")
