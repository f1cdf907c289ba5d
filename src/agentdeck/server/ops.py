"""Operations endpoints: liveness, readiness, Prometheus metrics, build info."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from agentdeck import __version__
from agentdeck.db.migrate import current_revision, head_revision
from agentdeck.server.deps import StateDep

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"]


class ComponentCheck(BaseModel):
    name: str
    ok: bool
    detail: str
    latency_ms: float


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    components: list[ComponentCheck]


class Info(BaseModel):
    version: str
    environment: str
    features: dict[str, bool]


@router.get("/healthz", operation_id="healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process is up and serving."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a component is not ready"}},
)
async def readyz(state: StateDep, response: Response) -> Readiness:
    """Readiness: each component with its own verdict; 503 when any is not ready."""
    checks: list[ComponentCheck] = []
    started = time.perf_counter()
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            revision = await current_revision(connection)
        db_ok, db_detail = True, f"reachable ({state.engine.dialect.name})"
    except Exception as exc:  # the point is to report any failure
        db_ok, db_detail, revision = False, f"unreachable: {type(exc).__name__}", None
    checks.append(
        ComponentCheck(
            name="database",
            ok=db_ok,
            detail=db_detail,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    )
    head = head_revision()
    checks.append(
        ComponentCheck(
            name="migrations",
            ok=db_ok and revision == head,
            detail=f"at {revision}, head {head}",
            latency_ms=0.0,
        )
    )
    started = time.perf_counter()
    try:
        stats = await state.store.stats()
        store_ok, store_detail = True, f"{stats.backend}: {stats.series} series"
    except Exception as exc:  # the point is to report any failure
        store_ok, store_detail = False, f"{state.settings.tsdb.backend.value}: {exc}"
    checks.append(
        ComponentCheck(
            name="metrics_store",
            ok=store_ok,
            detail=store_detail,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    )
    ready = all(c.ok for c in checks)
    if not ready:
        response.status_code = 503
    return Readiness(status="ready" if ready else "not_ready", components=checks)


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(state: StateDep) -> Response:
    """The server's own metrics in Prometheus exposition format."""
    from agentdeck.telemetry.ingest import exposition

    state.metrics.observe_pool(state.engine)
    body = generate_latest(state.metrics.registry) + exposition(state.store)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/info", operation_id="getInfo", response_model=Info)
async def info(state: StateDep) -> Info:
    """Version, environment and feature flags (public, for the login page)."""
    features = state.settings.features.model_dump()
    return Info(
        version=__version__,
        environment=state.settings.environment.value,
        features={k: bool(v) for k, v in features.items()},
    )
