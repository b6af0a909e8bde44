"""``record()``: the one way an audit row is written. Every state-changing service calls it
inside its own transaction, so the audit row and the change commit (or roll back) together."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from portal.audit import context
from portal.audit.actions import Action, Outcome
from portal.audit.models import AuditEvent

MAX_DATA_BYTES = 2048


def record(
    *,
    action: str,
    actor=None,
    customer=None,
    obj: models.Model | None = None,
    outcome: str = Outcome.SUCCESS,
    data: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditEvent:
    """Append one audit event; request metadata (ip, user agent, request id) comes from the
    request being served, if any."""
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}: add it to portal/audit/actions.py.")
    data = data or {}
    if len(json.dumps(data, default=str)) > MAX_DATA_BYTES:
        raise ValueError("Audit data is limited to small summaries (2 KB).")
    meta = context.current()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        action=action,
        outcome=outcome,
        actor=actor if authenticated else None,
        actor_email=(actor.email if authenticated else actor_email)[:254],
        customer=customer,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip=meta.ip,
        user_agent=meta.user_agent[:300],
        request_id=meta.request_id,
        data=json.loads(json.dumps(data, default=str)),
    )
