"""Log streams and batches: create, list, stop; list and read batches; clean up old ones.

Functions take a session, filter by the caller's tenant, flush and never commit (the router
commits), and raise domain errors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import Alert, AlertStatus
from agentdeck.audit.service import record
from agentdeck.crud import get_owned, insert
from agentdeck.db.base import utcnow
from agentdeck.errors import conflict, not_found
from agentdeck.identity.principal import Principal
from agentdeck.logintel.anomalies.models import Anomaly
from agentdeck.logintel.streams.models import LogBatch, LogStream
from agentdeck.logintel.streams.schemas import LogStreamCreate
from agentdeck.pagination import fetch_page, where_given

BATCH_STATUSES = ("pending", "processing", "completed", "failed")


async def create_stream(
    session: AsyncSession, *, actor: Principal, data: LogStreamCreate
) -> LogStream:
    taken = await session.scalar(
        select(LogStream.id).where(
            LogStream.tenant_id == actor.tenant_id,
            LogStream.name == data.name,
            LogStream.active.is_(True),
        )
    )
    if taken is not None:
        raise conflict(
            f"an active log stream is already called {data.name!r}", kind="name-taken", field="name"
        )
    stream = LogStream(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        name=data.name,
        services=list(data.services),
        severity_filter=[s.value for s in dict.fromkeys(data.severity_filter)],
        batch_size=data.batch_size,
        batch_timeout_seconds=data.batch_timeout_seconds,
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    after = data.model_dump(mode="json")
    return await insert(
        session, actor=actor, row=stream, kind="log_stream", snapshot=lambda _: after
    )


async def list_streams(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    include_stopped: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[LogStream], str | None]:
    stmt = select(LogStream).where(LogStream.tenant_id == tenant_id)
    if not include_stopped:
        stmt = stmt.where(LogStream.active.is_(True))
    return await fetch_page(
        session, stmt, order=(LogStream.created_at, LogStream.id), cursor=cursor, limit=limit
    )


async def get_stream(session: AsyncSession, *, tenant_id: uuid.UUID, ident: uuid.UUID) -> LogStream:
    return await get_owned(session, LogStream, tenant_id=tenant_id, ident=ident, what="log stream")


async def stop_stream(session: AsyncSession, *, actor: Principal, ident: uuid.UUID) -> LogStream:
    """Stop an active stream: no further batches (404 when unknown or already stopped)."""
    stream = await get_stream(session, tenant_id=actor.tenant_id, ident=ident)
    if not stream.active:
        raise not_found("log stream", ident)
    stream.active = False
    stream.stopped_at = utcnow()
    await record(
        session,
        actor=actor,
        action="log_stream.stop",
        resource_type="log_stream",
        resource_id=stream.id,
    )
    await session.flush()
    return stream


@dataclass(slots=True)
class BatchFilter:
    stream_id: uuid.UUID | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_batches(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    flt: BatchFilter,
    limit: int,
    cursor: str | None,
) -> tuple[list[LogBatch], str | None]:
    stmt = where_given(
        select(LogBatch).where(LogBatch.tenant_id == tenant_id),
        (LogBatch.stream_id, flt.stream_id),
        (LogBatch.status, flt.status),
    )
    if flt.since is not None:
        stmt = stmt.where(LogBatch.created_at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(LogBatch.created_at <= flt.until)
    return await fetch_page(
        session, stmt, order=(LogBatch.created_at, LogBatch.id), cursor=cursor, limit=limit
    )


async def get_batch(session: AsyncSession, *, tenant_id: uuid.UUID, ident: uuid.UUID) -> LogBatch:
    return await get_owned(session, LogBatch, tenant_id=tenant_id, ident=ident, what="log batch")


async def batch_anomaly_ids(session: AsyncSession, *, batch_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Anomaly.id).where(Anomaly.batch_id == batch_id).order_by(Anomaly.detected_at)
    )
    return list(rows)


async def cleanup(
    session: AsyncSession,
    *,
    retention_days: int,
    tenant_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Delete anomalies and batches older than ``retention_days`` (one tenant, or all);
    an anomaly whose alert is not resolved is kept, and so is its batch. Returns
    (batches, anomalies) deleted."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    unresolved = select(Alert.id).where(Alert.status != AlertStatus.resolved)
    old = [Anomaly.detected_at < cutoff]
    if tenant_id is not None:
        old.append(Anomaly.tenant_id == tenant_id)
    anomalies = await session.execute(
        delete(Anomaly).where(
            *old, or_(Anomaly.alert_id.is_(None), Anomaly.alert_id.not_in(unresolved))
        )
    )
    kept = select(Anomaly.batch_id).where(Anomaly.batch_id.is_not(None))
    batch_filter = [LogBatch.created_at < cutoff, LogBatch.id.not_in(kept)]
    if tenant_id is not None:
        batch_filter.append(LogBatch.tenant_id == tenant_id)
    batches = await session.execute(delete(LogBatch).where(*batch_filter))
    await session.flush()
    return int(getattr(batches, "rowcount", 0) or 0), int(getattr(anomalies, "rowcount", 0) or 0)
