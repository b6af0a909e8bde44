"""Every migration of ours is reversible: each app goes to zero and back to the latest."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

pytestmark = pytest.mark.django_db(transaction=True)


def our_apps_with_migrations() -> list[str]:
    loader = MigrationLoader(connection)
    return [
        app.label
        for app in apps.get_app_configs()
        if app.name.startswith("portal.") and app.label in loader.migrated_apps
    ]


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_every_app_migrates_to_zero_and_back():
    labels = our_apps_with_migrations()
    assert "accounts" in labels
    before = tables()
    for label in labels:
        call_command("migrate", label, "zero", verbosity=0)
        remaining = {t for t in tables() if t.startswith(f"{label}_")}
        assert remaining == set(), f"{label} left tables behind: {remaining}"
        call_command("migrate", verbosity=0)
    assert tables() == before
