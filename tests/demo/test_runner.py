"""The simulator against a real app: samples go through the ingest API and land in the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from agentdeck.demo.runner import DemoSimulator
from agentdeck.demo.simulate import CPU, DURATION, REQUESTS
from agentdeck.server.state import AppState
from agentdeck.tsdb.base import Matcher, MatchOp

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.mark.timeout(180)  # 150 ticks of metrics and of log lines
async def test_backfill_and_live_ticks_reach_the_store_through_the_api(
    app_factory: AppFactory,
) -> None:
    client = await app_factory()
    app = client.app  # type: ignore[attr-defined]
    state: AppState = app.state.deck
    demo = DemoSimulator(
        sessions=state.sessions,
        store=state.store,
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50001)),
        interval_s=0.2,
        backfill_s=30,  # 150 ticks of 0.2 s
        batch_samples=5_000,
    )
    demo.start()
    try:
        await asyncio.wait_for(demo.backfilled.wait(), timeout=120)  # metrics, then logs
        await asyncio.wait_for(demo.ticked.wait(), timeout=10)
    finally:
        await demo.stop()
    assert demo.fleet is not None and demo.posted_samples > 0
    assert demo.posted_log_lines > 0  # each live tick posts the agents' log lines too

    await state.store.flush()
    tenant = demo.fleet.tenant_id
    now = int(time.time() * 1000)
    cpu = await state.store.select(tenant, [Matcher.name_is(CPU)], now - 120_000, now + 5_000)
    assert {s.labels["agent"] for s in cpu} == {a.name for a in demo.fleet.agents}
    assert all(len(s) >= 140 for s in cpu)  # the backfilled 30 s and the live ticks
    assert all(0 < v < 100 for s in cpu for v in s.values)
    first = demo.fleet.agents[0].name
    buckets = await state.store.select(
        tenant,
        [Matcher.name_is(f"{DURATION}_bucket"), Matcher("agent", MatchOp.eq, first)],
        now - 120_000,
        now + 5_000,
    )
    assert {s.labels["le"] for s in buckets} >= {"0.1", "1", "+Inf"}
    requests = await state.store.select(
        tenant, [Matcher.name_is(REQUESTS)], now - 120_000, now + 5_000
    )
    for series in requests:  # counters never go down
        assert list(series.values) == sorted(series.values)

    # The samples came in through the API with the simulator's key: nothing was refused.
    assert demo.posted_samples == sum(
        len(s)
        for s in await state.store.select(
            tenant, [Matcher("agent", MatchOp.re, ".+")], now - 120_000, now + 5_000
        )
    )
