"""Alertmanager API v2 compatible receiver: ``POST /api/v2/alerts``.

Point Prometheus's (or vmalert's) ``alertmanagers`` at agentdeck with an API key as the bearer
credential, and their alerts become agentdeck alerts of the key's tenant (``source:
external``), routed, silenced and notified like the evaluator's own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from agentdeck.alerting.alerts import am_service
from agentdeck.alerting.alerts import service as alerts_service
from agentdeck.alerting.alerts.schemas import PostableAlert
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.ratelimit import LimitClass
from agentdeck.server.deps import BusDep, SessionDep, SettingsDep, requires

router = APIRouter(prefix="/api/v2", tags=["alertmanager"])

Sender = Annotated[Principal, Depends(requires(Role.developer, LimitClass.ingest))]


class PostAlertsResult(BaseModel):
    received: int
    created: int
    updated: int
    resolved: int


@router.post("/alerts", response_model=PostAlertsResult)
async def post_alertmanager_alerts(
    principal: Sender,
    session: SessionDep,
    bus: BusDep,
    settings: SettingsDep,
    body: list[PostableAlert],
) -> PostAlertsResult:
    """Receive alerts in Alertmanager's v2 format (a JSON list of postable alerts).

    A past `endsAt` resolves the alert; otherwise it fires (or keeps firing) until its
    `endsAt`, or until `alerting.external_resolve_timeout_seconds` without a re-send."""
    changed = await am_service.receive(
        session, tenant_id=principal.tenant_id, alerts=body, settings=settings.alerting
    )
    await session.commit()
    counts = {"created": 0, "updated": 0, "resolved": 0}
    for alert, action in changed:
        counts[action] += 1
        alerts_service.publish(bus, [alert], action)
    return PostAlertsResult(received=len(body), **counts)
