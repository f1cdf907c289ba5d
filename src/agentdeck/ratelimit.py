"""Rate limits with the ``limits`` library: in memory by default, in Redis when configured.

When the limit store (Redis) does not answer, a check is decided without it: let through
(``rate_limit.fail_open``, the default) or refused with a 503 problem and ``Retry-After``;
either way the request never fails with a 500. Each such check is counted in
``agentdeck_ratelimit_backend_errors_total`` and a warning is logged (at most once a minute
while the store stays down). After a failure the store is left alone for
``BACKEND_RETRY_SECONDS``, so an unreachable Redis costs requests no connection attempt each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from prometheus_client import Counter
from redis.asyncio import ConnectionPool, Redis

from agentdeck.errors import QuotaExceeded, Unavailable
from agentdeck.settings import Settings

log = structlog.get_logger(__name__)

#: Longest a Redis connect or command of a rate-limit check may take.
REDIS_TIMEOUT_SECONDS = 2.0
#: After the limit store failed, checks are decided without it for this long.
BACKEND_RETRY_SECONDS = 1.0
#: ``Retry-After`` of the 503 answered when limits cannot be checked (fail closed).
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
#: While the store stays down, the warning is repeated at most this often.
WARNING_INTERVAL_SECONDS = 60.0


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


_UNLIMITED = Verdict(True, 0, 0, 0)


class RateLimiter:
    def __init__(self, settings: Settings, *, backend_errors: Counter | None = None) -> None:
        """``backend_errors``: counts the checks decided without the store (label ``limit``)."""
        self.enabled = settings.rate_limit.enabled
        self.fail_open = settings.rate_limit.fail_open
        self.storage: Storage
        self._pool: ConnectionPool | None = None
        self._backend_errors = backend_errors
        self._retry_at = 0.0  # monotonic time before which the failed store is left alone
        self._warned_at: float | None = None  # last warning while the store is down
        if settings.redis_url:
            # our own pool, so the lifespan can close its connections on shutdown
            self._pool = ConnectionPool.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="agentdeck-rl",
                connection_pool=self._pool,  # type: ignore[arg-type]  # documented option
                wrap_exceptions=True,  # any Redis failure arrives as limits' StorageError
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

    @property
    def uses_redis(self) -> bool:
        return self._pool is not None

    async def ping(self) -> None:
        """One round trip to the limit store (Redis); raises when it does not answer."""
        if self._pool is not None:
            await Redis(connection_pool=self._pool).ping()

    async def aclose(self) -> None:
        """Close the Redis connections (nothing to do in memory)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def hit(self, cls: LimitClass, key: str) -> Verdict:
        """Count one call; the tightest limit decides."""
        return await self._decide(cls, lambda: self._hit(cls, key))

    async def _hit(self, cls: LimitClass, key: str) -> Verdict:
        verdict: Verdict | None = None
        for item in self.items[cls]:
            allowed = await self.strategy.hit(item, cls.value, key)
            current = await self._stats(item, cls, key, allowed)
            if not allowed:
                return current
            if verdict is None or current.remaining < verdict.remaining:
                verdict = current
        return verdict or _UNLIMITED

    async def test(self, cls: LimitClass, key: str) -> Verdict:
        """Check without counting (used before a login attempt)."""
        return await self._decide(cls, lambda: self._test(cls, key))

    async def _test(self, cls: LimitClass, key: str) -> Verdict:
        for item in self.items[cls]:
            if not await self.strategy.test(item, cls.value, key):
                return await self._stats(item, cls, key, False)
        return _UNLIMITED

    async def _decide(self, cls: LimitClass, ask: Callable[[], Awaitable[Verdict]]) -> Verdict:
        """The store's answer to ``ask`` when limits apply and the store is not known to be
        down; otherwise (or when it fails now) the verdict without it."""
        if not self.enabled:
            return _UNLIMITED
        if self._backing_off():
            return self._undecided(cls, None)
        try:
            verdict = await ask()
        except StorageError as exc:
            return self._undecided(cls, exc)
        self._recovered()
        return verdict

    async def clear(self, cls: LimitClass, key: str) -> None:
        """Forget the calls counted for ``key`` (best effort: a store failure is logged)."""
        try:
            for item in self.items[cls]:
                await self.strategy.clear(item, cls.value, key)
        except StorageError as exc:
            log.warning("rate limit not cleared", limit=cls.value, error=_summary(exc))

    def _backing_off(self) -> bool:
        return self._warned_at is not None and time.monotonic() < self._retry_at

    def _undecided(self, cls: LimitClass, exc: StorageError | None) -> Verdict:
        """The verdict when the store cannot decide: unlimited (fail open) or a 503."""
        now = time.monotonic()
        if exc is not None:
            self._retry_at = now + BACKEND_RETRY_SECONDS
            if self._warned_at is None or now - self._warned_at >= WARNING_INTERVAL_SECONDS:
                self._warned_at = now
                log.warning(
                    "rate limit store unavailable",
                    limit=cls.value,
                    error=_summary(exc),
                    fail_open=self.fail_open,
                )
        if self._backend_errors is not None:
            self._backend_errors.labels(limit=cls.value).inc()
        if self.fail_open:
            return _UNLIMITED
        raise Unavailable(
            "rate limits cannot be checked right now (their store does not answer); "
            f"retry in {UNAVAILABLE_RETRY_AFTER_SECONDS} s",
            kind="rate-limit-unavailable",
            retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
        )

    def _recovered(self) -> None:
        if self._warned_at is not None:
            self._warned_at = None
            log.info("rate limit store available again")

    async def _stats(self, item: RateLimitItem, cls: LimitClass, key: str, ok: bool) -> Verdict:
        stats = await self.strategy.get_window_stats(item, cls.value, key)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(ok, item.amount, stats.remaining, reset)

    async def enforce(self, cls: LimitClass, key: str) -> Verdict:
        verdict = await self.hit(cls, key)
        if not verdict.allowed:
            raise QuotaExceeded(
                f"too many {cls.value} requests; retry in {verdict.reset_seconds} s",
                headers=verdict.headers(),
            )
        return verdict


def _summary(exc: StorageError) -> str:
    cause = exc.storage_error
    return f"{type(cause).__name__}: {cause}"
