"""Reading anomalies: a tenant's, filtered, newest first (by detection or by the time of their
lines); one with its evidence lines."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

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
    #: Anomalies whose window (the time of their lines) overlaps [window_from, window_to].
    window_from: datetime | None = None
    window_to: datetime | None = None


#: ``detected``: newest detection first; ``window``: newest lines first (by window start).
AnomalySort = Literal["detected", "window"]


async def list_anomalies(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    flt: AnomalyFilter,
    limit: int,
    cursor: str | None,
    sort: AnomalySort = "detected",
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
    if flt.window_from is not None:
        stmt = stmt.where(Anomaly.window_end >= flt.window_from)
    if flt.window_to is not None:
        stmt = stmt.where(Anomaly.window_start <= flt.window_to)
    column = Anomaly.window_start if sort == "window" else Anomaly.detected_at
    return await fetch_page(session, stmt, order=(column, Anomaly.id), cursor=cursor, limit=limit)


async def get_anomaly(session: AsyncSession, *, tenant_id: uuid.UUID, ident: uuid.UUID) -> Anomaly:
    return await get_owned(session, Anomaly, tenant_id=tenant_id, ident=ident, what="anomaly")
