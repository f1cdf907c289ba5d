"""The HTTP API of a template agent: ``GET /healthz`` and ``POST /invoke``.

A small FastAPI app of its own (it runs as the agent's process, not inside the agentdeck
server). Errors are RFC 9457 problem documents like the server's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentdeck import errors as domain
from agentdeck.fleet.templates.config import TemplateConfig
from agentdeck.fleet.templates.llm_client import (
    BadAnswer,
    Completion,
    LLMFailed,
    LLMNotConfigured,
    LLMTimedOut,
)
from agentdeck.fleet.templates.programs import TEMPLATES
from agentdeck.fleet.templates.telemetry import Telemetry

log = logging.getLogger("agentdeck.agent")

PROBLEM_MEDIA_TYPE = "application/problem+json"
INVOKE_PATH = "/invoke"
HEALTH_PATH = "/healthz"

_STATUS: list[tuple[type[domain.DomainError], int]] = [
    (LLMTimedOut, 504),
    (LLMFailed, 502),
    (LLMNotConfigured, 503),
    (domain.Malformed, 400),
    (domain.Invalid, 422),
    (domain.Unavailable, 503),
]


def status_for(exc: domain.DomainError) -> int:
    return next((status for cls, status in _STATUS if isinstance(exc, cls)), 500)


def problem(
    request: Request,
    status: int,
    kind: str,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{kind}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    agent: str
    template: str
    llm_configured: bool = Field(description="config.llm.base_url and model are set.")
    telemetry: bool = Field(description="Metrics go to agentdeck.")


@dataclass
class _Runtime:
    http: httpx.AsyncClient | None = None
    telemetry: Telemetry = field(default_factory=lambda: Telemetry(None, interval=10))


def create_agent_app(
    template: str,
    config: TemplateConfig,
    *,
    name: str,
    replica: str,
) -> FastAPI:
    """The app of one template agent (telemetry starts with its lifespan)."""
    spec = TEMPLATES[template]
    runtime = _Runtime()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
        )
        runtime.telemetry = Telemetry.from_env(
            agent=name, replica=replica, interval=config.telemetry.interval_seconds
        )
        runtime.telemetry.start()
        if not config.llm.base_url:
            log.warning(
                "no LLM endpoint configured: /invoke answers 503 until config.llm.base_url is set"
            )
        try:
            yield
        finally:
            await runtime.telemetry.aclose()
            await runtime.http.aclose()

    app = FastAPI(
        title=f"agentdeck {template} agent",
        summary=spec.summary,
        version="1",
        lifespan=lifespan,
    )

    @app.exception_handler(domain.DomainError)
    async def _domain(request: Request, exc: domain.DomainError) -> Response:
        headers = dict(exc.headers)
        errors = [
            {"loc": list(e.loc), "message": e.message, "type": e.type} for e in exc.errors or []
        ]
        return problem(
            request,
            status_for(exc),
            exc.kind,
            exc.detail,
            title=exc.title,
            errors=errors,
            headers=headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['message']}" for e in errors)
        return problem(request, 422, "validation-error", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(
            request, exc.status_code, kind, str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("invoke crashed", exc_info=exc)
        return problem(request, 500, "internal-error", "the agent failed; see its log")

    @app.middleware("http")
    async def _count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path != INVOKE_PATH:
            return await call_next(request)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            runtime.telemetry.request(time.perf_counter() - started, failed=True)
            raise
        runtime.telemetry.request(time.perf_counter() - started, failed=response.status_code >= 500)
        return response

    @app.get(HEALTH_PATH, operation_id="healthz", response_model=Health)
    async def healthz() -> Health:
        """The agent is up (also without an LLM endpoint: /invoke then answers 503)."""
        return Health(
            status="ok",
            agent=name,
            template=template,
            llm_configured=bool(config.llm.base_url and config.llm.model),
            telemetry=runtime.telemetry.enabled,
        )

    def record_call(done: Completion) -> None:
        runtime.telemetry.llm_call(
            target=config.llm.target,
            model=config.llm.model or done.model,
            failed=False,
            tokens_in=done.usage.prompt_tokens,
            tokens_out=done.usage.completion_tokens,
            latency=done.latency,
            cost=config.llm.cost(done.usage.prompt_tokens, done.usage.completion_tokens),
        )

    async def invoke(body: BaseModel) -> Any:
        assert runtime.http is not None
        try:
            answer, done = await spec.run(runtime.http, config, body)
        except BadAnswer as exc:
            record_call(exc.completion)
            log.warning("invoke failed: %s", exc.detail)
            raise
        except (LLMFailed, LLMTimedOut) as exc:
            runtime.telemetry.llm_call(
                target=config.llm.target, model=config.llm.model or "", failed=True
            )
            log.warning("invoke failed: %s", exc.detail)
            raise
        record_call(done)
        return answer

    invoke.__annotations__ = {"body": spec.request, "return": Any}
    problems: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status, text in (
            (422, "Invalid request"),
            (502, "The LLM endpoint failed, refused, rate limited or answered nonsense"),
            (503, "No LLM endpoint configured"),
            (504, "The LLM endpoint timed out"),
        )
    }
    app.post(
        INVOKE_PATH,
        operation_id="invoke",
        response_model=spec.response,
        responses=problems,
        summary=spec.summary,
    )(invoke)
    return app
