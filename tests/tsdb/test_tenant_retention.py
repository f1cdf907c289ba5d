"""Per-tenant metrics retention: the tenant's ``retention_days`` (null: the server default)
drives both the retention loop (on either store) and ingest's "older than retention" check."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from agentdeck.identity.roles import Role
from agentdeck.identity.service import retention_days_source
from agentdeck.server.state import AppState
from agentdeck.tsdb.base import Matcher, SampleBatch, Store
from agentdeck.tsdb.retention import RetentionLoop
from tests.conftest import Factory
from tests.ingest.ingest_support import now_ms, stored

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW = 1_780_315_200_000  # 2026-06-01 12:00 UTC
AGES = [(40 * DAY, 1.0), (10 * DAY, 2.0), (3 * DAY, 3.0), (1 * DAY + HOUR, 4.0), (MINUTE, 5.0)]
CPU = [Matcher.name_is("cpu")]


async def _values(store: Store, tenant_id: uuid.UUID) -> list[float]:
    found = await store.select(tenant_id, CPU, 0, NOW + DAY)
    return [v for series in found for v in series.values.tolist()]


async def test_the_loop_applies_each_tenants_own_retention_on_both_stores(
    app_factory: AppFactory, factory: Factory, store: Store
) -> None:
    client = await app_factory(loops={"enabled": False}, tsdb={"retention_days": 30})
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    short = (await factory.tenant(retention_days=2)).id
    longer = (await factory.tenant(retention_days=60)).id
    default = (await factory.tenant()).id
    batch = SampleBatch.from_rows(
        ["cpu"] * len(AGES),
        [{"agent": "a1"}] * len(AGES),
        [NOW - age for age, _ in AGES],
        [value for _, value in AGES],
    )
    for tenant_id in (short, longer, default):
        await store.write(tenant_id, batch)

    loop = RetentionLoop(
        retention_days=retention_days_source(state.sessions, state.settings.tsdb.retention_days),
        store=store,
        settings=state.settings,
        clock_ms=lambda: NOW,
    )
    await loop.tick()
    assert await _values(store, short) == [4.0, 5.0]  # 2 days
    assert await _values(store, longer) == [1.0, 2.0, 3.0, 4.0, 5.0]  # 60 days
    assert await _values(store, default) == [2.0, 3.0, 4.0, 5.0]  # the server's 30 days


async def test_the_loop_reads_a_changed_retention_at_the_next_tick(
    app_factory: AppFactory, factory: Factory, duckdb_store: Store
) -> None:
    client = await app_factory(loops={"enabled": False}, tsdb={"retention_days": 30})
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    batch = SampleBatch.from_rows(
        ["cpu"] * len(AGES),
        [{"agent": "a1"}] * len(AGES),
        [NOW - age for age, _ in AGES],
        [value for _, value in AGES],
    )
    await duckdb_store.write(tenant.id, batch)
    loop = RetentionLoop(
        retention_days=retention_days_source(state.sessions, state.settings.tsdb.retention_days),
        store=duckdb_store,
        settings=state.settings,
        clock_ms=lambda: NOW,
    )
    await loop.tick()
    assert await _values(duckdb_store, tenant.id) == [2.0, 3.0, 4.0, 5.0]

    patched = await client.patch(
        "/api/v1/tenant", json={"retention_days": 5}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    await loop.tick()
    assert await _values(duckdb_store, tenant.id) == [3.0, 4.0, 5.0]


async def test_ingest_refuses_samples_older_than_the_tenants_retention(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(tsdb={"retention_days": 30})
    t = now_ms()
    samples = [
        {"name": "m", "value": 1, "timestamp": t - 45 * DAY},
        {"name": "m", "value": 2, "timestamp": t - 20 * DAY},
        {"name": "m", "value": 3, "timestamp": t - 3 * DAY},
        {"name": "m", "value": 4, "timestamp": t - HOUR},
    ]
    expected = {
        2: ([0, 1, 2], [4.0], 2),  # (refused indexes, kept values, days in the message)
        60: ([], [1.0, 2.0, 3.0, 4.0], None),
        None: ([0], [2.0, 3.0, 4.0], 30),  # the server default
    }
    for days, (refused, kept, named) in expected.items():
        tenant = await factory.tenant(retention_days=days)
        key = await factory.api_key(Role.developer, tenant)
        response = await client.post(
            "/api/v1/metrics/batch", json={"samples": samples}, headers=key.headers
        )
        assert response.status_code == 200, response.text
        errors = response.json()["errors"]
        assert [e["index"] for e in errors] == refused
        message = f"timestamp is older than the retention of {named} days"
        assert all(
            e == {"index": i, "field": "timestamp", "message": message}
            for i, e in zip(refused, errors, strict=True)
        )
        [(_, _, points)] = await stored(client, tenant.id)
        assert sorted(v for _, v in points) == kept
