"""``GET /api/v1/real-time-metrics``: the tenant's live status in one call."""

from __future__ import annotations

from fastapi import APIRouter, Response

from agentdeck.overview import service
from agentdeck.overview.schemas import RealTimeMetrics
from agentdeck.server.deps import StateDep, Viewer

router = APIRouter(prefix="/api/v1", tags=["overview"])


@router.get("/real-time-metrics", response_model=RealTimeMetrics)
async def get_real_time_metrics(principal: Viewer, state: StateDep) -> Response:
    """Ingest rate, active data sources and the health of every agent, with trends.

    Cached per tenant for a few seconds (`realtime.overview_cache_seconds`); a failing or slow
    health probe marks only its own entry (`error` or `timeout`).
    """
    answer = await service.real_time_metrics(
        live=state.overview,
        sessions=state.sessions,
        settings=state.settings.realtime,
        tenant_id=principal.tenant_id,
        outbound=state.settings.outbound,
    )
    # encoded once per computation (see service.Answer), not once per request
    return Response(answer.body, media_type="application/json")
