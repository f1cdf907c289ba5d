"""Reading anomalies: a tenant's, filtered, newest first; one with its evidence lines."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.crud import get_owned
from agentdeck.logintel.anomalies.models import Anomaly
from agentdeck.pagination import apply_cursor, page_of


@dataclass(slots=True)
class AnomalyFilter:
    service: str | None = None
    severity: str | None = None
    anomaly_type: str | None = None
    since: datetime | None = None
    stream_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None


async def list_anomalies(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    flt: AnomalyFilter,
    limit: int,
    cursor: str | None,
) -> tuple[list[Anomaly], str | None]:
    stmt = select(Anomaly).where(Anomaly.tenant_id == tenant_id)
    if flt.service is not None:
        stmt = stmt.where(Anomaly.service == flt.service)
    if flt.severity is not None:
        stmt = stmt.where(Anomaly.severity == flt.severity)
    if flt.anomaly_type is not None:
        stmt = stmt.where(Anomaly.anomaly_type == flt.anomaly_type)
    if flt.since is not None:
        stmt = stmt.where(Anomaly.detected_at >= flt.since)
    if flt.stream_id is not None:
        stmt = stmt.where(Anomaly.stream_id == flt.stream_id)
    if flt.batch_id is not None:
        stmt = stmt.where(Anomaly.batch_id == flt.batch_id)
    stmt = apply_cursor(
        stmt,
        sort_column=Anomaly.detected_at,
        id_column=Anomaly.id,
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    rows = list(await session.scalars(stmt))
    return page_of(rows, limit=limit, sort_attr="detected_at")


async def get_anomaly(session: AsyncSession, *, tenant_id: uuid.UUID, ident: uuid.UUID) -> Anomaly:
    return await get_owned(session, Anomaly, tenant_id=tenant_id, ident=ident, what="anomaly")
