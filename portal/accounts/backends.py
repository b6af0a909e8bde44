"""Customer permissions (PRODUCT §2): guardian object permissions on the ``Customer``, asked once
per request.

A page asks many questions about one customer — the view's permission, the navigation's links
(``{% can %}``), the home page's list of abilities — and guardian's backend answers each with
two queries of its own (the user's and their groups' permissions). ``CustomerPermissionBackend``
answers them all from ONE query per (user, customer) and request: the codenames are kept in a
per-request cache (``request_cache()``, opened by ``PermissionCacheMiddleware``) that nothing
outlives — outside a request every question goes to the database, as before — and that forgets
everything the moment a permission or group membership changes (the membership service, the
admin, signals), so a change is seen by the very next question even within its own request.
Staff hold every customer permission on every customer without a query.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef
from django.db.models.signals import m2m_changed, post_delete, post_save
from guardian.backends import ObjectPermissionBackend

from portal.accounts.models import (
    Customer,
    CustomerGroupObjectPermission,
    CustomerUserObjectPermission,
)
from portal.accounts.roles import PERMISSIONS

CUSTOMER_PERMISSIONS = frozenset(f"accounts.{codename}" for codename, _, _ in PERMISSIONS)

# (user id, customer id) → the codenames the user holds on the customer; None outside a request
_cache: ContextVar[dict[tuple[int, int], frozenset[str]] | None] = ContextVar(
    "payerwatch_customer_permissions", default=None
)


@contextmanager
def request_cache():
    """Remember customer permissions until the block ends (one request)."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def forget() -> None:
    """Drop what the current request remembers (a permission changed)."""
    cache = _cache.get()
    if cache is not None:
        cache.clear()


def _forget_on_change(sender, **kwargs) -> None:
    forget()


for _model in (CustomerUserObjectPermission, CustomerGroupObjectPermission):
    post_save.connect(_forget_on_change, sender=_model, dispatch_uid=f"forget-{_model.__name__}")
    post_delete.connect(_forget_on_change, sender=_model, dispatch_uid=f"forget-{_model.__name__}")
m2m_changed.connect(
    _forget_on_change, sender=Group.user_set.through, dispatch_uid="forget-group-members"
)


def codename_columns(user_id, customer_id) -> dict[str, ArraySubquery]:
    """Annotations that read, inside another statement, what ``customer_codenames`` reads: the
    user's direct and group permission codenames on the customer (ids or ``OuterRef``s). The
    statement that finds the customer (a page) or the token (the API) then answers the
    request's permission questions too: ``remember_codenames`` with what it read."""
    ctype = ContentType.objects.get_for_model(Customer)  # cached by Django
    direct = CustomerUserObjectPermission.objects.filter(
        user_id=user_id, content_object_id=customer_id, permission__content_type_id=ctype.pk
    ).values("permission__codename")
    via_groups = CustomerGroupObjectPermission.objects.filter(
        group__user=user_id, content_object_id=customer_id, permission__content_type_id=ctype.pk
    ).values("permission__codename")
    return {"perms_direct": ArraySubquery(direct), "perms_via_groups": ArraySubquery(via_groups)}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def customer_entry_sql(*, staff: bool) -> str:
    """One statement for a page's way in (``selectors.customer_for_user``): the customer by
    slug if the user may enter it (a member, or staff), the user's role there and — not for
    staff, who hold every permission — their permission codenames on it, direct and through
    groups (``codename_columns``, spelled out: this runs on every page, and the ORM spent longer
    composing the statement than PostgreSQL answering it). Parameters: ``user``, ``slug``,
    ``ctype``."""
    from portal.accounts.models import Membership

    permissions = _permissions_sql("%(user)s", "c.id") + ","
    member = f"""EXISTS (SELECT 1 FROM {_table(Membership)} m
                         WHERE m.customer_id = c.id AND m.user_id = %(user)s)"""
    return f"""
        SELECT c.*,{"" if staff else permissions}
            (SELECT m.role FROM {_table(Membership)} m
              WHERE m.customer_id = c.id AND m.user_id = %(user)s LIMIT 1) AS user_role
          FROM {_table(Customer)} c
         WHERE c.slug = %(slug)s{"" if staff else f" AND {member}"}
    """


def _permissions_sql(user: str, customer: str) -> str:
    """The two codename arrays of ``codename_columns`` as SQL, for the user and customer ids
    the expressions ``user`` and ``customer`` name (``%(ctype)s``: the customer content type)."""
    from portal.accounts.models import User

    return f"""
            ARRAY(SELECT p.codename FROM {_table(CustomerUserObjectPermission)} up
                    JOIN {_table(Permission)} p ON p.id = up.permission_id
                   WHERE up.user_id = {user} AND up.content_object_id = {customer}
                     AND p.content_type_id = %(ctype)s) AS perms_direct,
            ARRAY(SELECT p.codename FROM {_table(CustomerGroupObjectPermission)} gp
                    JOIN {_table(Permission)} p ON p.id = gp.permission_id
                    JOIN {_table(User.groups.through)} ug ON ug.group_id = gp.group_id
                   WHERE ug.user_id = {user} AND gp.content_object_id = {customer}
                     AND p.content_type_id = %(ctype)s) AS perms_via_groups"""


@functools.cache
def token_entry_sql() -> str:
    """One statement for an API call's way in: the token by its hash with its user and
    customer, whether the user is still a member there, and their permission codenames on it
    (spelled out like ``customer_entry_sql``: the ORM spent longer composing it than PostgreSQL
    answering). Parameters: ``hash``, ``ctype``. The row holds the token's, the user's and
    the customer's columns in the order of their models' fields, then the rest."""
    from portal.accounts.models import ApiToken, Membership, User

    select = ", ".join(
        f"{alias}.{connection.ops.quote_name(field.column)}"
        for alias, model in (("t", ApiToken), ("u", User), ("c", Customer))
        for field in model._meta.concrete_fields
    )
    sql = f"""
        SELECT {select},
            EXISTS (SELECT 1 FROM {_table(Membership)} m
                     WHERE m.customer_id = t.customer_id AND m.user_id = t.user_id) AS is_member,
            {_permissions_sql("t.user_id", "t.customer_id")}
          FROM {_table(ApiToken)} t
          JOIN {_table(User)} u ON u.id = t.user_id
          JOIN {_table(Customer)} c ON c.id = t.customer_id
         WHERE t.key_hash = %(hash)s
    """
    return sql


def token_entry(key_hash: str):
    """``token_entry_sql``: the ``ApiToken`` with its ``user`` and ``customer`` and
    ``is_member``, the user's permissions on the customer remembered for the request; or None."""
    from portal.accounts.models import ApiToken, User

    ctype = ContentType.objects.get_for_model(Customer)  # cached by Django
    with connection.cursor() as cursor:
        cursor.execute(token_entry_sql(), {"hash": key_hash, "ctype": ctype.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)

    def take(model):
        names = [field.attname for field in model._meta.concrete_fields]
        return model.from_db(connection.alias, names, [next(values) for _ in names])

    token = take(ApiToken)
    token.user = take(User)
    token.customer = take(Customer)
    token.is_member, token.perms_direct, token.perms_via_groups = values
    remember_codenames(token.user, token.customer, token)
    return token


def customer_entry(user, slug: str) -> Customer | None:
    """``customer_entry_sql``: the customer with ``user_role``, its permissions remembered for
    the request (staff need none), or None."""
    ctype = ContentType.objects.get_for_model(Customer)  # cached by Django
    params = {"user": user.pk, "slug": slug, "ctype": ctype.pk}
    rows = list(Customer.objects.raw(customer_entry_sql(staff=user.is_staff), params))
    if not rows:
        return None
    customer = rows[0]
    if not user.is_staff:
        remember_codenames(user, customer, customer)
    return customer


def remember_codenames(user, customer: Customer, row) -> frozenset[str]:
    """The codenames ``row`` read with ``codename_columns``, kept for this request."""
    codenames = frozenset(row.perms_direct or []) | frozenset(row.perms_via_groups or [])
    cache = _cache.get()
    if cache is not None:
        cache[(user.pk, customer.pk)] = codenames
    return codenames


def customer_codenames(user, customer: Customer) -> frozenset[str]:
    """The permission codenames ``user`` holds on ``customer``, directly or through a group
    (what guardian's ``ObjectPermissionChecker.get_perms`` answers, in one statement)."""
    cache = _cache.get()
    if cache is not None and (user.pk, customer.pk) in cache:
        return cache[(user.pk, customer.pk)]
    row = (
        Customer.objects.annotate(**codename_columns(user.pk, OuterRef("pk")))
        .only("pk")
        .get(pk=customer.pk)
    )
    return remember_codenames(user, customer, row)


class CustomerPermissionBackend(ObjectPermissionBackend):
    """guardian's object-permission backend, with ``Customer`` questions answered from
    ``customer_codenames`` (one query per request) and a staff fast path. Other objects, and
    permissions of another app (guardian's ``WrongAppError``), go to guardian unchanged.

    Nobody relies on model-wide permissions for tenant data: only object permissions count.
    """

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if not isinstance(obj, Customer) or not perm.startswith("accounts."):
            return super().has_perm(user_obj, perm, obj)
        if not user_obj.is_authenticated or not user_obj.is_active:
            return False
        if user_obj.is_staff and perm in CUSTOMER_PERMISSIONS:
            return True  # staff hold every customer permission on every customer
        if user_obj.is_superuser:
            return super().has_perm(user_obj, perm, obj)  # guardian: every permission
        return perm.removeprefix("accounts.") in customer_codenames(user_obj, obj)


class PermissionCacheMiddleware:
    """Opens the per-request customer-permission cache (``request_cache``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_cache():
            return self.get_response(request)
