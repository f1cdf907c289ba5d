"""Per-request context (request id, client address, user agent) carried in contextvars.

Services read it to fill audit entries without taking HTTP types.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    ip: str | None = None
    user_agent: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("agentdeck_request", default=None)


def set_request_context(ctx: RequestContext | None) -> object:
    return _current.set(ctx)


def reset_request_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def request_context() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx else None
