"""The database cache table (used when REDIS_URL is not set): created here so that every
database, the test databases included, has it without a separate createcachetable step."""

from django.db import migrations

TABLE = "payerwatch_cache"


def create(apps, schema_editor):
    from django.core.management import call_command

    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)


def drop(apps, schema_editor):
    schema_editor.execute(f'DROP TABLE IF EXISTS "{TABLE}"')


class Migration(migrations.Migration):
    dependencies: list = []

    operations = [migrations.RunPython(create, drop)]
