"""HTTP routes of anomalies: `/api/v1/anomalies` (viewers; each tenant sees its own)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from agentdeck.logintel.analysis import AnomalySeverity, AnomalyType
from agentdeck.logintel.anomalies import service
from agentdeck.logintel.anomalies.schemas import AnomalyDetail, AnomalyPage, AnomalyPublic
from agentdeck.server.deps import SessionDep, Viewer, parse_uuid
from agentdeck.server.errors import field_error

router = APIRouter(prefix="/api/v1/anomalies", tags=["log intelligence"])


def _choice(value: str | None, allowed: type[StrEnum], name: str) -> str | None:
    """``value`` lower-cased when it is one of ``allowed``; a 422 listing them otherwise."""
    if value is None:
        return None
    choices = [item.value for item in allowed]
    lowered = value.strip().lower()
    if lowered not in choices:
        raise field_error(
            422, "invalid-choice", ["query", name], f"{name} must be one of: {', '.join(choices)}"
        )
    return lowered


@router.get("", response_model=AnomalyPage)
async def list_anomalies(
    principal: Viewer,
    session: SessionDep,
    service_name: Annotated[str | None, Query(alias="service", max_length=256)] = None,
    severity: Annotated[
        str | None, Query(max_length=32, description="low, medium, high, critical (any case).")
    ] = None,
    anomaly_type: Annotated[
        str | None,
        Query(alias="type", max_length=64, description="An anomaly type (any case)."),
    ] = None,
    since: Annotated[datetime | None, Query(description="Detected at or after (RFC 3339).")] = None,
    window_from: Annotated[
        datetime | None,
        Query(description="Whose lines end at or after this time (RFC 3339; window overlap)."),
    ] = None,
    window_to: Annotated[
        datetime | None,
        Query(description="Whose lines start at or before this time (RFC 3339)."),
    ] = None,
    sort: Annotated[
        service.AnomalySort,
        Query(description="detected: newest detection first; window: newest lines first."),
    ] = "detected",
    stream_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AnomalyPage:
    """The tenant's anomalies, newest first (detected, or by the time of their lines),
    filtered and paged."""
    for name, moment in (("since", since), ("window_from", window_from), ("window_to", window_to)):
        if moment is not None and moment.tzinfo is None:
            raise field_error(422, "invalid-time", ["query", name], "a time zone is required")
    if window_from is not None and window_to is not None and window_to < window_from:
        raise field_error(
            422, "invalid-range", ["query", "window_to"], "window_to is before window_from"
        )
    flt = service.AnomalyFilter(
        service=service_name,
        severity=_choice(severity, AnomalySeverity, "severity"),
        anomaly_type=_choice(anomaly_type, AnomalyType, "type"),
        since=since,
        stream_id=stream_id,
        batch_id=batch_id,
        window_from=window_from,
        window_to=window_to,
    )
    rows, next_cursor = await service.list_anomalies(
        session, tenant_id=principal.tenant_id, flt=flt, limit=limit, cursor=cursor, sort=sort
    )

    return AnomalyPage(
        items=[AnomalyPublic.of(a) for a in rows], next_cursor=next_cursor, limit=limit
    )


@router.get("/{anomaly_id}", response_model=AnomalyDetail)
async def get_anomaly(principal: Viewer, session: SessionDep, anomaly_id: str) -> AnomalyDetail:
    """One anomaly with its evidence lines and the alert it raised. 404 when unknown."""
    anomaly = await service.get_anomaly(
        session, tenant_id=principal.tenant_id, ident=parse_uuid(anomaly_id, "anomaly")
    )
    return AnomalyDetail.detail(anomaly)
