"""Queueing a notification is durable and idempotent per (channel, dedup key)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.notify.models import ChannelKind, NotificationChannel, NotificationOutbox
from agentdeck.notify.outbox import enqueue
from tests.conftest import Factory


async def test_enqueue_is_a_no_op_the_second_time_for_the_same_dedup_key(
    session: AsyncSession, factory: Factory
) -> None:
    tenant = await factory.tenant()
    channels = [
        NotificationChannel(tenant_id=tenant.id, name=f"hook-{i}", kind=ChannelKind.webhook)
        for i in range(2)
    ]
    session.add_all(channels)
    await session.commit()
    payload = {"version": "4", "status": "firing", "alerts": []}

    first = await enqueue(
        session,
        tenant_id=tenant.id,
        channel_id=channels[0].id,
        event="firing",
        dedup_key="group-a:firing:1",
        payload=payload,
    )
    again = await enqueue(
        session,
        tenant_id=tenant.id,
        channel_id=channels[0].id,
        event="firing",
        dedup_key="group-a:firing:1",
        payload=payload,
    )
    other_channel = await enqueue(
        session,
        tenant_id=tenant.id,
        channel_id=channels[1].id,
        event="firing",
        dedup_key="group-a:firing:1",
        payload=payload,
    )
    await session.commit()

    assert (first, again, other_channel) == (True, False, True)
    rows = (await session.scalars(select(NotificationOutbox))).all()
    assert sorted(str(r.channel_id) for r in rows) == sorted(str(c.id) for c in channels)
    assert all(r.status == "pending" and r.attempts == 0 for r in rows)
    assert rows[0].payload == payload


async def test_an_uncommitted_enqueue_is_lost_with_its_transaction(
    session: AsyncSession, factory: Factory
) -> None:
    tenant = await factory.tenant()
    channel = NotificationChannel(tenant_id=tenant.id, name="hook", kind=ChannelKind.webhook)
    session.add(channel)
    await session.commit()
    await enqueue(
        session,
        tenant_id=tenant.id,
        channel_id=channel.id,
        event="firing",
        dedup_key="k",
        payload={},
    )
    await session.rollback()
    count = await session.scalar(select(func.count()).select_from(NotificationOutbox))
    assert count == 0
