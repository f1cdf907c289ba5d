"""Drill: a webhook receiver is down for a long while, time-compressed.

The real bound (defaults): a failing notification is retried with a full-jitter backoff capped
at 5 s doubling to 15 min, for at least `notify.retry_window_seconds` (1 h) and at least
`notify.max_attempts` (8) attempts, so a receiver that is down for 10 minutes gets it once it
is back. Here the same rules run with a 50 ms backoff, 2 attempts and a 30 s window: the
receiver fails many more times than max_attempts, and the notification is still delivered,
exactly once, when it comes back; past the window it is dead-lettered (and can be retried)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agentdeck.identity.roles import Role
from agentdeck.notify.models import NotificationOutbox, OutboxStatus
from agentdeck.notify.outbox import enqueue
from tests.conftest import Factory
from tests.notify.support import recording_server, wait_for

pytestmark = pytest.mark.timeout(180)
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
DOWN_FOR = 12  # failed attempts while the receiver is down (max_attempts is 2)
FAST = {
    "worker_interval_seconds": 0.05,
    "backoff_base_seconds": 0.02,
    "backoff_max_seconds": 0.05,
    "max_attempts": 2,
}


async def _queue(client: httpx.AsyncClient, factory: Factory, url: str) -> uuid.UUID:
    admin = await factory.user(Role.admin)
    channel = await client.post(
        "/api/v1/notification-channels",
        json={"name": f"hook-{uuid.uuid4().hex[:6]}", "kind": "webhook", "config": {"url": url}},
        headers=admin.headers,
    )
    assert channel.status_code == 201, channel.text
    sessions = client.app.state.deck.sessions  # type: ignore[attr-defined]
    async with sessions() as session:
        assert await enqueue(
            session,
            tenant_id=admin.tenant_id,
            channel_id=uuid.UUID(channel.json()["id"]),
            event="firing",
            dedup_key="drill-webhook-down",
            payload={"status": "firing", "alerts": [{"labels": {"alertname": "Drill"}}]},
        )
        await session.commit()
        row = (await session.scalars(select(NotificationOutbox))).one()
    return row.id


async def _row(client: httpx.AsyncClient, row_id: uuid.UUID) -> NotificationOutbox:
    sessions = client.app.state.deck.sessions  # type: ignore[attr-defined]
    async with sessions() as session:
        return (await session.scalars(select(NotificationOutbox).filter_by(id=row_id))).one()


async def test_a_receiver_down_longer_than_max_attempts_gets_it_once_it_is_back(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(notify={**FAST, "retry_window_seconds": 60})
    with recording_server() as receiver:
        receiver.statuses = [503] * DOWN_FOR  # down (a proxy's 503), then up
        row_id = await _queue(client, factory, receiver.url)

        async def delivered() -> NotificationOutbox | None:
            row = await _row(client, row_id)
            assert row.status is not OutboxStatus.dead, row.last_error
            return row if row.status is OutboxStatus.delivered else None

        row = await wait_for(delivered, seconds=60, what="delivery after the outage")
        assert row.attempts == DOWN_FOR + 1
        assert len(receiver.requests) == DOWN_FOR + 1  # every retry went out; one success


async def test_past_the_retry_window_it_is_dead_lettered(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(notify={**FAST, "retry_window_seconds": 0.5})
    with recording_server() as receiver:
        receiver.default_status = 503  # never comes back
        row_id = await _queue(client, factory, receiver.url)

        async def dead() -> NotificationOutbox | None:
            row = await _row(client, row_id)
            return row if row.status is OutboxStatus.dead else None

        row = await wait_for(dead, seconds=60, what="the dead letter")
        assert row.attempts >= FAST["max_attempts"]
        assert row.last_error is not None and "503" in row.last_error
