"""Ingest HTTP routes: the JSON metric batch and the simple per-agent report.

Both authenticate with an API key (or a user token) of role developer or above, count against
the ``ingest`` rate limit, and hand their batch to the app's ingest core
(:class:`~agentdeck.ingest.core.Ingestor`). ``docs/metrics.md`` documents both bodies.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from agentdeck.agents import service as agents_service
from agentdeck.compression import decompress
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.ingest import service
from agentdeck.ingest.batch import IngestResult
from agentdeck.ingest.decoders import json as json_body
from agentdeck.ingest.decoders.report import report_batch
from agentdeck.ingest.schemas import (
    AgentMetricsReport,
    IngestResponse,
    MetricBatch,
    SampleErrorPublic,
)
from agentdeck.ingest.scope import check_agent_scope
from agentdeck.ingest.scope import refuse as scope_refused
from agentdeck.ratelimit import LimitClass
from agentdeck.server.deps import SessionDep, SettingsDep, StateDep, parse_uuid, requires
from agentdeck.server.errors import FieldError, ProblemError
from agentdeck.server.openapi_docs import inline_schema

router = APIRouter(prefix="/api/v1", tags=["telemetry"])

# an agent's telemetry key (minted by the fleet) is taken here, for its own agent's series
Ingester = Annotated[
    Principal, Depends(requires(Role.developer, LimitClass.ingest, agent_keys=True))
]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    415: {"description": "Unknown Content-Encoding (problem+json)."},
    503: {"description": "The metrics store failed; retry later (problem+json)."},
}


def _answer(result: IngestResult) -> IngestResponse:
    """200 with the counts when anything was stored; 400 problem when nothing was valid."""
    if result.accepted == 0 and result.rejected:
        raise ProblemError(
            400,
            "no-valid-samples",
            f"none of the {result.rejected} samples was valid",
            errors=[
                FieldError(loc=[e.index, e.field], message=e.message, type="invalid-sample")
                for e in result.errors[:1000]
            ],
            extra={"accepted": 0, "rejected": result.rejected},
        )
    return IngestResponse(
        accepted=result.accepted,
        rejected=result.rejected,
        errors=[
            SampleErrorPublic(index=e.index, field=e.field, message=e.message)
            for e in result.errors
        ],
    )


@router.post(
    "/metrics/batch",
    response_model=IngestResponse,
    responses=_PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "JSON, optionally gzip-, deflate- or zstd-encoded "
            "(Content-Encoding). See docs/metrics.md.",
            "content": {"application/json": {"schema": inline_schema(MetricBatch)}},
        }
    },
)
async def ingest_metric_batch(
    request: Request,
    principal: Ingester,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> IngestResponse:
    """Ingest a batch of samples (``samples[]``, the compact per-agent form, or both).

    Valid samples are stored even when others are refused; each refused one is listed with
    its index, the field at fault and why. 400 when no sample was valid, 413 above
    ``tsdb.max_batch_samples`` samples. Samples land in the caller's tenant.
    """
    body = decompress(
        await request.body(),
        request.headers.get("content-encoding"),
        limit=settings.server.max_body_bytes,
    )
    batch = await json_body.read_batch_with(
        state.decoders,
        body,
        max_samples=settings.tsdb.max_batch_samples,
        now_ms=time.time_ns() // 1_000_000,
    )
    check_agent_scope(principal.agent, batch)
    result = await service.ingest(state.ingestor, session, principal.tenant_id, batch)
    changed = bool(result.accepted and batch.metadata)  # metadata rows may have been upserted
    if result.accepted and batch.agents:
        changed |= await service.touch_agents(
            session, tenant_id=principal.tenant_id, names=batch.agents, seen=state.seen_agents
        )
    if changed:
        await session.commit()
    return _answer(result)


@router.post(
    "/agents/{agent_id}/metrics",
    response_model=IngestResponse,
    responses=_PROBLEMS,
)
async def report_agent_metrics(
    agent_id: str,
    report: AgentMetricsReport,
    principal: Ingester,
    session: SessionDep,
    state: StateDep,
) -> IngestResponse:
    """Report an agent's standard metrics (CPU, memory, requests, errors, latency, tokens, cost).

    Each field becomes a metric with the ``agent`` label set to the agent's name (see
    ``docs/metrics.md``); ``extra`` values become gauges of their own name. Another tenant's
    agent is not found (404).
    """
    agent = await agents_service.get_agent(
        session, tenant_id=principal.tenant_id, agent_id=parse_uuid(agent_id, "agent")
    )
    if principal.agent is not None and principal.agent_id != agent.id:
        raise scope_refused(principal.agent, agent.name)
    batch, fields = report_batch(report, agent_name=agent.name)
    if not batch.samples and not batch.errors:
        raise ProblemError(400, "no-valid-samples", "the report has no values")
    result = await service.ingest(state.ingestor, session, principal.tenant_id, batch)
    for error in result.errors:
        if error.field in ("name", "value") and error.index < len(fields):
            error.field = fields[error.index]
    if result.accepted:
        await service.touch_agents(
            session, tenant_id=principal.tenant_id, names=batch.agents, seen=state.seen_agents
        )
        await session.commit()  # the report's metadata rows, when they changed
    return _answer(result)
