"""The weekly drift schedule (PRODUCT §4): every Monday 03:00 UTC, one run per customer."""

from datetime import UTC, datetime, timedelta

from django.db import migrations

NAME = "drift-weekly"


def create(apps, schema_editor):
    ensure_weekly_schedule(apps.get_model("django_q", "Schedule"))


def ensure_weekly_schedule(Schedule) -> None:  # noqa: N803 (a model class, historical or not)
    """Create (or repair) the weekly schedule; also used by ``manage.py demo``."""
    now = datetime.now(UTC)
    monday = (now + timedelta(days=(7 - now.weekday()) % 7 or 7)).replace(
        hour=3, minute=0, second=0, microsecond=0
    )
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "portal.drift.tasks.detect_all",
            "args": "'schedule'",
            "schedule_type": "W",
            "repeats": -1,
            "next_run": monday,
        },
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("drift", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, delete)]
