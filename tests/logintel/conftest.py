"""Helpers for log streams: an app whose loops are off, driven a round at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from agentdeck.server.state import AppState
from tests.logs.conftest import Deck


def app_state(deck: Deck) -> AppState:
    state: AppState = deck.api.app.state.deck  # type: ignore[attr-defined]
    return state


async def round_trip(deck: Deck, now: datetime | None = None) -> tuple[int, int]:
    """What the loops do: flush this replica's buffers, then cut and analyse batches."""
    state = app_state(deck)
    assert state.log_streams is not None and state.log_batcher is not None
    await state.log_streams.flush(state.sessions)
    return await state.log_batcher.run_once(now)


async def create_stream(deck: Deck, **body: Any) -> httpx.Response:
    values: dict[str, Any] = {"name": "main"}
    values.update(body)
    return await deck.api.post("/api/v1/log-streams", json=values, headers=deck.ingest.headers)
