"""`GET /api/v1/alerts/{id}/trace`: why each notification was or was not sent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agentdeck.alerting.alerts.trace import MAX_STEPS, AlertTrace, alert_trace
from agentdeck.server.deps import SessionDep, Viewer, parse_uuid

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("/{alert_id}/trace", response_model=AlertTrace)
async def get_alert_trace(
    principal: Viewer,
    session: SessionDep,
    alert_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_STEPS)] = MAX_STEPS,
) -> AlertTrace:
    """Every routing decision about the alert, in order, with the delivery outcomes."""
    return await alert_trace(
        session, tenant_id=principal.tenant_id, alert_id=parse_uuid(alert_id, "alert"), limit=limit
    )
