import os

from django.conf import settings
from django.core.management.base import BaseCommand

from portal import embedded_db


class Command(BaseCommand):
    help = "Stop the embedded PostgreSQL server in .pgdata/ (whoever still uses it)."

    def handle(self, *args, **options):
        if os.environ.get("DATABASE_URL"):
            self.stdout.write("DATABASE_URL is set: there is no embedded server to stop.")
            return
        pgdata = embedded_db.pgdata_path(settings.BASE_DIR)
        if embedded_db.stop_server(pgdata):
            self.stdout.write(self.style.SUCCESS(f"Stopped the embedded PostgreSQL in {pgdata}."))
        else:
            self.stdout.write(f"No embedded PostgreSQL was running in {pgdata}.")
