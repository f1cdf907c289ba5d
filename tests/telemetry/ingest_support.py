"""Helpers for the JSON ingest tests: read samples back from the app's store, make agents."""

from __future__ import annotations

import time
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentType
from agentdeck.tsdb.base import Matcher, MatchOp

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
