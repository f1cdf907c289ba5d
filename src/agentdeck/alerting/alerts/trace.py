"""An alert's trace: why each notification was or was not sent (``trace_router`` serves it).

The dispatcher's ``decision`` events (route, group, silenced, inhibited, enqueued, ...) in
order, each ``enqueued`` step followed by what the delivery log says about it (delivered,
failed, rate limited, dead).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import Alert, AlertEvent
from agentdeck.errors import not_found
from agentdeck.notify.models import NotificationChannel, NotificationDelivery, NotificationOutbox

MAX_STEPS = 2000


class TraceStep(BaseModel):
    at: datetime
    step: str
    message: str
    data: dict[str, Any]


class AlertTrace(BaseModel):
    alert_id: uuid.UUID
    steps: list[TraceStep]
    truncated: bool


_DELIVERY_STEP = {
    "success": "delivered",
    "failure": "failed",
    "dead": "dead",
    "rate_limited": "rate-limited",
}


async def alert_trace(
    session: AsyncSession, *, tenant_id: uuid.UUID, alert_id: uuid.UUID, limit: int = MAX_STEPS
) -> AlertTrace:
    alert = await session.scalar(
        select(Alert.id).where(Alert.tenant_id == tenant_id, Alert.id == alert_id)
    )
    if alert is None:
        raise not_found("alert", alert_id)
    events = (
        await session.scalars(
            select(AlertEvent)
            .where(
                AlertEvent.tenant_id == tenant_id,
                AlertEvent.alert_id == alert_id,
                AlertEvent.kind == "decision",
            )
            .order_by(AlertEvent.at, AlertEvent.id)
            .limit(limit + 1)
        )
    ).all()
    truncated = len(events) > limit
    events = sorted(events[:limit], key=lambda e: (e.at, int(e.data.get("seq", 0))))
    steps: list[TraceStep] = []
    names = {
        str(cid): name
        for cid, name in await session.execute(
            select(NotificationChannel.id, NotificationChannel.name).where(
                NotificationChannel.tenant_id == tenant_id
            )
        )
    }
    for event in events:
        data = dict(event.data)
        data.pop("seq", None)
        steps.append(
            TraceStep(
                at=event.at,
                step=str(data.pop("step", "decision")),
                message=event.message,
                data=data,
            )
        )
        if data.get("dedup_key") and data.get("channel_ids"):
            steps.extend(
                await _deliveries(session, tenant_id, data["dedup_key"], data["channel_ids"], names)
            )
    steps.sort(key=lambda s: s.at)
    return AlertTrace(alert_id=alert_id, steps=steps, truncated=truncated)


async def _deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    dedup_key: str,
    channel_ids: list[str],
    names: dict[str, str],
) -> list[TraceStep]:
    rows = await session.execute(
        select(NotificationOutbox, NotificationDelivery)
        .join(NotificationDelivery, NotificationDelivery.outbox_id == NotificationOutbox.id)
        .where(
            NotificationOutbox.tenant_id == tenant_id,
            NotificationOutbox.dedup_key == dedup_key,
            NotificationOutbox.channel_id.in_([uuid.UUID(c) for c in channel_ids]),
        )
        .order_by(NotificationDelivery.at)
    )
    out = []
    for outbox, delivery in rows:
        channel = names.get(str(outbox.channel_id), str(outbox.channel_id))
        step = _DELIVERY_STEP.get(delivery.status, delivery.status)
        detail = (
            f"HTTP {delivery.response_code}" if delivery.response_code else delivery.error or ""
        )
        out.append(
            TraceStep(
                at=delivery.at,
                step=step,
                message=f"{step} on channel {channel} (attempt {delivery.attempt})"
                + (f": {detail}" if detail else ""),
                data={
                    "channel_id": str(outbox.channel_id),
                    "dedup_key": dedup_key,
                    "attempt": delivery.attempt,
                    "response_code": delivery.response_code,
                    "error": delivery.error,
                    "latency_ms": delivery.latency_ms,
                },
            )
        )
    return out
