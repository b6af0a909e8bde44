"""Writes of customers, users and memberships.

``_sync_role_permissions`` is the one place that keeps guardian's object permissions on a customer
in step with a membership's role; every change of membership goes through this module.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.accounts import backends
from portal.accounts.models import (
    ApiToken,
    Customer,
    CustomerUserObjectPermission,
    Membership,
    TokenScope,
    User,
)
from portal.accounts.roles import PERMISSIONS, Role, permissions_for
from portal.audit.actions import Action
from portal.audit.services import record
from portal.core.exceptions import Conflict, DomainError, NotAllowed

ROLE_CODENAMES = [codename for codename, _, _ in PERMISSIONS]


def _sync_role_permissions(*, customer: Customer, user: User, role: str | None) -> None:
    """Make the user's guardian permissions on the customer exactly those of ``role``."""
    wanted = permissions_for(role)
    current = CustomerUserObjectPermission.objects.filter(
        content_object=customer, user=user, permission__codename__in=ROLE_CODENAMES
    )
    current.exclude(permission__codename__in=wanted).delete()
    have = set(current.values_list("permission__codename", flat=True))
    missing = Permission.objects.filter(
        content_type__app_label="accounts",
        content_type__model="customer",
        codename__in=wanted - have,
    )
    CustomerUserObjectPermission.objects.bulk_create(
        [
            CustomerUserObjectPermission(content_object=customer, user=user, permission=p)
            for p in missing
        ]
    )
    backends.forget()  # bulk_create sends no signal: the request's cached answers are stale


def _may_assign(*, actor: User | None, customer: Customer, roles: set[str]) -> None:
    """Admins manage members below owner; touching an owner needs ``manage_owners``."""
    if actor is None:  # the system itself (commands, demo)
        return
    needed = "accounts.manage_owners" if Role.OWNER in roles else "accounts.manage_members"
    if not actor.has_perm(needed, customer):
        if needed == "accounts.manage_owners":
            raise NotAllowed("Only an owner can add, change or remove owners.")
        raise NotAllowed("You may not manage the members of this customer.")


def _lock_customer(customer: Customer) -> None:
    """Serialise membership changes of one customer (the last-owner rule reads then writes)."""
    Customer.objects.select_for_update().filter(pk=customer.pk).first()


def _owner_count(customer: Customer) -> int:
    return Membership.objects.filter(customer=customer, role=Role.OWNER).count()


def user_get_or_create(
    *, email: str, password: str | None = None, full_name: str = ""
) -> tuple[User, bool]:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(
            f"{email or 'An empty value'} is not a valid e-mail address.", field="email"
        ) from exc
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email=email, password=password, full_name=full_name), True


@transaction.atomic
def customer_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    actor: User | None = None,
) -> Customer:
    """Create a customer and make ``owner_email`` its owner (creating that user if needed)."""
    if actor is not None and not actor.is_staff:
        raise NotAllowed("Only staff can create customers.")
    customer = Customer(slug=(slug or "").strip().lower(), name=(name or "").strip())
    try:
        customer.full_clean(validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(f"{field}: {' '.join(messages)}", field=field) from exc
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise Conflict(
            f"A customer with slug {customer.slug!r} already exists.", field="slug"
        ) from exc
    user, created = user_get_or_create(email=owner_email, password=owner_password)
    record(
        action=Action.CUSTOMER_CREATED,
        actor=actor,
        customer=customer,
        obj=customer,
        data={"slug": customer.slug, "owner": user.email},
    )
    _membership_create(
        customer=customer,
        user=user,
        role=Role.OWNER,
        invite=created and not owner_password,
        actor=actor,
    )
    return customer


def _membership_create(
    *, customer: Customer, user: User, role: str, invite: bool, actor: User | None
) -> Membership:
    membership = Membership.objects.create(customer=customer, user=user, role=role)
    _sync_role_permissions(customer=customer, user=user, role=role)
    record(
        action=Action.MEMBER_ADDED,
        actor=actor,
        customer=customer,
        obj=membership,
        data={"member": user.email, "role": role},
    )
    if invite:
        transaction.on_commit(lambda: send_invitation(user=user, customer=customer))
    return membership


@transaction.atomic
def membership_add(*, customer: Customer, email: str, role: str, actor: User | None) -> Membership:
    """Add a user (by e-mail; a new user gets an invitation to set a password) with a role."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    _may_assign(actor=actor, customer=customer, roles={role})
    _lock_customer(customer)
    user, created = user_get_or_create(email=email)
    if Membership.objects.filter(customer=customer, user=user).exists():
        raise Conflict(f"{user.email} is already a member of {customer.name}.", field="email")
    return _membership_create(customer=customer, user=user, role=role, invite=created, actor=actor)


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: User | None) -> Membership:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    _may_assign(actor=actor, customer=membership.customer, roles={role, membership.role})
    _lock_customer(membership.customer)
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and _owner_count(membership.customer) == 1:
        raise Conflict("The last owner cannot be demoted; make someone else owner first.")
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    _sync_role_permissions(customer=membership.customer, user=membership.user, role=role)
    record(
        action=Action.MEMBER_ROLE_CHANGED,
        actor=actor,
        customer=membership.customer,
        obj=membership,
        data={"member": membership.user.email, "from": previous, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None) -> None:
    _may_assign(actor=actor, customer=membership.customer, roles={membership.role})
    _lock_customer(membership.customer)
    membership.refresh_from_db()
    if membership.role == Role.OWNER and _owner_count(membership.customer) == 1:
        raise Conflict("The last owner cannot be removed; make someone else owner first.")
    record(
        action=Action.MEMBER_REMOVED,
        actor=actor,
        customer=membership.customer,
        obj=membership,
        data={"member": membership.user.email, "role": membership.role},
    )
    membership.delete()
    _sync_role_permissions(customer=membership.customer, user=membership.user, role=None)


def send_invitation(*, user: User, customer: Customer) -> None:
    """E-mail a new member a link to choose their password (the password-reset flow)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {"user": user, "customer": customer, "link": f"{settings.SITE_URL}{path}"}
    send_mail(
        subject=f"You have been added to {customer.name} on Payerwatch",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


# -- API tokens ----------------------------------------------------------------------------------

TOKEN_PREFIX = "pw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *,
    customer: Customer,
    user: User,
    name: str,
    scope: str = TokenScope.READ,
    expires_in_days: int | None = None,
    actor: User | None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user`` at ``customer``; returns it with the plain token (shown once)."""
    if actor is not None and not actor.has_perm("accounts.manage_api_tokens", customer):
        raise NotAllowed("You may not manage the API tokens of this customer.")
    if scope not in TokenScope.values:
        raise DomainError(f"Unknown scope {scope!r}; use read or write.", field="scope")
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name, e.g. the integration that uses it.", field="name")
    if not Membership.objects.filter(customer=customer, user=user).exists() and not user.is_staff:
        raise DomainError(f"{user.email} is not a member of {customer.name}.", field="user")
    if expires_in_days is not None and expires_in_days < 1:
        raise DomainError("A token must live at least one day.", field="expires_in_days")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        customer=customer,
        user=user,
        name=name[:100],
        prefix=plain[:11],
        key_hash=hash_token(plain),
        scope=scope,
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    record(
        action=Action.TOKEN_CREATED,
        actor=actor or user,
        customer=customer,
        obj=token,
        data={"name": token.name, "prefix": token.prefix, "scope": scope},
    )
    return token, plain


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    if actor is not None and not actor.has_perm("accounts.manage_api_tokens", token.customer):
        raise NotAllowed("You may not manage the API tokens of this customer.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record(
            action=Action.TOKEN_REVOKED,
            actor=actor,
            customer=token.customer,
            obj=token,
            data={"name": token.name, "prefix": token.prefix},
        )
    return token


def api_token_authenticate(*, plain: str) -> ApiToken | None:
    """The active token for ``plain`` (marking its use), or None."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    # one statement: the token, its user and customer, whether the user is still a member and
    # their permissions there (the request's permission questions need no query of their own)
    token = backends.token_entry(hash_token(plain))
    if token is None or not token.is_active or not token.user.is_active:
        return None
    if not token.user.is_staff and not token.is_member:
        return None  # its user left the customer: the token died with the membership
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(seconds=60):
        # to the minute is precise enough, and spares a write per request
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    record(
        action=Action.TOKEN_USED,
        actor=token.user,
        customer=token.customer,
        obj=token,
        data={"prefix": token.prefix},
    )
    return token
