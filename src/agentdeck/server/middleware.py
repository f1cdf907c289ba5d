"""Pure ASGI middleware: request id and context, access log, HTTP metrics, body size limit,
security headers."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.context import RequestContext, reset_request_context, set_request_context
from agentdeck.server.errors import problem_response, unexpected_response
from agentdeck.server.metrics import ServerMetrics
from agentdeck.server.proxies import TrustedProxies

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

log = structlog.get_logger("agentdeck.access")

#: The one inline style the UI needs: the rule the topology graph's library (Cytoscape) puts
#: in a <style> element it adds, ``.__________cytoscape_container { position: relative; }``.
CYTOSCAPE_STYLE = "'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='"

#: The policy of every HTML page: this origin only (its WebSocket included: CSP Level 3 lets
#: 'self' match ws:/wss: on the page's host), no plugins, never framed. React's style props go
#: through the CSSOM, which style-src does not govern, so no other inline style is needed.
PAGE_CSP: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'", CYTOSCAPE_STYLE),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
#: Every other response (JSON, problems, metrics, files) is no page: nothing may run in it.
DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def content_security_policy(*, script_hashes: tuple[str, ...] = ()) -> str:
    """The page policy, allowing also the inline scripts whose ``sha256-...`` hashes are given
    (a page that must carry one, such as the API docs)."""
    directives = dict(PAGE_CSP)
    directives["script-src"] += tuple(f"'{digest}'" for digest in script_hashes)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit.

    An HTTPException, so that FastAPI's body parsing re-raises it (instead of turning it into
    a 400) and the error handlers answer with the 413 problem.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds {limit} bytes")


class RequestMiddleware:
    """Assigns the request id, enforces the body limit, logs and measures every request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServerMetrics,
        max_body_bytes: int,
        trusted_proxies: list[str],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.trusted_proxies = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        client = scope.get("client")
        ip = self.trusted_proxies.client(
            client[0] if client else None, headers.get("x-forwarded-for")
        )
        token = set_request_context(
            RequestContext(request_id=request_id, ip=ip, user_agent=headers.get("user-agent"))
        )
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                out = MutableHeaders(scope=message)
                out[REQUEST_ID_HEADER] = request_id
                state = scope.get("state") or {}
                for name, value in (state.get("rate_limit_headers") or {}).items():
                    out.setdefault(name, value)
            await send(message)

        declared = headers.get("content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            await self.app(scope, self._limited(receive), send_wrapper)
        except BodyTooLarge as exc:
            if response_started:
                raise
            response = problem_response(
                None, status=413, kind="payload-too-large", detail=str(exc.detail)
            )
            await response(scope, receive, send_wrapper)
        except Exception as exc:
            # Answered here rather than by Starlette's outermost handler, so the 500 problem
            # and the log line still carry the request id.
            if response_started:
                raise
            response = unexpected_response(Request(scope), exc)
            await response(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(elapsed)
            if route != "/metrics":
                log.info(
                    "request",
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    client=ip,
                )
            structlog.contextvars.unbind_contextvars("request_id")
            reset_request_context(token)

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def wrapped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped


class InFlightMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.metrics.in_flight.dec()


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "unmatched"


class SecurityHeadersMiddleware:
    """Security headers on every HTTP response, the ones the app answers itself included.

    A response that sets one of them already (a page with its own script hashes) keeps its own.
    """

    def __init__(self, app: ASGIApp, *, hsts_seconds: int) -> None:
        self.app = app
        self.page_csp = content_security_policy()
        self.hsts = f"max-age={hsts_seconds}" if hsts_seconds else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = self.hsts if scope.get("scheme") == "https" else None

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.setdefault("x-content-type-options", "nosniff")
                out.setdefault("x-frame-options", "DENY")
                out.setdefault("referrer-policy", "no-referrer")
                if out.get("content-type", "").startswith("text/html"):
                    out.setdefault("content-security-policy", self.page_csp)
                    out.setdefault("cross-origin-opener-policy", "same-origin")
                else:
                    out.setdefault("content-security-policy", DOCUMENT_CSP)
                if hsts is not None:
                    out.setdefault("strict-transport-security", hsts)
            await send(message)

        await self.app(scope, receive, send_wrapper)
