from django.core.management.base import BaseCommand, CommandError

from portal.accounts import services
from portal.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Create a customer and its owner (the owner user is created if needed)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner", required=True, metavar="EMAIL")
        parser.add_argument("--password", help="Password for a newly created owner.")

    def handle(self, *args, slug, name, owner, password, **options):
        try:
            customer = services.customer_create(
                slug=slug, name=name, owner_email=owner, owner_password=password
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created customer {customer.slug} ({customer.name}), owner {owner}."
            )
        )
