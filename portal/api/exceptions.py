"""One error format for every response under /api/ (drf-standardized-errors).

Domain errors from services become API errors here (services never raise HTTP errors), and
every error body carries the request id, so a support ticket can point at the log line.
"""

from __future__ import annotations

from django.http import JsonResponse
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions

from portal.audit import context
from portal.core.exceptions import Conflict, DomainError, NotAllowed


class CustomerRequired(exceptions.ValidationError):
    """A session in several customers must say which one (a 400 validation error, attr null)."""

    def __init__(self, detail: str):
        super().__init__([exceptions.ErrorDetail(detail, code="customer_required")])


class PayerwatchExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, NotAllowed):
            return exceptions.PermissionDenied(exc.message)
        if isinstance(exc, DomainError):  # Conflict included: a 400 naming the field at fault
            code = "conflict" if isinstance(exc, Conflict) else "invalid"
            detail = exceptions.ErrorDetail(exc.message, code=code)
            return exceptions.ValidationError({exc.field: [detail]} if exc.field else [detail])
        return super().convert_known_exceptions(exc)


class PayerwatchExceptionFormatter(ExceptionFormatter):
    def format_error_response(self, error_response):
        data = super().format_error_response(error_response)
        data["request_id"] = context.current().request_id
        return data


def error_body(status_code: int, code: str, detail: str) -> dict:
    kind = "server_error" if status_code >= 500 else "client_error"
    return {
        "type": kind,
        "errors": [{"code": code, "detail": detail, "attr": None}],
        "request_id": context.current().request_id,
    }


def json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(status_code, code, detail), status=status_code)
