"""The durable outbox: notifications are written in the deciding transaction, sent later.

:func:`enqueue` is the one way in. It is idempotent per (channel, dedup key), so a decision that
is replayed after a crash never queues a second copy.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.db.base import utcnow
from agentdeck.notify.models import NotificationOutbox, OutboxStatus

DEFAULT_MAX_ATTEMPTS = 8


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
    """Queue one notification in the caller's transaction; False when it was already queued.

    The caller commits. ``dedup_key`` must be deterministic for the decision it stands for
    (for example group key + event + the time slot of the group's flush).
    """
    if len(dedup_key) > 255:
        raise ValueError("dedup_key is longer than 255 characters")
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "alert_id": alert_id,
        "group_key": group_key,
        "dedup_key": dedup_key,
        "event": event,
        "payload": payload,
        "status": OutboxStatus.pending,
        "attempts": 0,
        "max_attempts": max_attempts or DEFAULT_MAX_ATTEMPTS,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_(NotificationOutbox)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel_id", "dedup_key"])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0) == 1)
