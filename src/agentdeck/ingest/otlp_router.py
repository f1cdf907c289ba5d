"""OTLP/HTTP metrics (``POST /v1/metrics``) and Prometheus remote write (``POST /api/v1/write``).

Both decode their wire format here (:mod:`agentdeck.ingest.decoders.otlp`,
:mod:`agentdeck.ingest.decoders.remote_write`) and hand the samples to the shared ingest path, which
validates, enforces the series cap and writes durably. ``docs/otlp.md`` describes both.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.compression import decompress, malformed_body
from agentdeck.errors import UnsupportedMediaType
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.ingest import service
from agentdeck.ingest.batch import Batch, IngestResult
from agentdeck.ingest.decoders import otlp, otlp_fast, remote_write
from agentdeck.ingest.scope import check_agent_scope
from agentdeck.ingest.series import shown
from agentdeck.ratelimit import LimitClass
from agentdeck.server.deps import SessionDep, SettingsDep, StateDep, requires
from agentdeck.server.errors import ProblemError
from agentdeck.server.openapi_docs import BINARY, otlp_export_docs
from agentdeck.server.state import AppState

router = APIRouter(tags=["telemetry"])

# an agent's telemetry key (minted by the fleet) is taken here, for its own agent's series
Ingester = Annotated[
    Principal, Depends(requires(Role.developer, LimitClass.ingest, agent_keys=True))
]

_MAX_MESSAGES = 5


class OtlpPartialSuccess(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    rejected_data_points: str = Field(
        "0", alias="rejectedDataPoints", description="Data points refused (int64 as a string)."
    )
    error_message: str = Field("", alias="errorMessage", description="Why, in short.")


class OtlpExportResponse(BaseModel):
    """``ExportMetricsServiceResponse`` as OTLP JSON (protobuf requests get protobuf)."""

    model_config = ConfigDict(populate_by_name=True)

    partial_success: OtlpPartialSuccess | None = Field(None, alias="partialSuccess")


def _decompress(raw: bytes, encoding: str | None, *, limit: int) -> bytes:
    """The body with its ``Content-Encoding`` undone; an unknown encoding is a malformed body
    here (400, as ``docs/otlp.md`` documents), not a 415."""
    try:
        return decompress(raw, encoding, limit=limit)
    except UnsupportedMediaType as exc:
        raise malformed_body(exc.detail or str(exc)) from None


async def _ingest(
    state: AppState, session: AsyncSession, principal: Principal, batch: Batch
) -> IngestResult:
    """Ingest ``batch`` into the caller's tenant and commit (an agent's key: its series
    only)."""
    check_agent_scope(principal.agent, batch)
    result = await service.ingest(state.ingestor, session, principal.tenant_id, batch)
    await session.commit()
    return result


@router.post(
    "/v1/metrics",
    response_class=Response,
    **otlp_export_docs(
        response_model=OtlpExportResponse,
        request="An OTLP ExportMetricsServiceRequest, optionally gzip-encoded.",
        problems={},
    ),
)
async def export_otlp_metrics(
    request: Request,
    principal: Ingester,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    """OTLP/HTTP metrics export: protobuf (default) or JSON, optionally gzip-encoded.

    Samples land in the caller's tenant. Points that cannot be stored are counted in
    ``partialSuccess``; the others are kept. See ``docs/otlp.md`` for the name translation.
    """
    kind = otlp.media_type(request.headers.get("content-type"))
    body = _decompress(
        await request.body(),
        request.headers.get("content-encoding"),
        limit=settings.server.max_body_bytes,
    )
    now_ms = time.time_ns() // 1_000_000
    if kind == otlp.PROTOBUF:
        translation = otlp_fast.translate_protobuf(body, now_ms=now_ms)
    else:
        translation = otlp.translate(otlp.parse_request(body, kind), now_ms=now_ms)
    if translation.deltas:
        accumulator = state.otlp_deltas
        async with accumulator.lock(principal.tenant_id):
            cumulative, steps = accumulator.cumulate(principal.tenant_id, translation.deltas)
            batch = otlp_fast.batch(translation, cumulative, now_ms=now_ms)
            result = await _ingest(state, session, principal, batch)
            rejected = {error.index for error in result.errors}
            accumulator.commit(principal.tenant_id, steps, rejected)
    else:
        batch = otlp_fast.batch(translation, now_ms=now_ms)
        result = await _ingest(state, session, principal, batch)
        rejected = {error.index for error in result.errors}
    message = ""
    if rejected:
        messages: list[str] = []
        for error in result.errors:
            text = f"metric '{shown(translation.metric_of(error.index))}': {error.message}"
            if text not in messages:
                messages.append(text)
                if len(messages) == _MAX_MESSAGES:
                    break
        message = f"{len(rejected)} of {translation.points} data points rejected: " + "; ".join(
            messages
        )
    return Response(
        otlp.encode_response(len(rejected), message, kind), status_code=200, media_type=kind
    )


@router.post(
    "/api/v1/write",
    status_code=204,
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A snappy-compressed Prometheus remote-write 1.0 WriteRequest.",
            "content": {"application/x-protobuf": BINARY},
        }
    },
)
async def prometheus_remote_write(
    request: Request,
    principal: Ingester,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    """Prometheus remote write 1.0 receiver (snappy-compressed protobuf ``WriteRequest``).

    204 when every sample was stored; 400 naming the problems when some were refused (the
    others are kept, and Prometheus does not retry a 4xx); 503 when the store failed.
    """
    content_type = request.headers.get("content-type", "")
    if remote_write.REMOTE_WRITE_V2 in content_type:
        raise ProblemError(
            415, "unsupported-media-type", "remote write 2.0 is not supported; send 1.0"
        )
    encoding = request.headers.get("content-encoding", "snappy").strip().lower()
    if encoding not in ("", "snappy"):
        raise malformed_body(f"unsupported Content-Encoding {encoding!r}: send snappy")
    raw = await request.body()
    decoded = remote_write.decode(decompress(raw, "snappy", limit=settings.server.max_body_bytes))
    decoded.now_ms = time.time_ns() // 1_000_000
    result = await _ingest(state, session, principal, decoded)
    if result.rejected:
        names = {row[4]: row[0] for row in decoded.rows}
        problems = []
        for error in result.errors[:_MAX_MESSAGES]:
            where = f" ({shown(names[error.index])})" if error.index in names else ""
            problems.append(f"sample {error.index}{where}: {error.message}")
        raise ProblemError(
            400,
            "samples-rejected",
            f"{result.rejected} samples rejected (the others were stored): " + "; ".join(problems),
        )
    return Response(status_code=204)
