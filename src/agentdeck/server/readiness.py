"""Readiness: named async checks of the components this process depends on.

The app registers a check per configured component at startup (the state database, its
migrations, the metrics store, Redis; later ones such as a log store or a fleet driver add
theirs with :meth:`Readiness.register`). A check is a coroutine function that returns a short
detail when the component answered and raises when it did not. :meth:`Readiness.report` runs
every check at once, each under its own timeout, and reuses the verdict for ``cache_seconds``;
probes that arrive while a run is under way wait for that run instead of starting another, so
however many probes there are, each component sees at most one check at a time.

A store whose volume refused a write (full, read-only, ...) fails its check until the volume
takes writes again, however well it answers a ping (:mod:`agentdeck.server.volume`).

``/readyz`` is public, so a failed check reports only the kind of error (``ConnectionError``,
``timeout``), or the message of a :class:`CheckFailed` (written to be shown); the full message
goes to the log when a component's verdict changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import structlog
from sqlalchemy import text

from agentdeck.db.migrate import current_revision, head_revision
from agentdeck.server.volume import Fault, VolumeFaults, VolumeStillFailing

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from agentdeck.bus.base import Bus
    from agentdeck.ratelimit import RateLimiter
    from agentdeck.tsdb.base import Store

log = structlog.get_logger(__name__)

Check = Callable[[], Awaitable[str]]
CheckStatus = Literal["ok", "error", "timeout"]


class CheckFailed(Exception):
    """A check's verdict that the component is not ready; the message is shown publicly."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class Report:
    results: tuple[CheckResult, ...]

    @property
    def ready(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]


@dataclass(frozen=True, slots=True)
class _Registered:
    check: Check
    timeout: float


class Readiness:
    """A registry of named checks and the cached verdict of their last run."""

    def __init__(
        self,
        *,
        timeout: float,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._checks: dict[str, _Registered] = {}
        self._cached: tuple[float, Report] | None = None
        self._running: asyncio.Task[Report] | None = None
        self._last_status: dict[str, CheckStatus] = {}
        self.volumes = VolumeFaults()

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    def register(self, name: str, check: Check, *, timeout: float | None = None) -> None:
        """Add the check of component ``name`` (its own ``timeout``, or the registry's)."""
        if name in self._checks:
            raise ValueError(f"a readiness check named {name!r} is registered already")
        self._checks[name] = _Registered(check, timeout or self.timeout)
        self._cached = None

    def volume_fault(self, component: str, exc: BaseException, directory: Path) -> Fault | None:
        """Note a failed write of ``component`` (a store in ``directory``): a volume fault
        fails its check from the next probe on, until the volume takes writes again."""
        fault = self.volumes.record(component, exc, directory)
        if fault is not None:
            self._cached = None
        return fault

    async def report(self) -> Report:
        """The verdict of every check: the cached one while fresh, else that of a run (the
        one under way, or a new one)."""
        cached = self._cached
        if cached is not None and self.clock() - cached[0] < self.cache_seconds:
            return cached[1]
        if self._running is None:
            self._running = asyncio.create_task(self._run(), name="readiness-checks")
        # shielded: a probe that gives up (client gone) does not cancel the others' run
        return await asyncio.shield(self._running)

    async def aclose(self) -> None:
        """Cancel a run under way (at shutdown)."""
        task, self._running = self._running, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> Report:
        try:
            results = await asyncio.gather(
                *(self._one(name, registered) for name, registered in self._checks.items())
            )
            report = Report(tuple(results))
            self._cached = (self.clock(), report)
            return report
        finally:
            self._running = None

    async def _one(self, name: str, registered: _Registered) -> CheckResult:
        started = time.perf_counter()
        status: CheckStatus
        try:
            async with asyncio.timeout(registered.timeout):
                await self.volumes.verify(name)
                detail = await registered.check()
            status, message = "ok", detail
        except TimeoutError:
            detail = f"no answer within {registered.timeout:g} s"
            status, message = "timeout", detail
        except (CheckFailed, VolumeStillFailing) as exc:
            detail = str(exc)
            status, message = "error", detail
        except Exception as exc:  # the point is to report any failure
            detail = type(exc).__name__
            status, message = "error", f"{type(exc).__name__}: {exc}"
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        previous = self._last_status.get(name)
        self._last_status[name] = status
        if status != "ok" and previous != status:
            log.warning("readiness check failed", component=name, status=status, error=message)
        elif status == "ok" and previous not in (None, "ok"):
            log.info("readiness check passes again", component=name)
        return CheckResult(name=name, status=status, detail=detail, latency_ms=latency_ms)


def register_core_checks(
    readiness: Readiness, *, engine: AsyncEngine, store: Store, limiter: RateLimiter, bus: Bus
) -> None:
    """The checks of the components every app has: ``database``, ``migrations``,
    ``metrics_store``, and ``redis`` when rate limits or the bus use it."""
    from agentdeck.bus.redis import RedisBus

    head = head_revision()  # reads the migration scripts: once, not per probe

    async def database() -> str:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return f"reachable ({engine.dialect.name})"

    async def migrations() -> str:
        async with engine.connect() as connection:
            revision = await current_revision(connection)
        if revision != head:
            raise CheckFailed(f"at {revision}, head {head}")
        return f"at head {head}"

    async def metrics_store() -> str:
        await store.ping()
        return f"{store.backend} answered"

    readiness.register("database", database)
    readiness.register("migrations", migrations)
    readiness.register("metrics_store", metrics_store)

    pings: dict[str, Callable[[], Awaitable[None]]] = {}
    if limiter.enabled and limiter.uses_redis:
        pings["rate limits"] = limiter.ping
    if isinstance(bus, RedisBus):
        pings["bus"] = bus.ping
    if pings:

        async def redis() -> str:
            await asyncio.gather(*(ping() for ping in pings.values()))
            return "answered (" + ", ".join(pings) + ")"

        readiness.register("redis", redis)
