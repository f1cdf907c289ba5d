"""The durable outbox: notifications decided and not yet delivered.

``enqueue`` is called by whoever decides to notify (the dispatcher, the "send test" action),
inside the transaction that records the decision, so the decision and the notification commit
together. The delivery worker (:mod:`agentdeck.notify.worker`) claims and sends them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.db.base import utcnow
from agentdeck.notify.models import NotificationOutbox, OutboxStatus


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    channel_id: uuid.UUID,
    event: str,
    dedup_key: str,
    payload: dict[str, Any],
    alert_id: uuid.UUID | None = None,
    group_key: str | None = None,
    max_attempts: int | None = None,
) -> bool:
    """Add a pending outbox row in the caller's transaction; the caller commits.

    A second call with the same ``(channel_id, dedup_key)`` is a no-op returning False.
    """
    exists = await session.scalar(
        select(NotificationOutbox.id).where(
            NotificationOutbox.channel_id == channel_id, NotificationOutbox.dedup_key == dedup_key
        )
    )
    if exists is not None:
        return False
    row = NotificationOutbox(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        channel_id=channel_id,
        alert_id=alert_id,
        group_key=group_key,
        dedup_key=dedup_key,
        event=event,
        payload=payload,
        status=OutboxStatus.pending,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    if max_attempts is not None:
        row.max_attempts = max_attempts
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent enqueue of the same key won
        return False
    return True
