"""Roles are guardian object permissions on the customer, kept in step by the membership service."""

import pytest

from portal.accounts import services
from portal.accounts.models import CustomerUserObjectPermission, Membership
from portal.accounts.roles import PERMISSIONS, Role, permissions_for
from portal.core.exceptions import Conflict, NotAllowed
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

# PRODUCT §2, the table: (permission, lowest role that may)
EXPECTED = {
    "view_customer_data": Role.VIEWER,
    "upload_claims": Role.ANALYST,
    "edit_mappings": Role.ANALYST,
    "run_detection": Role.ANALYST,
    "generate_reports": Role.ANALYST,
    "give_feedback": Role.ANALYST,
    "manage_alert_rules": Role.ADMIN,
    "manage_webhooks": Role.ADMIN,
    "manage_api_tokens": Role.ADMIN,
    "manage_detection_settings": Role.ADMIN,
    "manage_members": Role.ADMIN,
    "view_audit_log": Role.ADMIN,
    "manage_owners": Role.OWNER,
}
ORDER = [Role.VIEWER, Role.ANALYST, Role.ADMIN, Role.OWNER]


def test_role_table_matches_the_product_contract():
    assert {codename for codename, _, _ in PERMISSIONS} == set(EXPECTED)
    for role in ORDER:
        allowed = {c for c, lowest in EXPECTED.items() if ORDER.index(lowest) <= ORDER.index(role)}
        assert permissions_for(role) == allowed


@pytest.mark.parametrize("role", ORDER)
def test_each_role_holds_exactly_its_permissions_on_its_customer(acme, globex, role):
    user = member(acme, role)
    for codename, lowest in EXPECTED.items():
        expected = ORDER.index(lowest) <= ORDER.index(role)
        assert user.has_perm(f"accounts.{codename}", acme) is expected, codename
        assert user.has_perm(f"accounts.{codename}", globex) is False, codename


def test_object_permissions_never_become_model_wide(acme):
    user = member(acme, Role.OWNER)
    assert not user.has_perm("accounts.view_customer_data")
    assert not user.has_perm("accounts.manage_members")


def test_staff_hold_every_customer_permission_on_every_customer(acme, globex, staff):
    for codename in EXPECTED:
        assert staff.has_perm(f"accounts.{codename}", acme)
        assert staff.has_perm(f"accounts.{codename}", globex)


def test_inactive_staff_hold_nothing(acme):
    ghost = UserFactory(is_staff=True, is_active=False)
    assert not ghost.has_perm("accounts.view_customer_data", acme)


def test_changing_a_role_replaces_the_permissions(acme, alice):
    user = member(acme, Role.ADMIN)
    membership = Membership.objects.get(customer=acme, user=user)
    services.membership_change_role(membership=membership, role=Role.VIEWER, actor=alice)
    user = type(user).objects.get(pk=user.pk)  # fresh permission cache
    assert user.has_perm("accounts.view_customer_data", acme)
    assert not user.has_perm("accounts.manage_members", acme)
    codenames = set(
        CustomerUserObjectPermission.objects.filter(user=user, content_object=acme).values_list(
            "permission__codename", flat=True
        )
    )
    assert codenames == permissions_for(Role.VIEWER)


def test_removing_a_member_removes_every_permission(acme, alice):
    user = member(acme, Role.ANALYST)
    membership = Membership.objects.get(customer=acme, user=user)
    services.membership_remove(membership=membership, actor=alice)
    assert not CustomerUserObjectPermission.objects.filter(user=user).exists()
    user = type(user).objects.get(pk=user.pk)
    assert not user.has_perm("accounts.view_customer_data", acme)


def test_last_owner_cannot_be_demoted(acme, alice):
    membership = Membership.objects.get(customer=acme, user=alice)
    with pytest.raises(Conflict, match="last owner"):
        services.membership_change_role(membership=membership, role=Role.ADMIN, actor=alice)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_last_owner_cannot_be_removed(acme, alice):
    membership = Membership.objects.get(customer=acme, user=alice)
    with pytest.raises(Conflict, match="last owner"):
        services.membership_remove(membership=membership, actor=alice)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_can_step_down_once_another_owner_exists(acme, alice):
    member(acme, Role.OWNER, email="second@acme.test")
    membership = Membership.objects.get(customer=acme, user=alice)
    services.membership_change_role(membership=membership, role=Role.ADMIN, actor=alice)
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN


def test_admin_cannot_promote_to_owner(acme, alice):
    admin = member(acme, Role.ADMIN)
    target = Membership.objects.get(user=member(acme, Role.VIEWER), customer=acme)
    with pytest.raises(NotAllowed, match="owner"):
        services.membership_change_role(membership=target, role=Role.OWNER, actor=admin)


def test_admin_cannot_remove_an_owner(acme, alice):
    admin = member(acme, Role.ADMIN)
    with pytest.raises(NotAllowed):
        services.membership_remove(
            membership=Membership.objects.get(customer=acme, user=alice), actor=admin
        )


def test_admin_manages_members_below_owner(acme, alice):
    admin = member(acme, Role.ADMIN)
    membership = services.membership_add(
        customer=acme, email="new@acme.test", role=Role.ANALYST, actor=admin
    )
    services.membership_change_role(membership=membership, role=Role.ADMIN, actor=admin)
    assert membership.user.has_perm("accounts.manage_members", acme)


def test_viewer_cannot_add_members(acme, bob):
    with pytest.raises(NotAllowed):
        services.membership_add(customer=acme, email="x@acme.test", role=Role.VIEWER, actor=bob)
    assert not Membership.objects.filter(user__email="x@acme.test").exists()


def test_charlie_cannot_add_members_to_acme(acme, charlie):
    with pytest.raises(NotAllowed):
        services.membership_add(customer=acme, email="x@acme.test", role=Role.VIEWER, actor=charlie)


def test_adding_an_existing_member_twice_is_a_conflict(acme, alice, bob):
    with pytest.raises(Conflict, match="already a member"):
        services.membership_add(customer=acme, email="BOB@acme.test", role=Role.ADMIN, actor=alice)


def test_new_member_is_invited_by_email(
    acme, alice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_add(customer=acme, email="New@Acme.test", role=Role.VIEWER, actor=alice)
    assert [m.to for m in mailoutbox] == [["new@acme.test"]]
    assert "/accounts/reset/" in mailoutbox[0].body
    assert "Acme Health" in mailoutbox[0].subject


def test_a_user_in_two_customers_holds_each_role_separately(acme, globex):
    user = member(acme, Role.ADMIN)
    services.membership_add(customer=globex, email=user.email, role=Role.VIEWER, actor=None)
    assert user.has_perm("accounts.manage_members", acme)
    user = type(user).objects.get(pk=user.pk)
    assert not user.has_perm("accounts.manage_members", globex)
    assert user.has_perm("accounts.view_customer_data", globex)
