"""Helpers for the ingest tests: read samples back from the app's store, make agents, compare
the row and column paths of the ingest core."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentType
from agentdeck.ingest.batch import (
    Batch,
    IngestResult,
    KeyedColumns,
    Row,
    SampleColumns,
    SampleError,
)
from agentdeck.ingest.core import Ingestor
from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import Matcher, MatchOp
from agentdeck.tsdb.duckdb import DuckDBStore

Stored = list[tuple[str, dict[str, str], list[tuple[int, float]]]]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def stored(client: httpx.AsyncClient, tenant_id: uuid.UUID) -> Stored:
    """Every sample of the tenant in the app's metrics store, sorted by series."""
    store = client.app.state.deck.store  # type: ignore[attr-defined]
    await store.flush()
    series = await store.select(tenant_id, [Matcher("__name__", MatchOp.re, ".+")], 0, 10**13)
    return [
        (s.name, s.labels, list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True)))
        for s in series
    ]


async def make_agent(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> Agent:
    agent = Agent(tenant_id=tenant_id, name=name, type=AgentType.llm)
    session.add(agent)
    await session.commit()
    return agent


async def rows_and_columns_agree(
    directory: Path,
    *,
    session: AsyncSession,
    settings: TSDBSettings,
    rows: Sequence[Row],
    columns: SampleColumns | KeyedColumns,
    errors: Sequence[SampleError],
    now_ms: int,
) -> IngestResult:
    """Ingest ``rows`` into one fresh DuckDB store and the same samples as ``columns`` into
    another (files under ``directory``), each through its own ingest core; assert both answer
    alike (counts, every error, rejection counters) and store the same, non-empty samples.
    Returns the columns' answer."""
    stores = [await DuckDBStore.open(directory / f"{n}.duckdb") for n in ("rows", "columns")]
    cores = [Ingestor(store, settings) for store in stores]
    tenant = uuid.uuid4()
    try:
        expected = await cores[0].ingest(
            session, tenant, Batch(rows, errors=list(errors), now_ms=now_ms)
        )
        got = await cores[1].ingest(
            session, tenant, Batch(columns, errors=list(errors), now_ms=now_ms)
        )
        assert (got.accepted, got.rejected) == (expected.accepted, expected.rejected)
        assert [(e.index, e.field, e.message) for e in got.errors] == [
            (e.index, e.field, e.message) for e in expected.errors
        ]
        assert cores[1].stats.rejected == cores[0].stats.rejected
        contents = []
        for store in stores:
            series = await store.select(tenant, [Matcher("__name__", MatchOp.re, ".+")], 0, 10**13)
            contents.append(
                [(s.name, s.labels, s.timestamps.tolist(), s.values.tolist()) for s in series]
            )
        assert contents[1] == contents[0] and contents[0]
        return got
    finally:
        for store in stores:
            await store.close()
