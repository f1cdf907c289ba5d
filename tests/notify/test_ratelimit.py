"""Per-channel rate limits: in one process, and shared by several replicas through the real
Redis (one channel's limit holds across replicas instead of once per replica)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from agentdeck.notify.ratelimit import ChannelLimits, RedisChannelLimits
from tests.conftest import REDIS_URL


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_channel_gets_its_burst_then_waits_and_the_wait_is_remembered() -> None:
    clock = Clock()
    limits = ChannelLimits(60, clock=clock)
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    waits = [await limits.take(busy, 60) for _ in range(11)]
    # 60 a minute with a burst of ten seconds' worth: ten at once, the 11th a second later
    assert waits[:10] == [0.0] * 10
    assert 0.99 <= waits[10] <= 1.0
    assert await limits.take(quiet, 60) == 0.0
    assert limits.exhausted() == [busy]
    clock.now += 1.0
    assert limits.exhausted() == []
    assert await limits.take(busy, 60) == 0.0


async def test_replicas_share_one_channel_limit_through_redis() -> None:
    prefix = f"test-notify-rate-{uuid.uuid4().hex}"
    one = RedisChannelLimits(60, Redis.from_url(REDIS_URL), prefix=prefix)
    two = RedisChannelLimits(60, Redis.from_url(REDIS_URL), prefix=prefix)
    channel, other = uuid.uuid4(), uuid.uuid4()
    try:
        waits = []
        for _ in range(8):
            waits.append(await one.take(channel, 60))
            waits.append(await two.take(channel, 60))
        allowed = [w for w in waits if w == 0.0]
        # ten sends in the burst between the two replicas, not ten each
        assert len(allowed) == 10
        assert all(0 < w <= 1.0 for w in waits if w != 0.0)
        assert waits[:10] == [0.0] * 10
        # the replica that was refused remembers it, and skips the channel when claiming
        assert channel in one.exhausted() and channel in two.exhausted()
        # another channel has its own limit; a changed rate starts afresh
        assert await two.take(other, 60) == 0.0
        assert await one.take(channel, 120) == 0.0
    finally:
        client = Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await one.close()
        await two.close()
