"""Reading anomalies: a tenant's, filtered, newest first; one with its evidence lines."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.crud import get_owned
from agentdeck.logintel.anomalies.models import Anomaly
from agentdeck.pagination import fetch_page, where_given


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
    stmt = where_given(
        select(Anomaly).where(Anomaly.tenant_id == tenant_id),
        (Anomaly.service, flt.service),
        (Anomaly.severity, flt.severity),
        (Anomaly.anomaly_type, flt.anomaly_type),
        (Anomaly.stream_id, flt.stream_id),
        (Anomaly.batch_id, flt.batch_id),
    )
    if flt.since is not None:
        stmt = stmt.where(Anomaly.detected_at >= flt.since)
    return await fetch_page(
        session, stmt, order=(Anomaly.detected_at, Anomaly.id), cursor=cursor, limit=limit
    )


async def get_anomaly(session: AsyncSession, *, tenant_id: uuid.UUID, ident: uuid.UUID) -> Anomaly:
    return await get_owned(session, Anomaly, tenant_id=tenant_id, ident=ident, what="anomaly")
