"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from agentdeck import errors as domain
from agentdeck.context import current_request_id
from agentdeck.logstore.base import LogStoreError
from agentdeck.server.readiness import Readiness
from agentdeck.server.volume import Fault
from agentdeck.tsdb.base import StoreError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Path to the offending field, e.g. ['body', 'name'].")
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(
        description="URI reference naming the problem kind, e.g. /problems/not-found."
    )
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise from services or routers to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or kind)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(resource: str, identifier: object) -> ProblemError:
    return ProblemError(404, "not-found", f"{resource} {identifier} was not found")


def conflict(detail: str, *, kind: str = "conflict", field: str | None = None) -> ProblemError:
    errors = [FieldError(loc=["body", field], message=detail, type=kind)] if field else None
    return ProblemError(409, kind, detail, errors=errors)


def field_error(status: int, kind: str, field: list[str | int], message: str) -> ProblemError:
    return ProblemError(
        status, kind, message, errors=[FieldError(loc=field, message=message, type=kind)]
    )


def problem_response(
    request: Request | None,
    *,
    status: int,
    kind: str,
    title: str | None = None,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


_KIND_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "rate-limited",
}


# The one place a domain error becomes an HTTP status.
STATUS_BY_ERROR: dict[type[domain.DomainError], int] = {
    domain.Malformed: 400,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.PreconditionFailed: 412,
    domain.TooLarge: 413,
    domain.UnsupportedMediaType: 415,
    domain.Invalid: 422,
    domain.PreconditionRequired: 428,
    domain.QuotaExceeded: 429,
    domain.Unavailable: 503,
}


def status_for(exc: domain.DomainError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


def problem_from_domain(exc: domain.DomainError) -> ProblemError:
    """The problem document a domain error answers with."""
    headers = dict(exc.headers)
    status = status_for(exc)
    if exc.retry_after is not None:
        headers.setdefault("Retry-After", str(max(1, round(exc.retry_after))))
    elif status == 503:  # a refusal for now always says when to come back
        headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    return ProblemError(
        status,
        exc.kind,
        exc.detail,
        title=exc.title,
        errors=[FieldError(loc=list(e.loc), message=e.message, type=e.type) for e in exc.errors]
        if exc.errors
        else None,
        headers=headers,
        extra=exc.extra,
    )


#: ``Retry-After`` of a 503 that did not name its own.
RETRY_AFTER_SECONDS = 1

#: Names of the driver errors that mean the connection to the database is gone or refused
#: (asyncpg's; SQLAlchemy flags most of them as ``connection_invalidated`` already).
_DISCONNECTS = frozenset(
    {
        "CannotConnectNowError",  # the server is starting up or shutting down
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
    }
)


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the state database did not answer (down, restarting, refusing
    connections), rather than that a statement failed. A refused connect comes through
    SQLAlchemy's pool as the bare ``OSError`` the driver raised, so one raised from inside
    SQLAlchemy counts too."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        return (
            exc.connection_invalidated
            or type(orig).__name__ in _DISCONNECTS
            or (isinstance(orig, OSError | TimeoutError))
        )
    if isinstance(exc, OSError | TimeoutError) or type(exc).__name__ in _DISCONNECTS:
        return any(
            str(frame.f_globals.get("__name__", "")).startswith(("sqlalchemy.", "asyncpg."))
            for frame, _ in traceback.walk_tb(exc.__traceback__)
        )
    return False


@dataclass(frozen=True, slots=True)
class _FailedStore:
    error: StoreError | LogStoreError
    kind: str  # of the problem
    what: str  # in its detail
    component: str  # on /readyz


def _failed_store(exc: BaseException) -> _FailedStore | None:
    """The store failure in ``exc`` or its causes, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StoreError):
            return _FailedStore(current, "store-unavailable", "metrics store", "metrics_store")
        if isinstance(current, LogStoreError):
            return _FailedStore(current, "log-store-unavailable", "log store", "log_store")
        current = current.__cause__ or current.__context__
    return None


def _volume_fault(request: Request, failed: _FailedStore) -> Fault | None:
    """Tell readiness about a failed store call of an embedded store (one with a file)."""
    state = getattr(request.app.state, "deck", None)
    if state is None:
        return None
    return _record_fault(state.readiness, state.store, state.log_store, failed)


def record_volume_fault(
    readiness: Readiness, store: object, log_store: object, exc: BaseException
) -> None:
    """Tell readiness about a store failure outside a request (a background loop's write):
    a volume fault of an embedded store fails its check as a request's write does."""
    failed = _failed_store(exc)
    if failed is not None:
        _record_fault(readiness, store, log_store, failed)


def _record_fault(
    readiness: Readiness, store: object, log_store: object, failed: _FailedStore
) -> Fault | None:
    target = store if failed.component == "metrics_store" else log_store
    path = getattr(target, "path", None)
    if path is None:  # a store on a server: its own readiness check sees it down
        return None
    return readiness.volume_fault(failed.component, failed.error, Path(path).parent)


def _log_withheld(
    event: str, request: Request, error: str | None, cause: BaseException | None, **fields: str
) -> None:
    """Log what a 5xx detail leaves out, under the request id the client got."""
    log.warning(
        event,
        method=request.method,
        path=request.url.path,
        request_id=current_request_id(),
        error=error,
        cause=repr(cause) if cause is not None else None,
        **fields,
    )


def _store_detail(request: Request, failed: _FailedStore, error: str | None) -> str:
    """The client-safe detail of a failed store call: the store and, for a volume fault, the
    reason; never the driver's text (it names files, hosts and URLs). The full error goes to
    the log under the request id."""
    fault = _volume_fault(request, failed)
    cause = failed.error.__cause__
    _log_withheld(
        "store_unavailable",
        request,
        error or str(failed.error),
        cause,
        store=failed.what,
    )
    reason = f" ({fault.reason})" if fault is not None else ""
    return f"the {failed.what} failed{reason}; the request was not completed, retry"


def client_safe_detail(request: Request, exc: domain.DomainError, detail: str | None) -> str | None:
    """The detail a 5xx answer may show: a store failure's own, or a general one when the
    error was raised from another exception (its text came from outside our code)."""
    failed = _failed_store(exc)
    if failed is not None:
        return _store_detail(request, failed, detail)
    cause = exc.__cause__
    if cause is None or isinstance(cause, domain.DomainError):
        return detail
    _log_withheld("unavailable", request, detail, cause, kind=exc.kind)
    return "a component this request needs failed; the request was not completed, retry"


def kind_for_status(status: int) -> str:
    return _KIND_BY_STATUS.get(status, "http-error" if status < 500 else "internal-error")


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = [part if isinstance(part, int) else str(part) for part in err.get("loc", ())]
        out.append(FieldError(loc=loc, message=str(err.get("msg", "")), type=str(err.get("type"))))
    return out


#: The methods a 405's ``Allow`` may list.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves on the request's path (for ``Allow``).

    Starlette's router answers 405 from the first route whose path matches and names only
    that route's methods; a path served by several routes (``GET`` and ``POST`` on a
    collection, ``GET``, ``PATCH`` and ``DELETE`` on an item) has them all collected here by
    asking the app's routes (included routers too) whether each method would fully match.
    """
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


def unexpected_response(request: Request, exc: BaseException) -> JSONResponse:
    """The answer to an exception nothing else handled: 503 ``database-unavailable`` when the
    state database did not answer (down or restarting: the request did not complete, and a
    transaction that did not commit kept nothing), 503 ``store-unavailable`` or
    ``log-store-unavailable`` when the metrics or log store failed under a route that did not
    say so itself, else a logged 500."""
    failed = _failed_store(exc)
    if failed is not None:
        return problem_response(
            request,
            status=503,
            kind=failed.kind,
            detail=_store_detail(request, failed, None),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if database_unreachable(exc):
        log.warning(
            "database_unavailable",
            path=request.url.path,
            method=request.method,
            request_id=current_request_id(),
            error=f"{type(exc).__name__}: {exc}",
        )
        return problem_response(
            request,
            status=503,
            kind="database-unavailable",
            detail="the state database did not answer; the request was not completed, retry",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error(
        "unhandled_error",
        path=request.url.path,
        method=request.method,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem_response(
        request,
        status=500,
        kind="internal-error",
        detail="an unexpected error occurred; quote the request id when reporting it",
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(
            request,
            status=exc.status,
            kind=exc.kind,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, domain.DomainError)
        problem = problem_from_domain(exc)
        if problem.status >= 500:
            problem.detail = client_safe_detail(request, exc, problem.detail)
        return await on_problem(request, problem)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        status = exc.status_code
        headers = dict(exc.headers or {})
        if status == 404 and detail == "Not Found":
            detail = f"no route matches {request.method} {request.url.path}"
        if status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
            allowed = allowed_methods(request)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return problem_response(
            request,
            status=status,
            kind=kind_for_status(status),
            detail=detail,
            headers=headers,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        malformed = any(e.type == "json_invalid" for e in errors)
        return problem_response(
            request,
            status=400 if malformed else 422,
            kind="malformed-json" if malformed else "validation-error",
            detail="the request body is not valid JSON"
            if malformed
            else "the request has invalid fields",
            errors=errors,
        )

    async def on_operational(request: Request, exc: Exception) -> JSONResponse:
        # SQLite allows one writer: a write that waited out the busy timeout, or whose snapshot
        # went stale because another writer committed first, is refused before anything of it
        # was stored. Say so and ask for a retry rather than answering 500.
        if "database is locked" in str(exc) or "database table is locked" in str(exc):
            log.warning("database_busy", path=request.url.path, method=request.method)
            return problem_response(
                request,
                status=503,
                kind="database-busy",
                detail="the database is busy with another write; nothing was changed, retry",
                headers={"Retry-After": "1"},
            )
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_response(request, exc)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(domain.DomainError, on_domain)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(OperationalError, on_operational)
    app.add_exception_handler(Exception, on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for status in (400, 401, 403, 404, 409, 412, 413, 422, 429)
}
