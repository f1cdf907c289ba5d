"""Telemetry HTTP routes: the JSON metric batch and the simple per-agent report.

Both authenticate with an API key (or a user token) of role developer or above, count against
the ``ingest`` rate limit, and hand their samples to the shared ingest core
(:mod:`agentdeck.ingest.core`). ``docs/metrics.md`` documents both bodies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents import service as agents_service
from agentdeck.compression import decompress
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.ingest import service
from agentdeck.ingest.core import (
    IngestResult,
    KeyedColumns,
    MetricMeta,
    Row,
    SampleColumns,
    SampleError,
    ingest_columns,
    ingest_rows,
)
from agentdeck.ingest.decoders import json as json_body
from agentdeck.ingest.decoders.json_columns import ColumnBatch
from agentdeck.ingest.decoders.report import report_rows
from agentdeck.ingest.schemas import (
    AgentMetricsReport,
    IngestResponse,
    MetricBatch,
    SampleErrorPublic,
)
from agentdeck.ratelimit import LimitClass
from agentdeck.server.deps import SessionDep, SettingsDep, StoreDep, parse_uuid, requires
from agentdeck.server.errors import FieldError, ProblemError
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Store, StoreError

router = APIRouter(prefix="/api/v1", tags=["telemetry"])

Ingester = Annotated[Principal, Depends(requires(Role.developer, LimitClass.ingest))]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    415: {"description": "Unknown Content-Encoding (problem+json)."},
    503: {"description": "The metrics store failed; retry later (problem+json)."},
}


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` with its definitions inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _seen(request: Request) -> service.SeenAgents:
    """When each agent's ``last_seen_at`` was last written by this app (for throttling)."""
    state = request.app.state
    seen: service.SeenAgents | None = getattr(state, "agent_last_seen", None)
    if seen is None:
        seen = state.agent_last_seen = service.SeenAgents()
    return seen


async def _run(
    *,
    store: Store,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    rows: Sequence[Row] | SampleColumns | KeyedColumns,
    metadata: Sequence[MetricMeta],
    errors: Sequence[SampleError],
    reasons: Sequence[str],
    now_ms: int | None = None,
) -> IngestResult:
    try:
        if isinstance(rows, SampleColumns | KeyedColumns):
            return await ingest_columns(
                store=store,
                session=session,
                settings=settings.tsdb,
                tenant_id=tenant_id,
                columns=rows,
                metadata=metadata,
                errors=errors,
                error_reasons=reasons,
                now_ms=now_ms,
            )
        return await ingest_rows(
            store=store,
            session=session,
            settings=settings.tsdb,
            tenant_id=tenant_id,
            rows=rows,
            metadata=metadata,
            errors=errors,
            error_reasons=reasons,
            now_ms=now_ms,
        )
    except StoreError as exc:
        raise ProblemError(
            503, "store-unavailable", f"the metrics store failed, retry later: {exc}"
        ) from exc


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
            "content": {"application/json": {"schema": _inline_schema(MetricBatch)}},
        }
    },
)
async def ingest_metric_batch(
    request: Request,
    principal: Ingester,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
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
    now_ms = time.time_ns() // 1_000_000
    parsed = await json_body.read_batch_with(
        request.app.state.deck.decoders,
        body,
        max_samples=settings.tsdb.max_batch_samples,
        now_ms=now_ms,
    )
    result = await _run(
        store=store,
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        rows=parsed.columns if isinstance(parsed, ColumnBatch) else parsed.rows,
        metadata=parsed.metadata,
        errors=parsed.errors,
        reasons=parsed.reasons,
        now_ms=now_ms,
    )
    changed = bool(result.accepted and parsed.metadata)  # metadata rows may have been upserted
    if result.accepted and parsed.agents:
        changed |= await service.touch_agents(
            session, tenant_id=principal.tenant_id, names=parsed.agents, seen=_seen(request)
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
    request: Request,
    principal: Ingester,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> IngestResponse:
    """Report an agent's standard metrics (CPU, memory, requests, errors, latency, tokens, cost).

    Each field becomes a metric with the ``agent`` label set to the agent's name (see
    ``docs/metrics.md``); ``extra`` values become gauges of their own name. Another tenant's
    agent is not found (404).
    """
    agent = await agents_service.get_agent(
        session, tenant_id=principal.tenant_id, agent_id=parse_uuid(agent_id, "agent")
    )
    rows, metadata, fields, errors, reasons = report_rows(report, agent_name=agent.name)
    if not rows and not errors:
        raise ProblemError(400, "no-valid-samples", "the report has no values")
    result = await _run(
        store=store,
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        rows=rows,
        metadata=metadata,
        errors=errors,
        reasons=reasons,
    )
    for error in result.errors:
        if error.field in ("name", "value") and error.index < len(fields):
            error.field = fields[error.index]
    if result.accepted:
        await service.touch_agents(
            session, tenant_id=principal.tenant_id, names={agent.name}, seen=_seen(request)
        )
        await session.commit()  # the report's metadata rows, when they changed
    return _answer(result)
