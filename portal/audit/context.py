"""Request metadata for audit rows and log lines: set by the request-id middleware for the
duration of one request (a context variable, so threads and async tasks each see their own).

This carries *who and from where*, never *which customer*: tenant scoping is always explicit.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


_NONE = RequestMeta()
_current: contextvars.ContextVar[RequestMeta | None] = contextvars.ContextVar(
    "payerwatch_request_meta", default=None
)


def current() -> RequestMeta:
    return _current.get() or _NONE


def bind(meta: RequestMeta) -> contextvars.Token:
    return _current.set(meta)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)
