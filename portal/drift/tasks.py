"""django-q2 tasks of the drift app."""

from portal.accounts.models import Customer
from portal.drift import services


def detect(customer_id: int, trigger: str = "schedule") -> str:
    """Run detection for one customer now (after an upload, or on its weekly schedule)."""
    run = services.detect_now(customer=Customer.objects.get(pk=customer_id), trigger=trigger)
    return run.status


def execute_run(run_id: int) -> str:
    """Execute a run queued by ``services.run_request``."""
    from portal.drift.models import DriftRun

    return services.run_execute(DriftRun.objects.select_related("customer").get(pk=run_id)).status


def detect_all(trigger: str = "schedule") -> int:
    """The weekly schedule: queue one run per customer (each runs as its own task, so one
    customer's failure or slowness never holds up another's). Returns how many were queued."""
    from django_q.tasks import async_task

    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    for customer_id in ids:
        async_task("portal.drift.tasks.detect", customer_id, trigger)
    return len(ids)


def recover() -> list[int]:
    """Every few minutes: runs orphaned by a dead worker are marked failed."""
    return services.runs_recover()
