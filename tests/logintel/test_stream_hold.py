"""The lease holder keeps its own stream lines in memory and cuts them straight into batches:
every line still makes exactly one batch, with other replicas' chunks, and lines held when
the lease goes (or the server stops) reach the database for the next holder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from agentdeck.db.base import utcnow
from agentdeck.logintel.streams.batcher import Batcher
from agentdeck.logintel.streams.buffers import HOLD_SECONDS, StreamBuffers
from agentdeck.logintel.streams.models import LogStreamChunk
from tests.conftest import Factory
from tests.logintel.conftest import app_state, create_stream
from tests.logintel.test_stream_loops import columns
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def lines(n: int, tag: str = "line") -> list[dict[str, Any]]:
    return [entry(f"{tag} {i} done") for i in range(n)]


async def stored_chunks(deck: Deck) -> int:
    state = app_state(deck)
    async with state.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(LogStreamChunk)) or 0)


async def batch_line_ids(deck: Deck) -> list[list[str]]:
    page = await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)
    out = []
    for item in reversed(page.json()["items"]):  # oldest first
        detail = await deck.api.get(
            f"/api/v1/log-batches/{item['batch_id']}", headers=deck.viewer.headers
        )
        out.append([line["id"] for line in detail.json()["lines"]])
    return out


async def test_the_holder_cuts_its_own_lines_without_writing_them(deck: Deck) -> None:
    state = app_state(deck)
    buffers, batcher = state.log_streams, state.log_batcher
    assert buffers is not None and batcher is not None
    await create_stream(deck, batch_size=10)
    buffers.hold(600)
    await deck.batch(lines(25))
    assert await buffers.flush(state.sessions) == 0  # young lines stay for the batch loop
    assert buffers.ready()
    assert (await batcher.run_once())[0] == 2
    assert await stored_chunks(deck) == 0
    ids = await batch_line_ids(deck)
    assert [len(b) for b in ids] == [10, 10]
    [pending] = buffers.pending.values()
    assert len(pending.rows) == 5  # the rest waits in memory, in order after the batches
    await deck.batch(lines(5, "more"))
    assert (await batcher.run_once())[0] == 1
    ids = await batch_line_ids(deck)
    every = [i for batch in ids for i in batch]
    assert len(every) == len(set(every)) == 30
    found = await deck.search()
    assert sorted(every) == sorted(r["id"] for r in found)


async def test_other_replicas_chunks_come_first_then_the_holders_lines(deck: Deck) -> None:
    state = app_state(deck)
    buffers, batcher = state.log_streams, state.log_batcher
    assert buffers is not None and batcher is not None
    await create_stream(deck, batch_size=10)
    other = StreamBuffers(max_lines=1000)  # a second replica, not holding the lease
    async with state.sessions() as session:
        await other.refresh(session)
    other.listener(deck.tenant.id, columns(deck.tenant.id, 4))
    assert await other.flush(state.sessions) == 4
    buffers.hold(600)
    await deck.batch(lines(8))
    assert (await batcher.run_once())[0] == 1
    [ids] = await batch_line_ids(deck)
    assert [i.startswith("r2-") for i in ids] == [True] * 4 + [False] * 6
    assert await stored_chunks(deck) == 0
    [pending] = buffers.pending.values()
    assert len(pending.rows) == 2


async def test_held_lines_reach_the_database_when_the_holder_stops_or_lets_go(
    deck: Deck,
) -> None:
    state = app_state(deck)
    buffers = state.log_streams
    assert buffers is not None and state.log_batcher is not None
    await create_stream(deck, batch_size=10, batch_timeout_seconds=60)
    buffers.hold(600)
    await deck.batch(lines(3))
    assert await buffers.flush(state.sessions) == 0
    assert await buffers.flush(state.sessions, everything=True) == 3  # the flush loop's close
    buffers.hold(0)  # the lease went: no tick renewed it
    await deck.batch(lines(4, "late"))
    assert await buffers.flush(state.sessions) == 4
    assert await stored_chunks(deck) == 2
    # the next holder (another replica: its own buffers are empty) cuts them on timeout
    other = Batcher(sessions=state.sessions, processor=state.log_batcher.processor)
    later = utcnow() + timedelta(seconds=61)
    assert (await other.run_once(later))[0] == 1
    [ids] = await batch_line_ids(deck)
    assert len(ids) == len(set(ids)) == 7


async def test_old_held_lines_are_written_even_while_holding(deck: Deck) -> None:
    state = app_state(deck)
    buffers = state.log_streams
    assert buffers is not None
    await create_stream(deck, batch_size=10)
    buffers.hold(600)
    await deck.batch(lines(3))
    [pending] = buffers.pending.values()
    pending.received_at -= timedelta(seconds=HOLD_SECONDS + 1)
    assert await buffers.flush(state.sessions) == 3
    assert not buffers.pending
