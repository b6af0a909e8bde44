"""What other apps' events look like on the wire: thin payloads (ids, types, the customer's slug,
non-identifying summary numbers — never PHI, never claim ids). Each helper calls
``services.message_emit`` and must run inside the transaction of the event it reports."""

from __future__ import annotations

from collections.abc import Iterable

from portal.webhooks.models import EventType
from portal.webhooks.services import has_endpoints, message_emit


def drift_run_completed(*, run, events: Iterable[tuple[int, bool]]) -> None:
    """After a run wrote its events: ``drift_event.created`` / ``.updated`` per event (``events``
    holds (event id, inserted) from the upsert's RETURNING), then ``drift_run.completed``."""
    if not has_endpoints(customer_id=run.customer_id):
        return
    from portal.drift.models import DriftEvent

    events = list(events)
    rows = DriftEvent.objects.filter(
        customer_id=run.customer_id, pk__in=[pk for pk, _ in events]
    ).values("pk", "payer_id", "cpt_group", "drift_type", "direction", "severity", "label")
    by_id = {row["pk"]: row for row in rows}
    for pk, inserted in events:
        row = by_id.get(pk)
        if row is None:
            continue
        event_type = EventType.DRIFT_EVENT_CREATED if inserted else EventType.DRIFT_EVENT_UPDATED
        message_emit(
            customer=run.customer,
            event_type=event_type,
            event_key=f"{event_type}:{pk}" if inserted else f"{event_type}:{pk}:run:{run.pk}",
            data={
                "drift_event_id": pk,
                "drift_run_id": run.pk,
                "payer_id": row["payer_id"],
                "cpt_group": row["cpt_group"],
                "drift_type": row["drift_type"],
                "direction": row["direction"],
                "severity": round(row["severity"], 3),
                "label": row["label"],
            },
        )
    created = sum(1 for _, inserted in events if inserted)
    message_emit(
        customer=run.customer,
        event_type=EventType.DRIFT_RUN_COMPLETED,
        event_key=f"{EventType.DRIFT_RUN_COMPLETED}:{run.pk}",
        data={
            "drift_run_id": run.pk,
            "as_of": run.as_of.isoformat(),
            "status": "succeeded",
            "events_created": created,
            "events_updated": len(events) - created,
        },
    )


def upload_finished(*, upload) -> None:
    """``upload.completed`` (succeeded or partially) or ``upload.failed``, with its counts."""
    if not has_endpoints(customer_id=upload.customer_id):
        return
    failed = upload.status == "failed"
    event_type = EventType.UPLOAD_FAILED if failed else EventType.UPLOAD_COMPLETED
    message_emit(
        customer=upload.customer,
        event_type=event_type,
        event_key=f"{event_type}:{upload.pk}",
        data={
            "upload_id": upload.pk,
            "status": upload.status,
            "rows_total": upload.rows_total,
            "inserted": upload.inserted,
            "updated": upload.updated,
            "unchanged": upload.unchanged,
            "rejected": upload.rejected,
        },
    )
