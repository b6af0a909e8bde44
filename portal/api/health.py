from __future__ import annotations

from django.db import connection
from django_q.brokers import get_broker
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        "database": serializers.BooleanField(),
        "task_queue": serializers.BooleanField(),
        "queued_tasks": serializers.IntegerField(allow_null=True),
    },
)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _queue_size() -> int | None:
    """Tasks waiting in the broker, or None if the broker cannot be reached."""
    try:
        broker = get_broker()
        if not broker.ping():
            return None
        return int(broker.queue_size() or 0)
    except Exception:
        return None


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        summary="Health check",
        description="No authentication. Answers 200 when the database and the task queue's "
        "broker are reachable, 503 otherwise, with what failed.",
        responses={200: HealthSerializer, 503: HealthSerializer},
        examples=[
            OpenApiExample(
                "Healthy",
                value={"status": "ok", "database": True, "task_queue": True, "queued_tasks": 0},
                response_only=True,
            )
        ],
        tags=["health"],
    )
    def get(self, request):
        database = _database_ok()
        queued = _queue_size() if database else None
        healthy = database and queued is not None
        body = {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "task_queue": queued is not None,
            "queued_tasks": queued,
        }
        return Response(body, status=200 if healthy else 503)
