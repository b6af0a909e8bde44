"""Every 5 minutes: mark drift runs orphaned by a dead worker as failed (``runs_recover``)."""

from datetime import UTC, datetime

from django.db import migrations

NAME = "drift-recover"


def create(apps, schema_editor):
    ensure_recovery_schedule(apps.get_model("django_q", "Schedule"))


def ensure_recovery_schedule(Schedule) -> None:  # noqa: N803 (a model class, historical or not)
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "portal.drift.tasks.recover",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
            "next_run": datetime.now(UTC),
        },
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("drift", "0002_weekly_schedule")]

    operations = [migrations.RunPython(create, delete)]
