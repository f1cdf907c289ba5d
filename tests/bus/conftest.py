"""Each contract test runs on the in-process bus and on the real Redis (unique key prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis

from agentdeck.bus.base import Bus
from agentdeck.bus.memory import MemoryBus
from agentdeck.bus.redis import RedisBus
from tests.conftest import REDIS_URL

DURABLE = ("*alerts", "*deployments")
BusMaker = Callable[..., Coroutine[Any, Any, Bus]]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusMaker]:
    """Builds buses of one kind; for Redis, every bus of one test shares a fresh prefix
    (two buses = two replicas)."""
    prefix = f"test-bus:{uuid.uuid4().hex[:12]}:"
    buses: list[Bus] = []

    async def make(replay_size: int = 100) -> Bus:
        bus: Bus
        if request.param == "memory":
            bus = MemoryBus(replay_size=replay_size, durable=DURABLE)
        else:
            bus = RedisBus.from_url(
                REDIS_URL, prefix=prefix, replay_size=replay_size, durable=DURABLE
            )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()
    if request.param == "redis":
        client = Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def bus(make_bus: BusMaker) -> Bus:
    return await make_bus()
