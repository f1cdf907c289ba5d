"""Per-channel rate limits: ``rate_per_minute`` sends a minute with a burst of up to ten seconds'
worth (at least one). A row over the limit is deferred, not failed.

:class:`ChannelLimits` keeps token buckets in this process. With Redis configured the worker
uses :class:`RedisChannelLimits` instead: the same limit as a GCRA (generic cell rate algorithm,
equivalent to the token bucket) kept in one Redis key per channel, so a channel's limit holds
for the whole deployment however many replicas deliver, not once per replica.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from redis.asyncio import Redis

from agentdeck.tokenbucket import TokenBucket

BURST_SECONDS = 10.0


def capacity_of(rate_per_minute: int) -> float:
    return max(1.0, rate_per_minute / 60.0 * BURST_SECONDS)


class ChannelLimits:
    """Token buckets per channel, in this process."""

    def __init__(self, default_per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.default = default_per_minute
        self.clock = clock
        self._buckets: dict[uuid.UUID, TokenBucket] = {}
        #: channel → clock time before which it has no token (from the last refused take)
        self._blocked: dict[uuid.UUID, float] = {}

    async def take(self, channel_id: uuid.UUID, per_minute: int | None) -> float:
        """0 when a send may go now (and counts it), else the seconds until one may."""
        per_minute = per_minute or self.default
        now = self.clock()
        bucket = self._buckets.get(channel_id)
        if bucket is None or bucket.rate != per_minute / 60.0:
            bucket = TokenBucket.full(per_minute / 60.0, capacity_of(per_minute), now)
            self._buckets[channel_id] = bucket
        wait = bucket.take(now)
        return self._refused(channel_id, wait) if wait > 0 else 0.0

    def _refused(self, channel_id: uuid.UUID, wait: float) -> float:
        self._blocked[channel_id] = self.clock() + wait
        return wait

    def exhausted(self) -> list[uuid.UUID]:
        """Channels that had no token at their last take and still have none (their rows are
        not claimed this round)."""
        now = self.clock()
        for cid in [cid for cid, until in self._blocked.items() if until <= now]:
            del self._blocked[cid]
        return list(self._blocked)

    async def close(self) -> None:
        """Nothing to release in memory."""


# KEYS[1]: the channel's key; ARGV: emission interval (ms), burst (ms). The theoretical arrival
# time (TAT) moves one interval per send; a send is allowed while TAT - burst <= now. Redis's
# own clock is used so replicas' clocks do not matter.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat + interval - burst
if allowed_at > now then
  return math.max(1, math.ceil(allowed_at - now))
end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(burst + interval) + 1000)
return 0
"""


class RedisChannelLimits(ChannelLimits):
    """The per-channel limit shared by every replica through Redis."""

    def __init__(
        self,
        default_per_minute: int,
        redis: Redis,
        *,
        prefix: str = "agentdeck:notify:rate",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(default_per_minute, clock)
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_GCRA)

    async def take(self, channel_id: uuid.UUID, per_minute: int | None) -> float:
        rate = per_minute or self.default
        interval_ms = 60_000.0 / rate
        burst_ms = capacity_of(rate) * interval_ms
        key = f"{self.prefix}:{channel_id}:{rate}"
        wait_ms = float(await self._script(keys=[key], args=[interval_ms, burst_ms]))
        if wait_ms <= 0:
            return 0.0
        return self._refused(channel_id, wait_ms / 1000.0)

    async def close(self) -> None:
        await self.redis.aclose()
