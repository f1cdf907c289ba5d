"""Two app instances on one state database: the leases pick one holder per loop; the app
stops its loops promptly; loops can be turned off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from agentdeck.server.state import AppState

HELD = 'agentdeck_loop_lease_held{loop="scraper"}'


def state_of(client: httpx.AsyncClient) -> AppState:
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    return state


async def lease_held(client: httpx.AsyncClient) -> float | None:
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(HELD):
            return float(line.split()[-1])
    return None


async def test_two_apps_on_one_database_hold_the_scraper_lease_once(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> None:
    fast = {"scrape_tick_seconds": 0.05}
    first = await app_factory(loops=fast)
    second = await app_factory(loops=fast)
    r0, r1 = state_of(first).loops, state_of(second).loops
    assert r0 is not None and r1 is not None
    assert r0.holder != r1.holder

    deadline = time.monotonic() + 20
    while not (r0.holds("scraper") or r1.holds("scraper")):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    holder, other = (first, second) if r0.holds("scraper") else (second, first)
    assert await lease_held(holder) == 1.0
    assert await lease_held(other) == 0.0

    # the holder shuts down (releasing its lease); the other app takes the scraper over
    holder_runner = state_of(holder).loops
    assert holder_runner is not None
    started = time.monotonic()
    await holder_runner.stop()
    assert time.monotonic() - started < 2
    while await lease_held(other) != 1.0:
        assert time.monotonic() < deadline + 10
        await asyncio.sleep(0.02)


async def test_loops_can_be_turned_off(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> None:
    client = await app_factory(loops={"enabled": False})
    assert state_of(client).loops is None
    assert await lease_held(client) is None
