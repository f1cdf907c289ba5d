"""``events_per_second`` across replicas: per-second ingest counters in Redis.

Each replica counts the samples its ingest writes per tenant and second (a write listener: one
addition per batch) and, once a second, adds what it counted to Redis
(``<prefix><tenant>:<unix second>``, ``INCRBY`` in one pipeline, each key expiring after two
windows). The overview reads the two windows' counters of every replica with one ``MGET`` and
adds its own counts not flushed yet; another replica's last second may still be on its way
(at most ~1/60 of the window). Without Redis there is one process, and the overview's own
counters are the whole picture.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Set as AbstractSet
from typing import Any, ClassVar

import structlog
from redis.asyncio import Redis

from agentdeck.ingest.core import Ingestor
from agentdeck.loops.base import Loop
from agentdeck.tsdb.base import SampleBatch

log = structlog.get_logger(__name__)

#: How long a second's counter lives in Redis: both windows, and some slack.
KEY_TTL_SECONDS = 130


class SharedRate:
    """This replica's unflushed counts, and the cluster's counts in Redis."""

    def __init__(self, redis: Redis, *, prefix: str = "agentdeck:overview:ingest:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.unflushed: defaultdict[uuid.UUID, defaultdict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        # a read waits for a flush under way: its counts are neither here nor in Redis yet
        self._lock = asyncio.Lock()

    def _key(self, tenant_id: uuid.UUID, second: int) -> str:
        return f"{self.prefix}{tenant_id}:{second}"

    def record_at(self, tenant_id: uuid.UUID, second: int, samples: int) -> None:
        self.unflushed[tenant_id][second] += samples

    async def flush(self) -> None:
        """Add what this replica counted since the last flush to the shared counters."""
        if not self.unflushed:
            return
        async with self._lock:
            await self._flush()

    async def _flush(self) -> None:
        counts, self.unflushed = self.unflushed, defaultdict(lambda: defaultdict(int))
        try:
            async with self.redis.pipeline(transaction=True) as pipe:  # all or nothing
                for tenant_id, seconds in counts.items():
                    for second, samples in seconds.items():
                        key = self._key(tenant_id, second)
                        pipe.incrby(key, samples)
                        pipe.expire(key, KEY_TTL_SECONDS)
                await pipe.execute()
        except Exception:
            # counted again at the next flush rather than lost
            for tenant_id, seconds in counts.items():
                for second, samples in seconds.items():
                    self.unflushed[tenant_id][second] += samples
            raise

    async def counts(self, tenant_id: uuid.UUID, seconds: list[int]) -> list[int]:
        """Samples written in each of ``seconds`` by every replica (this one's unflushed
        counts included)."""
        async with self._lock:
            values: list[Any] = await self.redis.mget([self._key(tenant_id, s) for s in seconds])
            local: dict[int, int] = self.unflushed.get(tenant_id, {})
        return [int(v or 0) + local.get(s, 0) for v, s in zip(values, seconds, strict=True)]

    async def rates(self, tenant_id: uuid.UUID, now: float, window: int) -> tuple[float, float]:
        """Samples per second over the last ``window`` seconds and the window before, as
        ``Overview.rates`` counts them, for every replica."""
        second = int(now)
        counts = await self.counts(tenant_id, [second - age for age in range(2 * window)])
        return sum(counts[:window]) / window, sum(counts[window:]) / window

    async def aclose(self) -> None:
        await self.redis.aclose()


def attach_shared_rate(ingestor: Ingestor, redis_url: str) -> SharedRate:
    """Count every batch ``ingestor`` writes into counters shared through Redis (call once at
    startup; the :class:`SharedRateFlush` loop sends the counts)."""
    shared = SharedRate(Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2))

    def record(tenant_id: uuid.UUID, batch: SampleBatch, agents: AbstractSet[str]) -> None:
        shared.record_at(tenant_id, int(time.time()), len(batch.timestamps))

    ingestor.add_write_listener(record)
    return shared


class SharedRateFlush(Loop):
    """Sends this replica's ingest counts to Redis once a second (on every replica: no
    lease)."""

    name: ClassVar[str] = "overview-ingest-counts"
    interval = 1.0
    jitter = 0.0
    initial_delay = 1.0

    def __init__(self, shared: SharedRate) -> None:
        self.shared = shared

    async def tick(self) -> None:
        await self.shared.flush()

    async def close(self) -> None:
        try:
            await self.shared.flush()
        except Exception:
            log.warning("last ingest counts not flushed", exc_info=True)
        await self.shared.aclose()
