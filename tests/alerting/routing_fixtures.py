"""Arrange alerts, channels, receivers and trees directly in the database, and run the
dispatcher at chosen instants (no sleeps: the clock is an argument)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.alerting.dispatch.dispatcher import dispatch_tenant
from agentdeck.alerting.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AlertStatus,
    EscalationPolicy,
    InhibitionRule,
    NotificationPolicy,
    Receiver,
    Severity,
    Silence,
)
from agentdeck.identity.models import Tenant
from agentdeck.notify.models import ChannelKind, NotificationChannel, NotificationOutbox

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class World:
    """One tenant's alerting objects, written through short sessions like the app does."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
        self.sessions = sessions
        self.tenant = tenant

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    async def _add(self, row: Any) -> Any:
        async with self.sessions() as session:
            session.add(row)
            await session.commit()
        return row

    async def channel(
        self, name: str | None = None, *, enabled: bool = True
    ) -> NotificationChannel:
        return await self._add(
            NotificationChannel(
                tenant_id=self.tenant_id,
                name=name or f"ch-{uuid.uuid4().hex[:6]}",
                kind=ChannelKind.webhook,
                config={"url": "http://127.0.0.1:9/hook"},
                enabled=enabled,
            )
        )

    async def receiver(self, *channels: NotificationChannel, name: str | None = None) -> Receiver:
        return await self._add(
            Receiver(
                tenant_id=self.tenant_id,
                name=name or f"rcv-{uuid.uuid4().hex[:6]}",
                channel_ids=[str(c.id) for c in channels],
            )
        )

    async def tree(self, tree: dict[str, Any]) -> None:
        async with self.sessions() as session:
            row = await session.get(NotificationPolicy, self.tenant_id)
            if row is None:
                session.add(NotificationPolicy(tenant_id=self.tenant_id, tree=tree))
            else:
                row.tree = tree
                row.revision += 1
            await session.commit()

    async def alert(
        self,
        labels: dict[str, str],
        *,
        starts_at: datetime = T0,
        severity: Severity = Severity.warning,
        rule: AlertRule | None = None,
    ) -> Alert:
        name = labels.get("alertname", rule.name if rule else "TestAlert")
        full = {"alertname": name, **labels}
        digest = hashlib.sha256(repr(sorted(full.items())).encode()).hexdigest()[:32]
        return await self._add(
            Alert(
                tenant_id=self.tenant_id,
                rule_id=rule.id if rule else None,
                rule_name=name,
                fingerprint=digest,
                labels=full,
                annotations={"summary": f"{name} is firing"},
                severity=severity,
                starts_at=starts_at,
                last_seen_at=starts_at,
            )
        )

    async def rule(self, name: str, channel_ids: list[uuid.UUID]) -> AlertRule:
        return await self._add(
            AlertRule(
                tenant_id=self.tenant_id,
                name=name,
                expr="up == 0",
                channel_ids=[str(c) for c in channel_ids],
            )
        )

    async def silence(
        self, matchers: list[dict[str, str]], start: datetime, end: datetime
    ) -> Silence:
        return await self._add(
            Silence(tenant_id=self.tenant_id, matchers=matchers, starts_at=start, ends_at=end)
        )

    async def end_silence(self, silence: Silence, when: datetime) -> None:
        async with self.sessions() as session:
            row = await session.get(Silence, silence.id)
            assert row is not None
            row.ends_at = when
            await session.commit()

    async def inhibition(
        self, source: list[dict[str, str]], target: list[dict[str, str]], equal: list[str]
    ) -> InhibitionRule:
        return await self._add(
            InhibitionRule(
                tenant_id=self.tenant_id,
                name=f"inh-{uuid.uuid4().hex[:6]}",
                source_matchers=source,
                target_matchers=target,
                equal=equal,
            )
        )

    async def escalation(self, levels: list[tuple[float, Receiver]]) -> EscalationPolicy:
        return await self._add(
            EscalationPolicy(
                tenant_id=self.tenant_id,
                name=f"esc-{uuid.uuid4().hex[:6]}",
                levels=[{"after_seconds": s, "receiver_ids": [str(r.id)]} for s, r in levels],
            )
        )

    async def set_status(self, alert: Alert, status: AlertStatus, when: datetime) -> None:
        async with self.sessions() as session:
            row = await session.get(Alert, alert.id)
            assert row is not None
            row.status = status
            if status is AlertStatus.resolved:
                row.resolved_at = when
                row.ends_at = when
            if status is AlertStatus.acknowledged:
                row.acknowledged_at = when
            await session.commit()

    async def tick(self, when: datetime) -> int:
        async with self.sessions() as session:
            sent = await dispatch_tenant(session, tenant_id=self.tenant_id, now=when)
            await session.commit()
        return sent

    async def outbox(self) -> list[NotificationOutbox]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(NotificationOutbox)
                .where(NotificationOutbox.tenant_id == self.tenant_id)
                .order_by(NotificationOutbox.created_at, NotificationOutbox.dedup_key)
            )
            return list(rows)

    async def reload(self, alert: Alert) -> Alert:
        async with self.sessions() as session:
            row = await session.get(Alert, alert.id)
            assert row is not None
            return row

    async def events(self, alert: Alert, kind: str | None = None) -> list[AlertEvent]:
        async with self.sessions() as session:
            stmt = select(AlertEvent).where(AlertEvent.alert_id == alert.id)
            if kind:
                stmt = stmt.where(AlertEvent.kind == kind)
            return list(await session.scalars(stmt.order_by(AlertEvent.at)))


def sent_alerts(row: NotificationOutbox) -> list[tuple[str, str]]:
    """(alertname-ish label 'name' or alertname, status) pairs in a queued payload."""
    return [
        (a["labels"].get("name", a["labels"]["alertname"]), a["status"])
        for a in row.payload["alerts"]
    ]
