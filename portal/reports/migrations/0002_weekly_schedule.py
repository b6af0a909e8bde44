"""The weekly summary schedule (PRODUCT §7): a django-q2 schedule running every day at 06:00 UTC
(after the Monday drift runs at 03:00); each day it queues the summaries of the customers whose
configured weekday it is. The cluster runs with ``catch_up`` off: after downtime the missed days
are not replayed one by one — the next run queues whatever is still due, once."""

from datetime import UTC, datetime, timedelta

from django.db import migrations

NAME = "reports-weekly"


def create(apps, schema_editor):
    ensure_weekly_schedule(apps.get_model("django_q", "Schedule"))


def ensure_weekly_schedule(Schedule) -> None:  # noqa: N803 (a model class, historical or not)
    """Create (or repair) the daily schedule; also used by ``manage.py demo``."""
    now = datetime.now(UTC)
    next_run = now.replace(hour=6, minute=0, second=0, microsecond=0)
    if next_run <= now:
        next_run += timedelta(days=1)
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "portal.reports.tasks.weekly_all",
            "args": "",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_run,
        },
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, delete)]
