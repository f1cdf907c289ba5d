"""Rate limits with the ``limits`` library: in memory by default, in Redis when configured."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from agentdeck.server.errors import ProblemError
from agentdeck.settings import Settings


class LimitClass(StrEnum):
    read = "read"
    write = "write"
    ingest = "ingest"
    login_failure = "login_failure"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_seconds, 1))
        return headers


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit.enabled
        self.storage: Storage
        self._pool: ConnectionPool | None = None
        if settings.redis_url:
            # our own pool, so the lifespan can close its connections on shutdown
            self._pool = ConnectionPool.from_url(settings.redis_url)
            self.storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="agentdeck-rl",
                connection_pool=self._pool,  # type: ignore[arg-type]  # documented option
            )
        else:
            self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.items: dict[LimitClass, list[RateLimitItem]] = {
            LimitClass.read: parse_many(settings.rate_limit.read),
            LimitClass.write: parse_many(settings.write_limits),
            LimitClass.ingest: parse_many(settings.rate_limit.ingest),
            LimitClass.login_failure: parse_many(settings.rate_limit.login_failures),
        }

    async def aclose(self) -> None:
        """Close the Redis connections (nothing to do in memory)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def hit(self, cls: LimitClass, key: str) -> Verdict:
        """Count one call; the tightest limit decides."""
        if not self.enabled:
            return Verdict(True, 0, 0, 0)
        verdict: Verdict | None = None
        for item in self.items[cls]:
            allowed = await self.strategy.hit(item, cls.value, key)
            current = await self._stats(item, cls, key, allowed)
            if not allowed:
                return current
            if verdict is None or current.remaining < verdict.remaining:
                verdict = current
        return verdict or Verdict(True, 0, 0, 0)

    async def test(self, cls: LimitClass, key: str) -> Verdict:
        """Check without counting (used before a login attempt)."""
        if not self.enabled:
            return Verdict(True, 0, 0, 0)
        for item in self.items[cls]:
            if not await self.strategy.test(item, cls.value, key):
                return await self._stats(item, cls, key, False)
        return Verdict(True, 0, 0, 0)

    async def clear(self, cls: LimitClass, key: str) -> None:
        for item in self.items[cls]:
            await self.strategy.clear(item, cls.value, key)

    async def _stats(self, item: RateLimitItem, cls: LimitClass, key: str, ok: bool) -> Verdict:
        stats = await self.strategy.get_window_stats(item, cls.value, key)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(ok, item.amount, stats.remaining, reset)

    async def enforce(self, cls: LimitClass, key: str) -> Verdict:
        verdict = await self.hit(cls, key)
        if not verdict.allowed:
            raise ProblemError(
                429,
                "rate-limited",
                f"too many {cls.value} requests; retry in {verdict.reset_seconds} s",
                headers=verdict.headers(),
            )
        return verdict
