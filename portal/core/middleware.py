"""Request ids with structured request logs, and the absolute session lifetime."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from portal.audit import context

log = logging.getLogger("payerwatch.requests")
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    """Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one),
    echoed in the response, stored on audit events and error bodies, and logged as one JSON line:
    method, path, status, duration, user and customer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = context.bind(
            context.RequestMeta(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:300],
            )
        )
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            context.unbind(token)
        response[REQUEST_ID_HEADER] = request_id
        self._log(request, response, started)
        return response

    def _log(self, request, response, started: float) -> None:
        user = getattr(request, "user", None)
        customer = getattr(request, "payerwatch_customer", None)
        log.info(
            "request",
            extra={
                "request_id": request.request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user.pk if user is not None and user.is_authenticated else None,
                "customer": customer.slug if customer is not None else None,
            },
        )


SESSION_STARTED_KEY = "payerwatch_auth_at"


@receiver(user_logged_in, dispatch_uid="session_started_at")
def _remember_login_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(timezone.now().timestamp())


class SessionLifetimeMiddleware:
    """Ends a session ``SESSION_ABSOLUTE_LIFETIME`` after login, however active it was (the
    30-minute idle timeout is the session cookie's own age, renewed by every request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SESSION_STARTED_KEY)
            now = int(timezone.now().timestamp())
            if started is None:  # a session from before this rule: its clock starts now
                request.session[SESSION_STARTED_KEY] = now
            elif now - started > settings.SESSION_ABSOLUTE_LIFETIME.total_seconds():
                logout(request)
        return self.get_response(request)


QUERY_COUNT_HEADER = "X-Query-Count"


class QueryCountMiddleware:
    """Benchmarks only (``PAYERWATCH_QUERY_COUNT_HEADER=true``, never in production): the number
    of SQL statements a request ran, in the ``X-Query-Count`` response header. Outermost, so the
    session, authentication and audit queries count too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import connection

        executed = 0

        def count(execute, sql, params, many, context):
            nonlocal executed
            executed += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response[QUERY_COUNT_HEADER] = str(executed)
        return response
