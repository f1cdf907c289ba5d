"""The delivery worker: retries with backoff, dead letters and "retry now", rate limits,
claims that keep two workers from sending the same row, and the delivery log API."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.identity.roles import Role
from agentdeck.notify.models import NotificationOutbox, OutboxStatus
from agentdeck.notify.outbox import enqueue
from agentdeck.notify.worker import Deliverer, backoff_seconds
from agentdeck.settings import NotifySettings, Settings
from tests.conftest import Caller, Factory
from tests.notify.support import recording_server, wait_for

URL = "/api/v1/notification-channels"
LOG = "/api/v1/notification-deliveries"


def _app(api: httpx.AsyncClient) -> tuple[async_sessionmaker[AsyncSession], Settings]:
    state = api.app.state.deck  # type: ignore[attr-defined]
    return state.sessions, state.settings


def _message(n: int, status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": f"g{n}",
        "status": status,
        "alerts": [{"status": status, "labels": {"alertname": f"A{n}", "severity": "error"}}],
        "agentdeck": {"event": status, "severity": "error"},
    }


async def _webhook(api: httpx.AsyncClient, admin: Caller, url: str, **extra: Any) -> uuid.UUID:
    r = await api.post(
        URL,
        json={"name": f"hook-{uuid.uuid4().hex[:6]}", "kind": "webhook", "config": {"url": url}}
        | extra,
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def _enqueue(
    sessions: async_sessionmaker[AsyncSession],
    admin: Caller,
    channel_id: uuid.UUID,
    n: int,
    **extra: Any,
) -> None:
    async with sessions() as session:
        for i in range(n):
            status = extra.pop("status", "firing") if i == 0 else "firing"
            assert await enqueue(
                session,
                tenant_id=admin.tenant_id,
                channel_id=channel_id,
                event=status,
                dedup_key=f"k{i}",
                payload=_message(i, status),
                **extra,
            )
        # the same (channel, dedup_key) again is a no-op
        assert not await enqueue(
            session,
            tenant_id=admin.tenant_id,
            channel_id=channel_id,
            event="firing",
            dedup_key="k0",
            payload=_message(0),
        )
        await session.commit()


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[NotificationOutbox]:
    async with sessions() as session:
        return list((await session.scalars(select(NotificationOutbox))).all())


async def _make_due(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await session.execute(
            update(NotificationOutbox)
            .where(NotificationOutbox.status == OutboxStatus.pending)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    config = NotifySettings(backoff_base_seconds=2, backoff_max_seconds=60)
    rng = random.Random(7)
    for attempt, cap in ((1, 2), (2, 4), (3, 8), (6, 60), (20, 60)):
        delays = [backoff_seconds(attempt, config, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8 and min(delays) < cap * 0.2  # spread over the range
    assert backoff_seconds(1, config, rng, retry_after=30) >= 30


async def test_failures_retry_then_deliver_and_every_attempt_is_logged(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    sessions, settings = _app(api)
    with recording_server() as rec:
        rec.statuses = [503, 500]
        cid = await _webhook(api, admin, rec.url)
        await _enqueue(sessions, admin, cid, 1)
        worker = Deliverer(sessions=sessions, settings=settings)
        try:
            assert await worker.run_once() == 1
            (row,) = await _rows(sessions)
            assert row.status is OutboxStatus.pending and row.attempts == 1
            assert row.next_attempt_at > utcnow() - timedelta(seconds=1)
            assert await worker.run_once() == 0  # not due yet
            await _make_due(sessions)
            assert await worker.run_once() == 1
            await _make_due(sessions)
            assert await worker.run_once() == 1
        finally:
            await worker.close()
    (row,) = await _rows(sessions)
    assert row.status is OutboxStatus.delivered and row.attempts == 3
    assert len(rec.requests) == 3
    log = (await api.get(LOG, params={"channel_id": str(cid)}, headers=admin.headers)).json()
    assert [(d["attempt"], d["status"], d["response_code"]) for d in log["items"]] == [
        (3, "success", 200),
        (2, "failure", 500),
        (1, "failure", 503),
    ]
    assert all(d["latency_ms"] is not None for d in log["items"])
    only_failures = await api.get(LOG, params={"status": "failure"}, headers=admin.headers)
    assert [d["attempt"] for d in only_failures.json()["items"]] == [2, 1]
    paged = (await api.get(LOG, params={"limit": 2}, headers=admin.headers)).json()
    rest = await api.get(
        LOG, params={"limit": 2, "cursor": paged["next_cursor"]}, headers=admin.headers
    )
    assert [d["attempt"] for d in rest.json()["items"]] == [1]
    later = await api.get(
        LOG, params={"since": (utcnow() + timedelta(hours=1)).isoformat()}, headers=admin.headers
    )
    assert later.json()["items"] == []
    bad = await api.get(LOG, params={"status": "exploded"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "status"]


async def test_dead_letter_after_max_attempts_then_retry_now(
    api: httpx.AsyncClient, admin: Caller, factory: Factory
) -> None:
    sessions, settings = _app(api)
    with recording_server() as rec:
        rec.default_status = 500
        cid = await _webhook(api, admin, rec.url)
        await _enqueue(sessions, admin, cid, 1, max_attempts=2)
        # no retry window: the attempts alone decide (tests/drills covers the window)
        notify = settings.notify.model_copy(update={"retry_window_seconds": 0})
        worker = Deliverer(
            sessions=sessions, settings=settings.model_copy(update={"notify": notify})
        )
        try:
            await worker.run_once()
            await _make_due(sessions)
            await worker.run_once()
            (row,) = await _rows(sessions)
            assert row.status is OutboxStatus.dead and row.attempts == 2
            assert row.last_error is not None and "HTTP 500" in row.last_error
            await _make_due(sessions)
            assert await worker.run_once() == 0  # dead letters are not retried by themselves
            dead = (await api.get(LOG, params={"status": "dead"}, headers=admin.headers)).json()
            assert [d["outbox_id"] for d in dead["items"]] == [str(row.id)]
            # another tenant cannot retry it; a viewer cannot either
            other = await factory.user(Role.admin)
            r = await api.post(f"{LOG}/{row.id}/retry", headers=other.headers)
            assert r.status_code == 404
            rec.default_status = 200
            r = await api.post(f"{LOG}/{row.id}/retry", headers=admin.headers)
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "pending"
            assert await worker.run_once() == 1
        finally:
            await worker.close()
    (row,) = await _rows(sessions)
    assert row.status is OutboxStatus.delivered
    r = await api.post(f"{LOG}/{row.id}/retry", headers=admin.headers)
    assert r.status_code == 409  # delivered: nothing to retry


async def test_rejections_are_dead_at_once_and_resolved_can_be_skipped(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    sessions, settings = _app(api)
    with recording_server() as rec:
        rec.default_status = 400
        cid = await _webhook(api, admin, rec.url)
        await _enqueue(sessions, admin, cid, 1)
        quiet = await _webhook(api, admin, rec.url, send_resolved=False)
        async with sessions() as session:
            await enqueue(
                session, tenant_id=admin.tenant_id, channel_id=quiet, event="resolved",
                dedup_key="r", payload=_message(9, "resolved"),
            )  # fmt: skip
            await session.commit()
        worker = Deliverer(sessions=sessions, settings=settings)
        try:
            assert await worker.run_once() == 2
        finally:
            await worker.close()
    assert len(rec.requests) == 1  # the resolved one to `quiet` was not sent
    statuses = {r.channel_id: (r.status, r.attempts) for r in await _rows(sessions)}
    assert statuses[cid] == (OutboxStatus.dead, 1)
    assert statuses[quiet] == (OutboxStatus.delivered, 0)
    skipped = (await api.get(LOG, params={"status": "skipped"}, headers=admin.headers)).json()
    assert [d["channel_id"] for d in skipped["items"]] == [str(quiet)]


async def test_rate_limit_defers_without_counting_an_attempt(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    sessions, settings = _app(api)
    with recording_server() as rec:
        # 6 a minute: a burst of one token, then one every 10 s
        cid = await _webhook(api, admin, rec.url, rate_limit_per_minute=6)
        await _enqueue(sessions, admin, cid, 3)
        worker = Deliverer(sessions=sessions, settings=settings)
        try:
            assert await worker.run_once() == 3
            assert await worker.run_once() == 0  # the channel has no token: nothing claimed
        finally:
            await worker.close()
    assert len(rec.requests) == 1
    rows = await _rows(sessions)
    assert sorted((r.status.value, r.attempts) for r in rows) == [
        ("delivered", 1),
        ("pending", 0),
        ("pending", 0),
    ]
    deferred = [r for r in rows if r.status is OutboxStatus.pending]
    assert all(r.next_attempt_at > utcnow() + timedelta(seconds=5) for r in deferred)
    log = (await api.get(LOG, params={"status": "rate_limited"}, headers=admin.headers)).json()
    assert len(log["items"]) == 2


async def test_two_workers_never_send_the_same_row_and_expired_claims_are_taken_over(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    sessions, settings = _app(api)
    with recording_server() as rec:
        cid = await _webhook(api, admin, rec.url, rate_limit_per_minute=1_000_000)
        await _enqueue(sessions, admin, cid, 60)
        a = Deliverer(sessions=sessions, settings=settings)
        b = Deliverer(sessions=sessions, settings=settings)
        try:
            await asyncio.gather(a.drain(), b.drain())
            # a crashed worker's claim: `sending`, locked by a worker that is gone
            async with sessions() as session:
                await enqueue(
                    session, tenant_id=admin.tenant_id, channel_id=cid, event="firing",
                    dedup_key="orphan", payload=_message(99),
                )  # fmt: skip
                await session.execute(
                    update(NotificationOutbox)
                    .where(NotificationOutbox.dedup_key == "orphan")
                    .values(
                        status=OutboxStatus.sending,
                        locked_by="notify:dead-worker",
                        locked_until=utcnow() + timedelta(seconds=30),
                    )
                )
                await session.commit()
            assert await a.run_once() == 0  # still locked
            async with sessions() as session:
                await session.execute(
                    update(NotificationOutbox)
                    .where(NotificationOutbox.dedup_key == "orphan")
                    .values(locked_until=utcnow() - timedelta(seconds=1))
                )
                await session.commit()
            assert await a.run_once() == 1
        finally:
            await a.close()
            await b.close()
    keys = [r.headers["x-agentdeck-dedup-key"] for r in rec.requests]
    assert sorted(keys) == sorted([f"k{i}" for i in range(60)] + ["orphan"])
    assert all(r.status is OutboxStatus.delivered for r in await _rows(sessions))


async def test_the_app_loop_delivers_and_counts_attempts_in_metrics(
    app_factory: Any, admin: Caller
) -> None:
    app = await app_factory(rate_limit={"enabled": False}, notify={"worker_interval_seconds": 0.1})
    sessions, _ = _app(app)
    with recording_server() as rec:
        cid = await _webhook(app, admin, rec.url)
        await _enqueue(sessions, admin, cid, 2)

        async def delivered() -> bool:
            rows = await _rows(sessions)
            return all(r.status is OutboxStatus.delivered for r in rows)

        await wait_for(delivered, seconds=30, what="the delivery loop to deliver")
    assert len(rec.requests) == 2
    text = (await app.get("/metrics")).text
    assert 'agentdeck_notification_attempts_total{kind="webhook",status="success"} 2.0' in text
