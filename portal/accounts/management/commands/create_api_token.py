from django.core.management.base import BaseCommand, CommandError

from portal.accounts import services
from portal.accounts.models import Customer, User
from portal.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Create an API token for a member of a customer; the token is printed on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, metavar="SLUG")
        parser.add_argument("--user", required=True, metavar="EMAIL")
        parser.add_argument("--scope", choices=["read", "write"], default="read")
        parser.add_argument("--name", default="Command-line token")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, customer, user, scope, name, expires_days, **options):
        try:
            target = Customer.objects.get(slug=customer)
        except Customer.DoesNotExist:
            raise CommandError(f"No customer with slug {customer!r}.") from None
        try:
            member = User.objects.get(email__iexact=user)
        except User.DoesNotExist:
            raise CommandError(f"No user with e-mail {user!r}.") from None
        try:
            token, plain = services.api_token_create(
                customer=target,
                user=member,
                name=name,
                scope=scope,
                expires_in_days=expires_days,
                actor=None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Created {scope} token {token.prefix}… for {member.email} at {target.slug}."
        )
        self.stdout.write(plain)
