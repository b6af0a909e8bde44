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
_ACTIONS = frozenset(Action.values)  # built once: ``Action.values`` lists the members per call


def _small(data: dict[str, Any]) -> dict[str, Any]:
    """Audit data is a small summary (≤ 2 KB as JSON). Values that come from users (filters,
    file names) are shortened to fit, and the event says so; it is never refused."""
    if len(json.dumps(data, default=str)) <= MAX_DATA_BYTES:
        return data
    for limit in (200, 60, 20):
        short = {
            key: (str(value)[:limit] if isinstance(value, str | list | dict) else value)
            for key, value in data.items()
        }
        short["truncated"] = True
        if len(json.dumps(short, default=str)) <= MAX_DATA_BYTES:
            return short
    return {"truncated": True, "keys": [str(key)[:40] for key in list(data)[:20]]}


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
    if action not in _ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}: add it to portal/audit/actions.py.")
    data = _small(data or {})
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
