"""The stream loops as the server runs them: a full buffer wakes the flush loop, whose write
wakes the leased batch loop (no interval waited); and lines flushed by two replicas' buffers
are cut into one batch by the lease holder."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from agentdeck.logintel.streams.buffers import StreamBuffers
from agentdeck.logintel.streams.loops import LogBatchLoop, StreamFlushLoop
from agentdeck.logstore.base import LogColumns, Severity
from agentdeck.loops.runner import LoopRunner
from tests.conftest import Factory
from tests.logintel.conftest import app_state, create_stream
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def spike(n: int) -> list[dict[str, Any]]:
    return [
        entry(f"job {i} crashed", severity="ERROR") if i % 2 else entry(f"job {i} ok")
        for i in range(n)
    ]


async def test_a_full_buffer_wakes_the_loops_through_to_the_alert(deck: Deck) -> None:
    state = app_state(deck)
    assert state.log_streams is not None and state.log_batcher is not None
    processed = asyncio.Event()
    # long intervals: only the wake-ups can make the loops tick within the test
    batches = LogBatchLoop(batcher=state.log_batcher, interval=600)
    flush = StreamFlushLoop(
        buffers=state.log_streams, sessions=state.sessions, interval=600, after_flush=batches.wake
    )
    flush.initial_delay = None
    state.log_batcher.on_alert = processed.set
    runner = LoopRunner([flush, batches], sessions=state.sessions, registry=CollectorRegistry())
    runner.start()
    try:
        await create_stream(deck, batch_size=10)
        await deck.batch(spike(10))  # 50 % errors: a high error spike, an alert
        await asyncio.wait_for(processed.wait(), timeout=30)
        assert runner.holds("logintel_batches")
    finally:
        await runner.stop()
    page = await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)
    [batch] = page.json()["items"]
    assert batch["status"] == "completed" and batch["statistics"]["errors"] == 5


def columns(tenant: Any, n: int) -> LogColumns:
    """``n`` lines as another replica's ingestor would hand them to its listener."""
    now = time.time_ns()
    return LogColumns(
        tenant_id=tenant,
        id=[f"r2-{i}" for i in range(n)],
        ts_ns=[now + i for i in range(n)],
        service=["api"] * n,
        severity=[Severity.INFO] * n,
        message=[f"replica two line {i}" for i in range(n)],
        agent=[""] * n,
        labels=[{}] * n,
        trace_id=[""] * n,
        span_id=[""] * n,
        truncated=[False] * n,
        observed_ns=[now] * n,
    )


async def test_two_replicas_lines_make_one_batch(deck: Deck) -> None:
    state = app_state(deck)
    assert state.log_streams is not None and state.log_batcher is not None
    await create_stream(deck, batch_size=10)
    other = StreamBuffers(max_lines=1000)  # a second replica's buffers
    async with state.sessions() as session:
        await other.refresh(session)
    await deck.batch(spike(6))  # through this replica
    other.listener(deck.tenant.id, columns(deck.tenant.id, 4))  # through the other
    await other.flush(state.sessions)
    await state.log_streams.flush(state.sessions)
    assert (await state.log_batcher.run_once())[0] == 1
    page = await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)
    [batch] = page.json()["items"]
    detail = await deck.api.get(
        f"/api/v1/log-batches/{batch['batch_id']}", headers=deck.viewer.headers
    )
    ids = [line["id"] for line in detail.json()["lines"]]
    assert len(ids) == 10
    assert sum(1 for i in ids if i.startswith("r2-")) == 4
