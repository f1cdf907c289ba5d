"""A refresh of the stream list that reads the database while this replica creates or stops a
stream must not undo that change (the flush loop refreshes on every round)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.logintel.streams.buffers import StreamBuffers
from tests.conftest import Factory
from tests.logintel.conftest import app_state, create_stream, round_trip
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


class PausedRead:
    """A session whose reads stop after the database answered, until the test lets them go
    (the moment a refresh has read the streams but not yet installed them)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.read = asyncio.Event()
        self.go_on = asyncio.Event()

    async def scalars(self, statement: Any) -> list[Any]:
        rows = list(await self.session.scalars(statement))
        self.session.expunge_all()  # the rows keep what was read
        await self.session.rollback()  # no read transaction held while the test writes
        self.read.set()
        await self.go_on.wait()
        return rows


async def refresh_around(buffers: StreamBuffers, deck: Deck, during: Any) -> None:
    """Run ``buffers.refresh`` with ``during()`` between its read and its use of the rows."""
    state = app_state(deck)
    async with state.sessions() as session:
        paused = PausedRead(session)
        refresh = asyncio.create_task(buffers.refresh(paused))  # type: ignore[arg-type]
        await paused.read.wait()
        try:
            await during()
        finally:
            paused.go_on.set()
        await refresh


async def test_a_stream_created_during_a_refresh_keeps_its_lines(deck: Deck) -> None:
    state = app_state(deck)
    buffers = state.log_streams
    assert buffers is not None
    created: dict[str, Any] = {}

    async def create_and_ingest() -> None:
        response = await create_stream(deck, batch_size=10)
        assert response.status_code == 201
        created.update(response.json())
        accepted = await deck.batch([entry(f"job {i} done") for i in range(10)])
        assert accepted.status_code == 200

    await refresh_around(buffers, deck, create_and_ingest)
    assert [s.id for s in buffers.by_tenant[deck.tenant.id]] == [uuid.UUID(created["stream_id"])]
    assert await round_trip(deck) == (1, 1)  # the ten lines made their batch
    page = await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)
    [batch] = page.json()["items"]
    assert batch["statistics"]["total"] == 10


async def test_a_stream_stopped_during_a_refresh_stays_stopped(deck: Deck) -> None:
    state = app_state(deck)
    buffers = state.log_streams
    assert buffers is not None
    stream = (await create_stream(deck, batch_size=10)).json()

    async def stop() -> None:
        gone = await deck.api.delete(
            f"/api/v1/log-streams/{stream['stream_id']}", headers=deck.ingest.headers
        )
        assert gone.status_code == 204

    await refresh_around(buffers, deck, stop)
    assert buffers.by_tenant.get(deck.tenant.id, []) == []
    await deck.batch([entry(f"job {i} done") for i in range(10)])
    assert buffers.pending == {}
