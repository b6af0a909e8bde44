"""Request ids with structured request logs, and the idle and absolute session lifetimes."""

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
SESSION_SEEN_KEY = "payerwatch_seen_at"
# How often an active session is written back to renew its idle window. Every request did it
# before: one UPDATE of the session row per page and API call. Once a minute, a session expires
# between 29 and 30 idle minutes after its last request: never later than the 30 it promises.
SESSION_RENEW_SECONDS = 60


@receiver(user_logged_in, dispatch_uid="session_started_at")
def _remember_login_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(timezone.now().timestamp())
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_SEEN_KEY] = now


class SessionLifetimeMiddleware:
    """Sessions end after ``SESSION_COOKIE_AGE`` idle (30 minutes) and
    ``SESSION_ABSOLUTE_LIFETIME`` after login (12 hours), however active they were.

    The idle window is the session's own expiry (the database row's ``expire_date`` and the
    cookie's age), renewed by saving the session: here at most once every
    ``SESSION_RENEW_SECONDS`` (``SESSION_SAVE_EVERY_REQUEST`` is off), not on every request.
    The time of the last renewal is in the session too, and a request that arrives after the
    idle limit is logged out whatever the session store says.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = int(timezone.now().timestamp())
            started = session.get(SESSION_STARTED_KEY)
            seen = session.get(SESSION_SEEN_KEY)
            if started is None:  # a session from before this rule: its clock starts now
                session[SESSION_STARTED_KEY] = now
            if (
                started is not None
                and now - started > settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()
            ) or (seen is not None and now - seen > settings.SESSION_COOKIE_AGE):
                logout(request)
            elif seen is None or now - seen >= SESSION_RENEW_SECONDS:
                session[SESSION_SEEN_KEY] = now  # modified: saved, its expiry renewed
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
