"""A time-to-live cache with single flight: concurrent callers of a missing or stale key share
one computation, and its value is served until it expires."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlightCache(Generic[K, V]):
    """Values by key, each fresh for the ``ttl`` it was computed with; at most ``size``
    entries before the expired ones are dropped."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.entries: dict[K, tuple[float, V]] = {}
        self.inflight: dict[K, asyncio.Task[V]] = {}
        #: Computations started (tests and benchmarks count them).
        self.computations = 0

    async def get(self, key: K, ttl: float, compute: Callable[[], Awaitable[V]]) -> V:
        """The cached value of ``key`` while fresh; otherwise one computation shared by every
        caller (a caller that goes away does not cancel it)."""
        hit = self.entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        task = self.inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._run(key, ttl, compute))
            self.inflight[key] = task
        return await asyncio.shield(task)

    async def _run(self, key: K, ttl: float, compute: Callable[[], Awaitable[V]]) -> V:
        try:
            self.computations += 1
            value = await compute()
            if len(self.entries) > self.size:
                now = time.monotonic()
                for old in [k for k, (expires, _) in self.entries.items() if expires <= now]:
                    del self.entries[old]
            self.entries[key] = (time.monotonic() + ttl, value)
            return value
        finally:
            self.inflight.pop(key, None)
