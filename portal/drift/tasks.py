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
