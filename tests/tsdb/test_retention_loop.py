"""The retention loop on DuckDB: rollups of whole hours older than the lag, then deletion of
everything older than the retention, for every tenant in the state database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx

from agentdeck.identity.service import retention_days_source
from agentdeck.server.state import AppState
from agentdeck.tsdb.base import Matcher, SampleBatch
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.retention import RetentionLoop
from tests.conftest import Factory

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW = int(datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)
# (age, value): two samples past a 30-day retention, the rest within it
AGES = [(40 * DAY, 1.0), (31 * DAY, 2.0), (29 * DAY, 3.0), (2 * HOUR, 4.0), (10 * MINUTE, 5.0)]


async def _app(factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]) -> AppState:
    client = await factory(loops={"enabled": False})
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    return state


async def _write(state: AppState, tenant_id: uuid.UUID) -> None:
    batch = SampleBatch.from_rows(
        ["cpu"] * len(AGES),
        [{"agent": "a1"}] * len(AGES),
        [NOW - age for age, _ in AGES],
        [value for _, value in AGES],
    )
    await state.store.write(tenant_id, batch)


async def test_rollup_then_delete_before_retention_for_every_tenant(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]], factory: Factory
) -> None:
    state = await _app(app_factory)
    store = state.store
    assert isinstance(store, DuckDBStore)
    tenants = [(await factory.tenant()).id, (await factory.tenant()).id]
    for tenant_id in tenants:
        await _write(state, tenant_id)

    loop = RetentionLoop(
        retention_days=retention_days_source(state.sessions, state.settings.tsdb.retention_days),
        store=store,
        settings=state.settings,
        clock_ms=lambda: NOW,
    )
    assert loop.lease and loop.interval == 3600
    await loop.tick()

    cpu = [Matcher.name_is("cpu")]
    for tenant_id in tenants:
        (series,) = await store.select(tenant_id, cpu, 0, NOW + DAY)
        assert series.timestamps.tolist() == [NOW - 29 * DAY, NOW - 2 * HOUR, NOW - 10 * MINUTE]
        assert series.values.tolist() == [3.0, 4.0, 5.0]
        # whole hours before now - 1 h (the lag) are rolled up; the last 10 minutes are not
        ((_, buckets, rows),) = await store.rollups(tenant_id, "1h", cpu)
        assert buckets.tolist() == [NOW - 29 * DAY, NOW - 2 * HOUR]
        assert rows.tolist() == [[3.0, 3.0, 3.0, 1.0], [4.0, 4.0, 4.0, 1.0]]
        ((_, minutes, _),) = await store.rollups(tenant_id, "1m", cpu)
        assert minutes.tolist() == [NOW - 29 * DAY, NOW - 2 * HOUR]

    # a day and an hour later the 29-day-old sample and its rollups have aged out too
    later = RetentionLoop(
        retention_days=retention_days_source(state.sessions, state.settings.tsdb.retention_days),
        store=store,
        settings=state.settings,
        clock_ms=lambda: NOW + DAY + HOUR,
    )
    await later.tick()
    (series,) = await store.select(tenants[0], cpu, 0, NOW + DAY)
    assert series.values.tolist() == [4.0, 5.0]
    ((_, buckets, _),) = await store.rollups(tenants[0], "1h", cpu)
    assert buckets.tolist() == [NOW - 2 * HOUR, NOW - HOUR]  # the last hour is rolled up now


async def test_retention_follows_the_setting(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]], factory: Factory
) -> None:
    client = await app_factory(loops={"enabled": False}, tsdb={"retention_days": 2})
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    tenant_id = (await factory.tenant()).id
    await _write(state, tenant_id)
    loop = RetentionLoop(
        retention_days=retention_days_source(state.sessions, state.settings.tsdb.retention_days),
        store=state.store,
        settings=state.settings,
        clock_ms=lambda: NOW,
    )
    await loop.tick()
    (series,) = await state.store.select(tenant_id, [Matcher.name_is("cpu")], 0, NOW)
    assert series.values.tolist() == [4.0, 5.0]


async def test_the_app_runs_the_retention_loop(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> None:
    client = await app_factory(loops={"retention_interval_seconds": 0.05})
    deadline = time.monotonic() + 20
    needle = 'agentdeck_loop_ticks_total{loop="retention",outcome="success"}'
    while True:
        text = (await client.get("/metrics")).text
        lines = [line for line in text.splitlines() if needle in line]
        if lines and float(lines[0].split()[-1]) >= 2:
            break
        assert time.monotonic() < deadline, "the retention loop did not tick"
        await asyncio.sleep(0.02)
