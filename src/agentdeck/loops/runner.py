"""Runs :class:`~agentdeck.loops.base.Loop` objects as asyncio tasks, with leases and metrics.

Stopping is prompt: the wait between ticks is on an :class:`asyncio.Event`, so ``stop()``
wakes every loop at once; a tick in progress gets ``stop_timeout`` seconds to finish before it
is cancelled. Leases held by this runner are released on stop, so another replica takes over
on its next tick instead of waiting for the lease to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.loops import lease
from agentdeck.loops.base import Loop

log = structlog.get_logger(__name__)

TICK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0)


def lease_name(loop: Loop) -> str:
    return f"loop:{loop.name}"


class LoopMetrics:
    """The runner's metrics, on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.ticks = Counter(
            "agentdeck_loop_ticks_total",
            "Loop ticks by outcome (success, error, skipped: another replica holds the lease).",
            ["loop", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "agentdeck_loop_tick_duration_seconds",
            "Duration of loop ticks.",
            ["loop"],
            buckets=TICK_BUCKETS,
            registry=registry,
        )
        self.last_success = Gauge(
            "agentdeck_loop_last_success_timestamp_seconds",
            "Unix time of the last successful tick.",
            ["loop"],
            registry=registry,
        )
        self.lease_held = Gauge(
            "agentdeck_loop_lease_held",
            "1 while this process holds the loop's lease (leased loops only).",
            ["loop"],
            registry=registry,
        )


class LoopRunner:
    """Starts, supervises and stops a set of loops."""

    def __init__(
        self,
        loops: Iterable[Loop],
        *,
        sessions: async_sessionmaker[AsyncSession],
        registry: CollectorRegistry | None = None,
        metrics: LoopMetrics | None = None,
        holder: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        stop_timeout: float = 5.0,
        rng: random.Random | None = None,
        on_error: Callable[[Loop, Exception], None] | None = None,
    ) -> None:
        """``on_error(loop, exc)``, when given, is told of each failed tick (after it is
        logged); it must be quick, and its own errors are logged and ignored."""
        self.loops = list(loops)
        self.on_error = on_error
        names = [loop.name for loop in self.loops]
        if len(set(names)) != len(names):
            raise ValueError(f"loop names must be unique: {names}")
        self.sessions = sessions
        if metrics is None:
            if registry is None:
                raise ValueError("pass the registry for the loop metrics, or the metrics")
            metrics = LoopMetrics(registry)
        self.metrics = metrics
        self.holder = holder or lease.new_holder_id()
        self.clock = clock
        self.stop_timeout = stop_timeout
        self._rng = rng or random.Random()
        self._stop = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._held: set[str] = set()
        self._wakers: dict[str, asyncio.Event] = {}
        for loop in self.loops:
            self.metrics.ticks.labels(loop=loop.name, outcome="success")
            self.metrics.ticks.labels(loop=loop.name, outcome="error")
            if loop.lease:
                self.metrics.lease_held.labels(loop=loop.name).set(0)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._tasks:
            raise RuntimeError("the loop runner is already started")
        self._stop.clear()
        for loop in self.loops:
            self._wakers[loop.name] = asyncio.Event()
            loop.waker = functools.partial(self.wake, loop.name)
            self._tasks[loop.name] = asyncio.create_task(self._run(loop), name=f"loop:{loop.name}")
        log.info("loops started", loops=[loop.name for loop in self.loops], holder=self.holder)

    async def stop(self) -> None:
        """Wake every loop, let running ticks finish (up to ``stop_timeout``), release leases."""
        self._stop.set()
        tasks = list(self._tasks.values())
        self._tasks.clear()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.stop_timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if pending:
                log.warning("loop ticks cancelled at stop", loops=[t.get_name() for t in pending])
        for loop in self.loops:
            try:
                await loop.close()
            except Exception:
                log.exception("loop close failed", loop=loop.name)
            if loop.name in self._held:
                await self._release(loop)

    def wake(self, loop_name: str) -> None:
        """Start the loop's next tick now instead of after its interval (once per call; a wake
        during a tick starts another tick right after it)."""
        waker = self._wakers.get(loop_name)
        if waker is not None:
            waker.set()

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    def holds(self, loop_name: str) -> bool:
        """Whether this runner held the loop's lease at its last tick."""
        return loop_name in self._held

    # --- one loop --------------------------------------------------------------------------

    def _delay(self, loop: Loop) -> float:
        spread = loop.interval * loop.jitter
        return max(0.0, loop.interval + self._rng.uniform(-spread, spread))

    async def _stopped_within(self, seconds: float, waker: asyncio.Event) -> bool:
        """Wait up to ``seconds`` or until woken; true as soon as the runner is stopping."""
        if self._stop.is_set():
            return True
        if not waker.is_set():
            waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(waker.wait())]
            try:
                await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        waker.clear()
        return self._stop.is_set()

    async def _run(self, loop: Loop) -> None:
        delay = loop.initial_delay if loop.initial_delay is not None else self._delay(loop)
        waker = self._wakers[loop.name]
        while not await self._stopped_within(delay, waker):
            delay = self._delay(loop)
            if loop.lease and not await self._hold(loop):
                self.metrics.ticks.labels(loop=loop.name, outcome="skipped").inc()
                continue
            await self._tick(loop)

    async def _tick(self, loop: Loop) -> None:
        started = time.perf_counter()
        try:
            await loop.tick()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.metrics.ticks.labels(loop=loop.name, outcome="error").inc()
            log.exception("loop tick failed", loop=loop.name)
            if self.on_error is not None:
                try:
                    self.on_error(loop, exc)
                except Exception:
                    log.exception("loop error hook failed", loop=loop.name)
        else:
            self.metrics.ticks.labels(loop=loop.name, outcome="success").inc()
            self.metrics.last_success.labels(loop=loop.name).set(time.time())
        finally:
            self.metrics.duration.labels(loop=loop.name).observe(time.perf_counter() - started)

    async def _hold(self, loop: Loop) -> bool:
        """Acquire or renew the loop's lease; false (and logged) when the database fails."""
        try:
            async with self.sessions() as session:
                held = await lease.acquire(
                    session,
                    name=lease_name(loop),
                    holder=self.holder,
                    ttl_seconds=loop.lease_ttl,
                    now=self.clock(),
                )
        except Exception:
            log.exception("lease acquire failed", loop=loop.name)
            held = False
        was_held = loop.name in self._held
        if held and not was_held:
            log.info("lease acquired", loop=loop.name, holder=self.holder)
            self._held.add(loop.name)
        elif not held and was_held:
            log.warning("lease lost", loop=loop.name, holder=self.holder)
            self._held.discard(loop.name)
        self.metrics.lease_held.labels(loop=loop.name).set(1 if held else 0)
        return held

    async def _release(self, loop: Loop) -> None:
        try:
            async with self.sessions() as session:
                await lease.release(session, name=lease_name(loop), holder=self.holder)
        except Exception:
            log.exception("lease release failed", loop=loop.name)
        self._held.discard(loop.name)
        self.metrics.lease_held.labels(loop=loop.name).set(0)
