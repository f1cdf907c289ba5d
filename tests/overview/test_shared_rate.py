"""With Redis, ``events_per_second`` counts the ingest of every replica, not only the one that
answers: two app instances on one database and the real Redis."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from agentdeck.identity.roles import Role
from agentdeck.overview.shared_rate import SharedRate
from agentdeck.server.state import AppState
from tests.conftest import REDIS_URL, Factory

URL = "/api/v1/real-time-metrics"
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


def _shared(client: httpx.AsyncClient) -> SharedRate:
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    shared = state.overview.shared
    assert shared is not None, "an app with Redis shares its ingest counts"
    return shared


async def _ingest(client: httpx.AsyncClient, headers: dict[str, str], count: int) -> None:
    samples = [{"name": "agent_up", "value": i, "labels": {"agent": f"a{i}"}} for i in range(count)]
    body = {"samples": samples}
    response = await client.post("/api/v1/metrics/batch", json=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    assert response.json()["accepted"] == count


async def test_the_ingest_rate_counts_every_replica(
    app_factory: AppFactory, factory: Factory, tmp_path: Path
) -> None:
    # each replica with its own metrics store, as separate processes would have
    one, two = [
        await app_factory(redis_url=REDIS_URL, loops={"enabled": False}, data_dir=tmp_path / n)
        for n in ("one", "two")
    ]
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    try:
        await _ingest(one, dev.headers, 3)
        await _ingest(two, dev.headers, 5)
        await _ingest(two, dev.headers, 4)
        # what the once-a-second loop does on each replica (it may also run meanwhile)
        await _shared(two).flush()
        # replica one adds its own counts not flushed yet to what Redis holds
        body = (await one.get(URL, headers=viewer.headers)).json()
        assert body["events_per_second"] == round(12 / 60, 3)
        assert body["trends"]["events_per_second"] == {"previous": 0, "trend": "up"}
        await _shared(one).flush()
        assert not _shared(one).unflushed
        body = (await two.get(URL, headers=viewer.headers)).json()
        assert body["events_per_second"] == round(12 / 60, 3)
    finally:
        redis = Redis.from_url(REDIS_URL)
        keys = [k async for k in redis.scan_iter(match=f"agentdeck:overview:*{tenant.id}*")]
        assert keys, "the counters live in Redis"
        await redis.delete(*keys)
        await redis.aclose()


async def test_a_tenant_without_ingest_reads_zero_and_tenants_do_not_mix(
    app_factory: AppFactory, factory: Factory
) -> None:
    one = await app_factory(redis_url=REDIS_URL, loops={"enabled": False})
    busy = await factory.user(Role.developer)
    quiet = await factory.user(Role.viewer)
    try:
        await _ingest(one, busy.headers, 6)
        await _shared(one).flush()
        body = (await one.get(URL, headers=quiet.headers)).json()
        assert body["events_per_second"] == 0
        body = (await one.get(URL, headers=busy.headers)).json()
        assert body["events_per_second"] == round(6 / 60, 3)
    finally:
        redis = Redis.from_url(REDIS_URL)
        keys = [k async for k in redis.scan_iter(match=f"agentdeck:overview:*{busy.tenant_id}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
