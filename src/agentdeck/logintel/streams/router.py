"""HTTP routes of log streams (`/api/v1/log-streams`) and their batches (`/api/v1/log-batches`).

Viewers list and read; developers create and stop streams; admins clean up old batches.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from agentdeck.logintel.streams import service
from agentdeck.logintel.streams.buffers import StreamFilter
from agentdeck.logintel.streams.schemas import (
    BatchLinePublic,
    CleanupResult,
    LogBatchDetail,
    LogBatchPublic,
    LogStreamCreate,
    LogStreamPublic,
)
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Admin, Developer, SessionDep, StateDep, Viewer, parse_uuid
from agentdeck.server.errors import field_error

router = APIRouter(tags=["log intelligence"])

BatchStatus = Literal["pending", "processing", "completed", "failed"]


@router.post(
    "/api/v1/log-streams", response_model=LogStreamPublic, status_code=status.HTTP_201_CREATED
)
async def create_log_stream(
    principal: Developer,
    session: SessionDep,
    state: StateDep,
    body: LogStreamCreate,
    response: Response,
) -> LogStreamPublic:
    """Start a stream: the tenant's lines it matches are cut into batches and analysed."""
    stream = await service.create_stream(session, actor=principal, data=body)
    await session.commit()
    if state.log_streams is not None:
        state.log_streams.add_stream(StreamFilter.of(stream))
    response.headers["Location"] = f"/api/v1/log-streams/{stream.id}"
    return LogStreamPublic.of(stream)


@router.get("/api/v1/log-streams", response_model=Page[LogStreamPublic])
async def list_log_streams(
    principal: Viewer,
    session: SessionDep,
    include_stopped: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[LogStreamPublic]:
    """The tenant's streams with their statistics, newest first (active ones unless asked)."""
    rows, next_cursor = await service.list_streams(
        session,
        tenant_id=principal.tenant_id,
        include_stopped=include_stopped,
        limit=limit,
        cursor=cursor,
    )
    return Page[LogStreamPublic](
        items=[LogStreamPublic.of(s) for s in rows], next_cursor=next_cursor, limit=limit
    )


@router.get("/api/v1/log-streams/{stream_id}", response_model=LogStreamPublic)
async def get_log_stream(principal: Viewer, session: SessionDep, stream_id: str) -> LogStreamPublic:
    """One stream with its statistics. 404 when unknown."""
    stream = await service.get_stream(
        session, tenant_id=principal.tenant_id, ident=parse_uuid(stream_id, "log stream")
    )
    return LogStreamPublic.of(stream)


@router.delete("/api/v1/log-streams/{stream_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_log_stream(
    principal: Developer, session: SessionDep, state: StateDep, stream_id: str
) -> Response:
    """Stop the stream: no further batches (its batches and anomalies stay). 404 when unknown
    or already stopped."""
    stream = await service.stop_stream(
        session, actor=principal, ident=parse_uuid(stream_id, "log stream")
    )
    await session.commit()
    if state.log_streams is not None:
        state.log_streams.remove_stream(stream.tenant_id, stream.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/v1/log-batches", response_model=Page[LogBatchPublic])
async def list_log_batches(
    principal: Viewer,
    session: SessionDep,
    stream_id: uuid.UUID | None = None,
    batch_status: Annotated[BatchStatus | None, Query(alias="status")] = None,
    since: Annotated[datetime | None, Query(description="Closed at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Closed at or before.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[LogBatchPublic]:
    """The tenant's batches, newest first, with their statistics (not their lines)."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise field_error(422, "invalid-time", ["query", name], "a time zone is required")
    rows, next_cursor = await service.list_batches(
        session,
        tenant_id=principal.tenant_id,
        flt=service.BatchFilter(stream_id=stream_id, status=batch_status, since=since, until=until),
        limit=limit,
        cursor=cursor,
    )
    return Page[LogBatchPublic](
        items=[LogBatchPublic.of(b) for b in rows], next_cursor=next_cursor, limit=limit
    )


@router.post("/api/v1/log-batches/cleanup", response_model=CleanupResult)
async def cleanup_log_batches(
    principal: Admin,
    session: SessionDep,
    retention_days: Annotated[int, Query(ge=1, le=365)],
) -> CleanupResult:
    """Delete the tenant's batches and anomalies older than `retention_days` now (anomalies
    whose alert is still unresolved, and their batches, are kept)."""
    batches, anomalies = await service.cleanup(
        session, retention_days=retention_days, tenant_id=principal.tenant_id
    )
    await session.commit()
    return CleanupResult(
        retention_days=retention_days, batches_deleted=batches, anomalies_deleted=anomalies
    )


@router.get("/api/v1/log-batches/{batch_id}", response_model=LogBatchDetail)
async def get_log_batch(principal: Viewer, session: SessionDep, batch_id: str) -> LogBatchDetail:
    """One batch with its statistics, its lines and the anomalies found in it."""
    batch = await service.get_batch(
        session, tenant_id=principal.tenant_id, ident=parse_uuid(batch_id, "log batch")
    )
    anomaly_ids = await service.batch_anomaly_ids(session, batch_id=batch.id)
    return LogBatchDetail(
        **LogBatchPublic.of(batch).model_dump(),
        lines=[BatchLinePublic.of(row) for row in batch.lines],
        anomaly_ids=anomaly_ids,
    )
