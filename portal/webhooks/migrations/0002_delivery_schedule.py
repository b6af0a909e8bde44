"""The webhook delivery sweep (PRODUCT §6): every minute, retries and anything a task missed."""

from datetime import UTC, datetime

from django.db import migrations

NAME = "webhooks-deliver"


def create(apps, schema_editor):
    ensure_delivery_schedule(apps.get_model("django_q", "Schedule"))


def ensure_delivery_schedule(Schedule) -> None:  # noqa: N803 (a model class, historical or not)
    """Create (or repair) the sweep; also used after a database flush (tests) and by the demo."""
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "portal.webhooks.tasks.deliver_due",
            "schedule_type": "I",  # MINUTES
            "minutes": 1,
            "repeats": -1,
            "next_run": datetime.now(UTC),
        },
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_endpoints_messages_attempts"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, delete)]
