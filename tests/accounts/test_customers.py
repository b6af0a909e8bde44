import pytest
from django.core.management import CommandError, call_command

from portal.accounts import services
from portal.accounts.models import Customer, Membership, User
from portal.accounts.roles import Role
from portal.core.exceptions import Conflict, DomainError, NotAllowed

pytestmark = pytest.mark.django_db


def test_create_customer_makes_the_owner(staff):
    customer = services.customer_create(
        slug="initech", name="Initech", owner_email="Peter@Initech.test", actor=staff
    )
    owner = User.objects.get(email="peter@initech.test")
    assert Membership.objects.get(customer=customer, user=owner).role == Role.OWNER
    assert owner.has_perm("accounts.manage_owners", customer)
    assert not owner.has_usable_password()


def test_only_staff_create_customers(alice):
    with pytest.raises(NotAllowed):
        services.customer_create(slug="x", name="X", owner_email="x@x.test", actor=alice)


def test_duplicate_slug_is_a_clear_conflict(acme, staff):
    with pytest.raises(Conflict, match="already exists"):
        services.customer_create(slug="acme", name="Other", owner_email="o@o.test", actor=staff)
    assert Customer.objects.filter(slug="acme").count() == 1


@pytest.mark.parametrize("slug", ["", "-bad", "UPPER but spaced", "x" * 51])
def test_invalid_slug_is_rejected_and_nothing_is_written(staff, slug):
    with pytest.raises(DomainError):
        services.customer_create(slug=slug, name="X", owner_email="o@o.test", actor=staff)
    assert not Customer.objects.exists()
    assert not User.objects.filter(email="o@o.test").exists()


def test_create_customer_command_with_password(capsys):
    call_command(
        "create_customer",
        "--slug",
        "umbrella",
        "--name",
        "Umbrella",
        "--owner",
        "ada@umbrella.test",
        "--password",
        "s3cret-Passw0rd",
    )
    owner = User.objects.get(email="ada@umbrella.test")
    assert owner.check_password("s3cret-Passw0rd")
    assert "Created customer umbrella" in capsys.readouterr().out


def test_create_customer_command_reuses_an_existing_user(alice):
    call_command("create_customer", "--slug", "second", "--name", "Second", "--owner", alice.email)
    assert set(alice.memberships.values_list("customer__slug", "role")) == {
        ("acme", "owner"),
        ("second", "owner"),
    }


def test_create_customer_command_reports_errors(acme):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_customer", "--slug", "acme", "--name", "A", "--owner", "a@a.test")
