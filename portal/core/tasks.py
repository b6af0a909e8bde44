"""The task queue (django-q2), configured once in settings.Q_CLUSTER.

Tasks are handed to the queue only after the surrounding transaction commits: a worker must never
pick up a task whose rows do not exist yet, or whose transaction was rolled back.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django_q.tasks import async_task


def enqueue(func: str, *args: Any, **kwargs: Any) -> None:
    """Queue ``func`` (a dotted path) once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: async_task(func, *args, **kwargs))


def enqueue_once(func: str, *args: Any) -> None:
    """Like ``enqueue``, but at most once per (func, args) per transaction: a CSV import of 500
    payer aliases re-normalises the claims once, not 500 times."""
    connection = transaction.get_connection()
    key = (func, args)
    if connection.in_atomic_block and any(
        getattr(callback, "payerwatch_key", None) == key
        and not getattr(callback, "payerwatch_sent", False)
        for _, callback, _ in connection.run_on_commit
    ):
        return

    def send() -> None:
        send.payerwatch_sent = True  # type: ignore[attr-defined]
        async_task(func, *args)

    send.payerwatch_key = key  # type: ignore[attr-defined]
    transaction.on_commit(send)


def ping(value: str) -> dict[str, Any]:
    """A task that proves a worker is alive and reaches the database (used by health checks)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    return {"pong": value, "database": database}
