"""factory_boy factories. Memberships are made through the membership service so guardian
permissions are always in step, exactly as in production."""

import factory

from portal.accounts import services
from portal.accounts.models import Customer, User
from portal.accounts.roles import Role

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"customer-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


def member(customer: Customer, role: str = Role.VIEWER, **user_fields) -> User:
    """A user with ``role`` at ``customer`` (created through the membership service)."""
    user = UserFactory(**user_fields)
    services.membership_add(customer=customer, email=user.email, role=role, actor=None)
    return user
