"""Per-channel token buckets (in this process): ``rate_per_minute`` tokens a minute, a burst of
up to ten seconds' worth (at least one). A row over the limit is deferred, not failed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

BURST_SECONDS = 10.0


class TokenBucket:
    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_seconds(self) -> float:
        """Seconds until the next token."""
        self._refill()
        return max(0.0, (1.0 - self.tokens) / self.rate)


class ChannelLimits:
    def __init__(self, default_per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.default = default_per_minute
        self.clock = clock
        self._buckets: dict[uuid.UUID, TokenBucket] = {}

    def bucket(self, channel_id: uuid.UUID, per_minute: int | None) -> TokenBucket:
        rate = per_minute or self.default
        bucket = self._buckets.get(channel_id)
        if bucket is None or bucket.rate != rate / 60.0:
            bucket = self._buckets[channel_id] = TokenBucket(rate, self.clock)
        return bucket

    def exhausted(self) -> list[uuid.UUID]:
        """Channels with no token now (their rows are not claimed this round)."""
        return [cid for cid, b in self._buckets.items() if b.wait_seconds() > 0]
