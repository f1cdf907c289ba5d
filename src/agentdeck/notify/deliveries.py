"""The delivery log (one row per attempt), "retry now" for dead letters, and "send test"."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.audit.service import record
from agentdeck.crud import require_time_cursor
from agentdeck.db.base import utcnow
from agentdeck.errors import Conflict, invalid, not_found
from agentdeck.identity.models import Tenant
from agentdeck.identity.principal import Principal
from agentdeck.notify.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationOutbox,
    OutboxStatus,
)
from agentdeck.notify.outbox import enqueue
from agentdeck.notify.schemas import DeliveryPublic, RetryResult, TestResult
from agentdeck.notify.service import get_channel
from agentdeck.pagination import fetch_row_page
from agentdeck.settings import Settings

DELIVERY_STATUSES = ("success", "failure", "dead", "rate_limited", "skipped")


def public(
    delivery: NotificationDelivery,
    outbox: NotificationOutbox | None = None,
    *,
    admin: bool = False,
) -> DeliveryPublic:
    """One attempt; ``error_detail`` (the cause, with at most a short excerpt of the
    service's answer) only for admins."""
    return DeliveryPublic(
        id=delivery.id,
        outbox_id=delivery.outbox_id,
        channel_id=delivery.channel_id,
        alert_id=delivery.alert_id,
        attempt=delivery.attempt,
        status=delivery.status,
        response_code=delivery.response_code,
        error=delivery.error,
        error_detail=delivery.error_detail if admin else None,
        latency_ms=delivery.latency_ms,
        at=delivery.at,
        event=outbox.event if outbox else None,
        dedup_key=outbox.dedup_key if outbox else None,
        outbox_status=outbox.status if outbox else None,
    )


async def list_deliveries(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    channel_id: uuid.UUID | None = None,
    alert_id: uuid.UUID | None = None,
    outbox_id: uuid.UUID | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
    admin: bool = False,
) -> tuple[list[DeliveryPublic], str | None]:
    """One page of the tenant's delivery attempts, newest first."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise invalid(
            "validation-error",
            ["query", "status"],
            f"status must be one of {', '.join(DELIVERY_STATUSES)}",
        )
    if since is not None and until is not None and since > until:
        raise invalid("validation-error", ["query", "since"], "since is after until")
    stmt: Any = (
        select(NotificationDelivery, NotificationOutbox)
        .join(NotificationOutbox, NotificationOutbox.id == NotificationDelivery.outbox_id)
        .where(NotificationDelivery.tenant_id == tenant_id)
    )
    if channel_id is not None:
        stmt = stmt.where(NotificationDelivery.channel_id == channel_id)
    if alert_id is not None:
        stmt = stmt.where(NotificationDelivery.alert_id == alert_id)
    if outbox_id is not None:
        stmt = stmt.where(NotificationDelivery.outbox_id == outbox_id)
    if status is not None:
        stmt = stmt.where(NotificationDelivery.status == status)
    if since is not None:
        stmt = stmt.where(NotificationDelivery.at >= since)
    if until is not None:
        stmt = stmt.where(NotificationDelivery.at < until)
    require_time_cursor(cursor)
    rows, next_cursor = await fetch_row_page(
        session,
        stmt,
        order=(NotificationDelivery.at, NotificationDelivery.id),
        cursor=cursor,
        limit=limit,
    )
    return [public(delivery, outbox, admin=admin) for delivery, outbox in rows], next_cursor


async def retry_now(
    session: AsyncSession, *, actor: Principal, outbox_id: uuid.UUID
) -> RetryResult:
    """Put a dead letter (or a pending retry) back in the queue, due now, with fresh attempts."""
    row = await session.scalar(
        select(NotificationOutbox).where(
            NotificationOutbox.id == outbox_id, NotificationOutbox.tenant_id == actor.tenant_id
        )
    )
    if row is None:
        raise not_found("notification", outbox_id)
    if row.status not in (OutboxStatus.dead, OutboxStatus.pending):
        raise Conflict(
            f"this notification is {row.status.value}; only dead or pending notifications "
            "can be retried"
        )
    now = utcnow()
    before = {"status": row.status, "attempts": row.attempts}
    await session.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.id == row.id)
        .values(status=OutboxStatus.pending, attempts=0, next_attempt_at=now, locked_until=None)
    )
    await record(
        session,
        actor=actor,
        action="notification.retry",
        resource_type="notification",
        resource_id=row.id,
        before=before,
        after={"status": OutboxStatus.pending, "attempts": 0},
    )
    return RetryResult(outbox_id=row.id, status=OutboxStatus.pending, next_attempt_at=now)


def test_message(channel: NotificationChannel, tenant_slug: str, now: datetime) -> dict[str, Any]:
    """The channel-neutral test notification (Alertmanager webhook v4 shaped)."""
    labels = {"alertname": "AgentdeckTest", "severity": "info", "channel": channel.name}
    return {
        "version": "4",
        "groupKey": f"test:{channel.id}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": channel.name,
        "groupLabels": {"alertname": "AgentdeckTest"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "A test notification from agentdeck"},
        "externalURL": "",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "A test notification from agentdeck"},
                "startsAt": now.isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": "0" * 32,
            }
        ],
        "agentdeck": {
            "event": "test",
            "alert_ids": [],
            "severity": "info",
            "escalation_level": 0,
            "tenant": tenant_slug,
            "url": None,
        },
    }


async def send_test(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: Principal,
    channel_id: uuid.UUID,
    settings: Settings,
) -> TestResult:
    """Enqueue a test notification, deliver it at once through the worker's path, report."""
    from agentdeck.notify.worker import Deliverer

    async with sessions() as session:
        channel = await get_channel(session, tenant_id=actor.tenant_id, channel_id=channel_id)
        slug = await session.scalar(select(Tenant.slug).where(Tenant.id == actor.tenant_id))
        now = utcnow()
        dedup_key = f"test:{uuid.uuid4().hex}"
        await enqueue(
            session,
            tenant_id=actor.tenant_id,
            channel_id=channel.id,
            event="test",
            dedup_key=dedup_key,
            payload=test_message(channel, slug or "", now),
            max_attempts=1,
        )
        outbox_id = await session.scalar(
            select(NotificationOutbox.id).where(
                NotificationOutbox.channel_id == channel.id,
                NotificationOutbox.dedup_key == dedup_key,
            )
        )
        await record(
            session,
            actor=actor,
            action="notification_channel.test",
            resource_type="notification_channel",
            resource_id=channel.id,
        )
        await session.commit()
    assert outbox_id is not None
    deliverer = Deliverer(sessions=sessions, settings=settings)
    try:
        # a disabled channel is still tested: claim it regardless of `enabled`
        outcomes = await deliverer.deliver(
            await deliverer.claim(only=[outbox_id], any_channel=True), limited=False
        )
    finally:
        await deliverer.close()
    ok = bool(outcomes) and outcomes[0].status == "success"
    async with sessions() as session:
        await session.execute(
            update(NotificationChannel)
            .where(NotificationChannel.id == channel_id)
            .values(last_test_at=utcnow(), last_test_ok=ok)
        )
        await session.commit()
        delivery = None
        if outcomes and outcomes[0].delivery_id is not None:
            found = await session.get(NotificationDelivery, outcomes[0].delivery_id)
            outbox = await session.get(NotificationOutbox, outbox_id)
            if found is not None:
                delivery = public(found, outbox, admin=True)  # tests are for admins
    return TestResult(ok=ok, delivery=delivery)
