"""The bus contract, on both implementations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from agentdeck.bus.base import Bus, BusClosed, BusOverflow, Event, Subscription
from agentdeck.bus.redis import RedisBus
from tests.bus.conftest import DURABLE, BusMaker
from tests.conftest import REDIS_URL

DEADLINE = 5.0


async def take(subscription: Subscription, n: int) -> list[Event]:
    async def collect() -> list[Event]:
        return [await anext(subscription) for _ in range(n)]

    return await asyncio.wait_for(collect(), DEADLINE)


async def test_seq_counts_per_channel_from_one(bus: Bus) -> None:
    assert [await bus.publish("tenant:a:alerts", {"i": i}) for i in range(3)] == [1, 2, 3]
    assert await bus.publish("tenant:a:metrics", {}) == 1
    assert await bus.publish("tenant:a:alerts", {}) == 4


async def test_subscriber_gets_matching_events_in_order_with_their_fields(bus: Bus) -> None:
    subscription = await bus.subscribe("tenant:a:*")
    before = datetime.now(UTC) - timedelta(seconds=1)
    await bus.publish("tenant:b:alerts", {"skip": True})
    for i in range(5):
        await bus.publish("tenant:a:alerts", {"i": i, "nested": {"x": [1, "two"]}})
    await bus.publish("tenant:a:metrics", {"m": 1})
    events = await take(subscription, 6)
    assert [e.channel for e in events] == ["tenant:a:alerts"] * 5 + ["tenant:a:metrics"]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 1]
    assert events[2].data == {"i": 2, "nested": {"x": [1, "two"]}}
    assert all(e.at.tzinfo is not None and e.at >= before for e in events)
    await subscription.aclose()


async def test_exact_and_single_character_patterns(bus: Bus) -> None:
    exact = await bus.subscribe("tenant:a:alerts")
    single = await bus.subscribe("tenant:?:deployments")
    await bus.publish("tenant:a:alerts-extra", {})
    await bus.publish("tenant:ab:deployments", {})
    await bus.publish("tenant:a:alerts", {"n": 1})
    await bus.publish("tenant:b:deployments", {"n": 2})
    assert [e.data for e in await take(exact, 1)] == [{"n": 1}]
    assert [e.data for e in await take(single, 1)] == [{"n": 2}]
    await exact.aclose()
    await single.aclose()


async def test_every_subscriber_gets_every_event(bus: Bus) -> None:
    first = await bus.subscribe("metrics.*")
    second = await bus.subscribe("metrics.*")
    for i in range(10):
        await bus.publish(f"metrics.{i % 2}", {"i": i})
    for subscription in (first, second):
        assert [e.data["i"] for e in await take(subscription, 10)] == list(range(10))
        await subscription.aclose()


async def test_replay_returns_buffered_events_after_a_seq_in_order(make_bus: BusMaker) -> None:
    bus = await make_bus(replay_size=5)
    for i in range(1, 9):
        await bus.publish("tenant:a:alerts", {"i": i})
    replayed = await bus.replay("tenant:a:alerts", 0)
    assert [e.seq for e in replayed] == [4, 5, 6, 7, 8]  # the last five
    assert [e.data["i"] for e in replayed] == [4, 5, 6, 7, 8]
    assert [e.seq for e in await bus.replay("tenant:a:alerts", 6)] == [7, 8]
    assert await bus.replay("tenant:a:alerts", 8) == []
    assert await bus.replay("tenant:a:never", 0) == []


async def test_non_durable_channels_are_not_replayed(bus: Bus) -> None:
    await bus.publish("tenant:a:metrics", {"v": 1})
    assert await bus.replay("tenant:a:metrics", 0) == []


async def test_a_slow_subscriber_never_blocks_the_publisher(bus: Bus) -> None:
    slow = await bus.subscribe("tenant:a:*", maxsize=3)
    fast = await bus.subscribe("tenant:a:*")
    for i in range(20):
        await asyncio.wait_for(bus.publish("tenant:a:alerts", {"i": i}), DEADLINE)
    assert [e.data["i"] for e in await take(fast, 20)] == list(range(20))
    # the slow one learns that it lost events, then gets what it kept and what comes next
    with pytest.raises(BusOverflow) as raised:
        await take(slow, 1)
    assert raised.value.dropped == 17
    assert [e.data["i"] for e in await take(slow, 3)] == [0, 1, 2]
    await bus.publish("tenant:a:alerts", {"i": 99})
    assert [(e.seq, e.data["i"]) for e in await take(slow, 1)] == [(21, 99)]
    # and the gap can be filled from the replay buffer
    assert [e.seq for e in await bus.replay("tenant:a:alerts", 0)] == list(range(1, 22))
    await slow.aclose()
    await fast.aclose()


async def test_closing_a_subscription_ends_its_iteration(bus: Bus) -> None:
    subscription = await bus.subscribe("x.*")
    await subscription.aclose()
    await bus.publish("x.y", {})
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(subscription), DEADLINE)


async def test_closing_the_bus_ends_subscriptions_and_refuses_publishing(
    make_bus: BusMaker,
) -> None:
    bus = await make_bus()
    subscription = await bus.subscribe("x.*")
    waiter = asyncio.create_task(anext(subscription))
    await bus.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiter, DEADLINE)
    with pytest.raises(BusClosed):
        await bus.publish("x.y", {})
    await bus.close()  # idempotent


async def test_two_redis_buses_share_events_and_seq_like_two_replicas() -> None:
    prefix = f"test-bus:{uuid.uuid4().hex[:12]}:"
    one = RedisBus.from_url(REDIS_URL, prefix=prefix, durable=DURABLE)
    two = RedisBus.from_url(REDIS_URL, prefix=prefix, durable=DURABLE)
    try:
        subscription = await two.subscribe("tenant:*")
        assert await one.publish("tenant:a:alerts", {"from": "one"}) == 1
        assert await two.publish("tenant:a:alerts", {"from": "two"}) == 2
        events = await take(subscription, 2)
        assert [(e.seq, e.data["from"]) for e in events] == [(1, "one"), (2, "two")]
        assert [e.seq for e in await one.replay("tenant:a:alerts", 0)] == [1, 2]
        await subscription.aclose()
    finally:
        await one.close()
        await two.close()
        client = Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        await client.delete(*keys)
        await client.aclose()
