"""Each channel is delivered on its own: an endpoint that hangs until the timeout delays only its
own notifications, holds a bounded number of connections, and a stop with its send in flight
puts the notification back in the queue for the next worker.

The delivery loop runs as in the server (a ``LoopRunner`` with the ``DeliveryLoop``) against a
real HTTP server on 127.0.0.1 with a hanging and a healthy endpoint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.loops.runner import LoopRunner
from agentdeck.notify.models import NotificationDelivery, NotificationOutbox, OutboxStatus
from agentdeck.notify.outbox import enqueue
from agentdeck.notify.worker import Deliverer, DeliveryLoop, DeliveryMetrics
from agentdeck.settings import Settings
from tests.conftest import Caller
from tests.notify.support import split_server, wait_for

URL = "/api/v1/notification-channels"
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


async def _app(app_factory: AppFactory, **notify: Any) -> httpx.AsyncClient:
    return await app_factory(
        loops={"enabled": False},
        rate_limit={"enabled": False},
        notify={"timeout_seconds": 10, "claim_seconds": 60, **notify},
    )


def _state(api: httpx.AsyncClient) -> tuple[async_sessionmaker[AsyncSession], Settings]:
    state = api.app.state.deck  # type: ignore[attr-defined]
    return state.sessions, state.settings


async def _channel(api: httpx.AsyncClient, admin: Caller, url: str) -> uuid.UUID:
    r = await api.post(
        URL,
        json={
            "name": f"hook-{uuid.uuid4().hex[:6]}",
            "kind": "webhook",
            "config": {"url": url},
            "rate_limit_per_minute": 100_000,
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def _enqueue(
    sessions: async_sessionmaker[AsyncSession], admin: Caller, channel_id: uuid.UUID, *keys: str
) -> None:
    async with sessions() as session:
        for key in keys:
            assert await enqueue(
                session,
                tenant_id=admin.tenant_id,
                channel_id=channel_id,
                event="firing",
                dedup_key=key,
                payload={"version": "4", "status": "firing", "alerts": []},
            )
        await session.commit()


async def _rows(
    sessions: async_sessionmaker[AsyncSession], channel_id: uuid.UUID
) -> list[NotificationOutbox]:
    async with sessions() as session:
        found = await session.scalars(
            select(NotificationOutbox).where(NotificationOutbox.channel_id == channel_id)
        )
        return list(found.all())


@asynccontextmanager
async def _running(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, registry: CollectorRegistry
) -> AsyncIterator[tuple[LoopRunner, DeliveryLoop]]:
    """The delivery loop under a runner, as the server runs it; stopped on exit."""
    loop = DeliveryLoop(sessions=sessions, settings=settings, registry=registry)
    runner = LoopRunner([loop], sessions=sessions, registry=registry)
    runner.start()
    try:
        yield runner, loop
    finally:
        await runner.stop()


async def test_a_hanging_endpoint_does_not_delay_another_channel(
    app_factory: AppFactory, admin: Caller
) -> None:
    api = await _app(app_factory, shutdown_grace_seconds=0.2)
    sessions, settings = _state(api)
    with split_server() as server:
        stuck = await _channel(api, admin, server.url + "/hang")
        healthy = await _channel(api, admin, server.url + "/ok")
        async with _running(sessions, settings, CollectorRegistry()) as (_, loop):
            await _enqueue(sessions, admin, stuck, "stuck-1")
            loop.wake()  # as the dispatcher does after queueing
            await server.wait(lambda: server.held == 1, seconds=15, what="the hanging send")

            await _enqueue(sessions, admin, healthy, "healthy-1")
            queued = time.monotonic()
            loop.wake()
            await server.wait(
                lambda: "healthy-1" in server.answered, seconds=5, what="the healthy channel"
            )
            latency = server.answered["healthy-1"][0] - queued
            assert latency < 1.0, f"the healthy channel's notification took {latency:.2f} s"
            assert server.held == 1  # the stuck send is still hanging meanwhile


async def test_a_hanging_channel_holds_only_its_lane(
    app_factory: AppFactory, admin: Caller
) -> None:
    api = await _app(app_factory, channel_concurrency=2, shutdown_grace_seconds=0.2)
    sessions, settings = _state(api)
    with split_server() as server:
        stuck = await _channel(api, admin, server.url + "/hang")
        healthy = await _channel(api, admin, server.url + "/ok")
        await _enqueue(sessions, admin, stuck, *(f"stuck-{n}" for n in range(30)))
        async with _running(sessions, settings, CollectorRegistry()) as (_, loop):
            await server.wait(lambda: server.held >= 2, seconds=15, what="two hanging sends")
            # later rounds run (the healthy one is sent) while the stuck channel stays at two
            await _enqueue(sessions, admin, healthy, "healthy-1")
            loop.wake()
            await server.wait(
                lambda: "healthy-1" in server.answered, seconds=5, what="the healthy channel"
            )
            assert server.most_held == 2
            assert len(server.hang_connections) == 2
            rows = await _rows(sessions, stuck)
            claimed = [r for r in rows if r.status is OutboxStatus.sending]
            # a lane claims no more than it can start before the claims end: with 2 in flight
            # and a 10 s timeout, at most 2 x 60 s / 10 s of the 30 rows of a 60 s claim
            assert 2 <= len(claimed) <= 12
            assert sum(r.status is OutboxStatus.pending for r in rows) == 30 - len(claimed)
            assert all(r.attempts == 0 for r in rows)


async def test_stop_puts_a_hanging_send_back_and_the_next_worker_sends_it(
    app_factory: AppFactory, admin: Caller
) -> None:
    api = await _app(app_factory, shutdown_grace_seconds=0.3)
    sessions, settings = _state(api)
    registry = CollectorRegistry()
    with split_server() as server:
        stuck = await _channel(api, admin, server.url + "/hang")
        await _enqueue(sessions, admin, stuck, "stuck-1")
        async with _running(sessions, settings, registry):
            await server.wait(lambda: server.held == 1, seconds=15, what="the hanging send")
        # stopped with the send in flight: back in the queue, due now, no attempt counted
        (row,) = await _rows(sessions, stuck)
        assert row.status is OutboxStatus.pending
        assert (row.attempts, row.locked_by, row.locked_until) == (0, None, None)
        assert row.next_attempt_at <= utcnow()
        released = registry.get_sample_value(
            "agentdeck_notification_released_total", {"reason": "shutdown"}
        )
        assert released == 1.0

        server.hanging = False  # the endpoint recovered; a restarted worker sends it at once
        async with _running(sessions, settings, CollectorRegistry()):
            await server.wait(
                lambda: "stuck-1" in server.answered, seconds=10, what="the retried send"
            )

            async def delivered() -> bool:
                (row,) = await _rows(sessions, stuck)
                return row.status is OutboxStatus.delivered

            await wait_for(delivered, seconds=10, what="the row marked delivered")
    async with sessions() as db:
        log = (await db.scalars(select(NotificationDelivery))).all()
    assert [(d.attempt, d.status) for d in log] == [(1, "success")]


async def test_a_row_whose_claim_would_end_mid_send_is_put_back_unsent(
    app_factory: AppFactory, admin: Caller
) -> None:
    # one send at a time in all, a 2 s timeout and a 3 s claim. The worker's own claims never
    # hold more rows than can start in time; rows claimed by id (as "send test" does) are not
    # held back, so here the second waits for the first's timeout and then has 1 s of its claim
    # left: too little to be sent without risking a second sender once the claim expires.
    api = await _app(app_factory, concurrency=1, timeout_seconds=2, claim_seconds=3)
    sessions, settings = _state(api)
    registry = CollectorRegistry()
    with split_server() as server:
        first = await _channel(api, admin, server.url + "/hang")
        second = await _channel(api, admin, server.url + "/hang")
        await _enqueue(sessions, admin, first, "a")
        await _enqueue(sessions, admin, second, "b")
        worker = Deliverer(sessions=sessions, settings=settings, metrics=DeliveryMetrics(registry))
        try:
            async with sessions() as db:
                ids = list((await db.scalars(select(NotificationOutbox.id))).all())
            assert len(await worker.deliver(await worker.claim(only=ids))) == 2
        finally:
            await worker.close()
        assert (server.most_held, len(server.hang_connections)) == (1, 1)
    rows = await _rows(sessions, first) + await _rows(sessions, second)
    assert all(r.status is OutboxStatus.pending and r.locked_by is None for r in rows)
    tried, put_back = sorted(rows, key=lambda r: -r.attempts)
    assert (tried.attempts, put_back.attempts) == (1, 0)
    assert put_back.next_attempt_at <= utcnow() and put_back.last_error is None
    async with sessions() as db:
        log = (await db.scalars(select(NotificationDelivery))).all()
    assert [(d.outbox_id, d.attempt, d.status) for d in log] == [(tried.id, 1, "failure")]
    sample = registry.get_sample_value
    assert sample("agentdeck_notification_released_total", {"reason": "claim_expiring"}) == 1.0
    assert (
        sample("agentdeck_notification_attempts_total", {"kind": "webhook", "status": "failure"})
        == 1.0
    )
