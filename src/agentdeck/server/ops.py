"""Operations endpoints: liveness, readiness, Prometheus metrics, build info."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from agentdeck import __version__
from agentdeck.server.deps import StateDep
from agentdeck.server.errors import PROBLEM_MEDIA_TYPE, Problem, problem_response
from agentdeck.settings import FeatureFlags

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"]


class ComponentCheck(BaseModel):
    name: str
    ok: bool
    status: Literal["ok", "error", "timeout"] = Field(
        description="ok; error (the component refused or failed); timeout (no answer in time)."
    )
    detail: str = Field(
        description="What answered, or a short summary of the failure (the kind of error)."
    )
    latency_ms: float


class Readiness(BaseModel):
    status: Literal["ready"]
    components: list[ComponentCheck]


class NotReady(Problem):
    """The 503 answer of ``/readyz``: a problem document naming the failed components."""

    failed: list[str] = Field(description="Names of the components that are not ready.")
    components: list[ComponentCheck]


class Info(BaseModel):
    version: str
    environment: str
    features: FeatureFlags


@router.get("/healthz", operation_id="healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process is up and serving."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses={
        503: {
            "model": NotReady,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "a component is not ready",
        }
    },
)
async def readyz(state: StateDep, request: Request) -> Response:
    """Readiness: every configured component (state database, migrations, metrics store,
    Redis, ...) checked by a round trip under a short timeout; 503 naming the failed ones.

    Verdicts are reused for `server.readiness_cache_seconds`; probes arriving meanwhile share
    one run of the checks."""
    report = await state.readiness.report()
    components = [
        ComponentCheck(
            name=r.name, ok=r.ok, status=r.status, detail=r.detail, latency_ms=r.latency_ms
        )
        for r in report.results
    ]
    headers = {"Cache-Control": "no-store"}
    if report.ready:
        body = Readiness(status="ready", components=components)
        return JSONResponse(body.model_dump(mode="json"), headers=headers)
    failed = [r.name for r in report.failed]
    return problem_response(
        request,
        status=503,
        kind="not-ready",
        title="Not ready",
        detail="not ready: " + ", ".join(f"{r.name} ({r.detail})" for r in report.failed),
        headers=headers,
        extra={"failed": failed, "components": [c.model_dump(mode="json") for c in components]},
    )


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(state: StateDep) -> Response:
    """The server's own metrics in Prometheus exposition format."""
    state.metrics.observe_pool(state.engine)
    body = generate_latest(state.metrics.registry) + state.ingestor.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/info", operation_id="getInfo", response_model=Info)
async def info(state: StateDep) -> Info:
    """Version, environment and feature flags (public, for the login page)."""
    return Info(
        version=__version__,
        environment=state.settings.environment.value,
        features=state.settings.features,
    )
