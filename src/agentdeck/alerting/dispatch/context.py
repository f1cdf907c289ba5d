"""What one tenant's dispatch round works with: its receivers, channels and escalation
policies, the clock, and the events and outbox rows the round writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.dispatch.models import AlertDispatch, NotificationGroup
from agentdeck.alerting.dispatch.payload import decision
from agentdeck.alerting.models import Alert, AlertStatus, EscalationPolicy, Receiver
from agentdeck.identity.models import Tenant
from agentdeck.notify.models import NotificationChannel
from agentdeck.notify.outbox import enqueue


@dataclass
class TenantContext:
    """What one tenant's dispatch needs besides the alerts."""

    tenant_id: uuid.UUID
    slug: str
    now: datetime
    external_url: str
    receivers: dict[str, Receiver]
    channels: dict[str, bool]  # channel id -> enabled
    policies: dict[str, EscalationPolicy]
    enqueued: int = 0
    events: list[Any] = field(default_factory=list)

    def channels_of(self, receiver_ids: list[Any]) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        for rid in receiver_ids:
            receiver = self.receivers.get(str(rid))
            for cid in receiver.channel_ids if receiver else []:
                if self.channels.get(str(cid)) and uuid.UUID(str(cid)) not in out:
                    out.append(uuid.UUID(str(cid)))
        return out

    def live_channels(self, ids: list[Any]) -> list[uuid.UUID]:
        return [uuid.UUID(str(c)) for c in dict.fromkeys(map(str, ids)) if self.channels.get(c)]

    async def queue(
        self,
        session: AsyncSession,
        alerts: Sequence[Alert],
        *,
        channels: list[uuid.UUID],
        event: str,
        dedup_key: str,
        payload: dict[str, Any],
        group_key: str,
        what: str,
    ) -> None:
        """Put one notification on each channel's outbox (a dedup key already queued adds
        nothing) and record an ``enqueued`` decision, saying ``what`` was queued, per alert."""
        for channel_id in channels:
            if await enqueue(
                session,
                tenant_id=self.tenant_id,
                channel_id=channel_id,
                event=event,
                dedup_key=dedup_key,
                payload=payload,
                alert_id=alerts[0].id,
                group_key=group_key,
            ):
                self.enqueued += 1
        for alert in alerts:
            self.events.append(
                decision(
                    alert,
                    at=self.now,
                    step="enqueued",
                    message=f"{what} queued on {len(channels)} channel(s), dedup key {dedup_key}",
                    event=event,
                    channel_ids=[str(c) for c in channels],
                    dedup_key=dedup_key,
                    group_key=group_key,
                )
            )


async def tenants_with_work(session: AsyncSession) -> list[uuid.UUID]:
    stmt = union(
        select(Alert.tenant_id).where(Alert.status != AlertStatus.resolved),
        select(AlertDispatch.tenant_id).where(AlertDispatch.done.is_(False)),
        select(NotificationGroup.tenant_id),
    )
    return list((await session.scalars(stmt)).all())


async def load_context(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime, external_url: str
) -> TenantContext:
    slug = await session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id)) or ""
    receivers = (
        await session.scalars(select(Receiver).where(Receiver.tenant_id == tenant_id))
    ).all()
    channels = await session.execute(
        select(NotificationChannel.id, NotificationChannel.enabled).where(
            NotificationChannel.tenant_id == tenant_id
        )
    )
    policies = (
        await session.scalars(
            select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant_id)
        )
    ).all()
    return TenantContext(
        tenant_id=tenant_id,
        slug=slug,
        now=now,
        external_url=external_url,
        receivers={str(r.id): r for r in receivers},
        channels={str(cid): bool(enabled) for cid, enabled in channels},
        policies={str(p.id): p for p in policies},
    )
