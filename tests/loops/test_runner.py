"""The loop runner on the real state database: ticks, errors, stop, leases across runners."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.loops import lease
from agentdeck.loops.base import Loop
from agentdeck.loops.runner import LoopRunner
from agentdeck.settings import Settings


class Counting(Loop):
    """Counts its ticks; raises on the ticks listed in ``fail_on``."""

    name = "counting"

    def __init__(self, interval: float = 0.02, *, leased: bool = False) -> None:
        self.interval = interval
        self.initial_delay = 0.0
        self.ticks = 0
        self.fail_on: set[int] = set()
        self.changed = asyncio.Event()
        self._leased = leased

    @property
    def lease(self) -> bool:  # type: ignore[override]
        return self._leased

    async def tick(self) -> None:
        self.ticks += 1
        self.changed.set()
        if self.ticks in self.fail_on:
            raise RuntimeError(f"tick {self.ticks} fails")


class Slow(Loop):
    name = "slow"
    interval = 0.01
    initial_delay = 0.0

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def tick(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()  # never finishes on its own
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for ``condition`` with a deadline (polling, not sleeping as synchronisation)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def sessions(
    settings: Settings,
) -> AsyncIterator[Callable[[], async_sessionmaker[AsyncSession]]]:
    """A new engine per call: each is a separate 'process' on the same state database."""
    engines = []

    def make() -> async_sessionmaker[AsyncSession]:
        engine = create_engine(settings.database)
        engines.append(engine)
        return create_session_factory(engine)

    yield make
    for engine in engines:
        await engine.dispose()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_ticks_continue_after_an_exception_and_are_counted(sessions) -> None:  # type: ignore[no-untyped-def]
    loop = Counting()
    loop.fail_on = {1, 2}
    registry = CollectorRegistry()
    runner = LoopRunner([loop], sessions=sessions(), registry=registry)
    runner.start()
    try:
        await until(lambda: loop.ticks >= 4)
    finally:
        await runner.stop()
    assert sample(registry, "agentdeck_loop_ticks_total", loop="counting", outcome="error") == 2
    assert sample(registry, "agentdeck_loop_ticks_total", loop="counting", outcome="success") >= 2
    assert sample(registry, "agentdeck_loop_last_success_timestamp_seconds", loop="counting") > 0
    assert sample(registry, "agentdeck_loop_tick_duration_seconds_count", loop="counting") >= 4


async def test_stop_is_prompt_between_ticks(sessions) -> None:  # type: ignore[no-untyped-def]
    loop = Counting(interval=3600)
    runner = LoopRunner([loop], sessions=sessions(), registry=CollectorRegistry())
    runner.start()
    await until(lambda: loop.ticks == 1)  # the first tick, then an hour's wait
    started = time.monotonic()
    await runner.stop()
    assert time.monotonic() - started < 1.0
    assert not runner.running


async def test_a_woken_loop_ticks_at_once_instead_of_after_its_interval(sessions) -> None:  # type: ignore[no-untyped-def]
    loop = Counting(interval=3600)
    loop.wake()  # before the runner starts: nothing to wake, no error
    runner = LoopRunner([loop], sessions=sessions(), registry=CollectorRegistry())
    runner.start()
    try:
        await until(lambda: loop.ticks == 1)  # the first tick, then an hour's wait
        loop.wake()
        await until(lambda: loop.ticks == 2, within=5.0)
        loop.wake()
        loop.wake()  # wakes coalesce: one more tick, then the hour's wait again
        await until(lambda: loop.ticks == 3, within=5.0)
        runner.wake("no-such-loop")  # unknown names are ignored
    finally:
        await runner.stop()
    assert loop.ticks == 3


async def test_stop_cancels_a_tick_that_overruns_the_timeout(sessions) -> None:  # type: ignore[no-untyped-def]
    loop = Slow()
    runner = LoopRunner([loop], sessions=sessions(), registry=CollectorRegistry(), stop_timeout=0.1)
    runner.start()
    await asyncio.wait_for(loop.started.wait(), 10)
    started = time.monotonic()
    await runner.stop()
    assert time.monotonic() - started < 2.0
    assert loop.cancelled


async def test_one_of_two_runners_ticks_a_leased_loop_and_the_other_takes_over_on_stop(
    sessions,  # type: ignore[no-untyped-def]
) -> None:
    a, b = Counting(leased=True), Counting(leased=True)
    reg_a, reg_b = CollectorRegistry(), CollectorRegistry()
    runner_a = LoopRunner([a], sessions=sessions(), registry=reg_a)
    runner_b = LoopRunner([b], sessions=sessions(), registry=reg_b)
    runner_a.start()
    runner_b.start()
    try:
        await until(lambda: a.ticks + b.ticks >= 10)
        assert (a.ticks == 0) != (b.ticks == 0), (a.ticks, b.ticks)
        leader, follower = (runner_a, runner_b) if a.ticks else (runner_b, runner_a)
        lead_loop, follow_loop = (a, b) if a.ticks else (b, a)
        lead_reg, follow_reg = (reg_a, reg_b) if a.ticks else (reg_b, reg_a)
        assert sample(lead_reg, "agentdeck_loop_lease_held", loop="counting") == 1
        assert sample(follow_reg, "agentdeck_loop_lease_held", loop="counting") == 0
        assert (
            sample(follow_reg, "agentdeck_loop_ticks_total", loop="counting", outcome="skipped") > 0
        )

        await leader.stop()  # releases the lease
        assert sample(lead_reg, "agentdeck_loop_lease_held", loop="counting") == 0
        await until(lambda: follow_loop.ticks >= 3)
        assert follower.holds("counting")
        assert sample(follow_reg, "agentdeck_loop_lease_held", loop="counting") == 1
        frozen = lead_loop.ticks
        assert lead_loop.ticks == frozen
    finally:
        await runner_a.stop()
        await runner_b.stop()


async def test_an_expired_lease_is_taken_over_and_the_old_holder_stops_ticking(
    sessions,  # type: ignore[no-untyped-def]
) -> None:
    a, b = Counting(leased=True), Counting(leased=True)
    runner_a = LoopRunner([a], sessions=sessions(), registry=CollectorRegistry())
    runner_a.start()
    try:
        await until(lambda: a.ticks >= 2)
        # B's clock runs an hour ahead: A's lease (TTL 3 intervals) has expired from B's view,
        # as it would if A had hung or been killed without releasing it.
        runner_b = LoopRunner(
            [b],
            sessions=sessions(),
            registry=CollectorRegistry(),
            clock=lambda: utcnow() + timedelta(hours=1),
        )
        runner_b.start()
        try:
            await until(lambda: b.ticks >= 1)
            await until(lambda: not runner_a.holds("counting"))
            a_after = a.ticks
            await until(lambda: b.ticks >= 10)
            assert a.ticks <= a_after + 1  # at most the tick that was running
        finally:
            await runner_b.stop()
    finally:
        await runner_a.stop()


async def test_lease_functions_are_exclusive_and_expire(sessions) -> None:  # type: ignore[no-untyped-def]
    factory = sessions()
    t0 = datetime(2026, 1, 1, tzinfo=utcnow().tzinfo)

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    async with factory() as s:
        assert await lease.acquire(s, name="x", holder="a", ttl_seconds=10, now=t0)
        assert not await lease.acquire(s, name="x", holder="b", ttl_seconds=10, now=t0)
        assert await lease.acquire(s, name="x", holder="a", ttl_seconds=10, now=at(5))
        assert await lease.current_holder(s, name="x", now=at(14)) == "a"
        assert not await lease.renew(s, name="x", holder="b", ttl_seconds=10)
        assert await lease.renew(s, name="x", holder="a", ttl_seconds=10, now=at(6))
        # expired at t0 + 16 s: b takes it; a can no longer renew or release it
        assert not await lease.acquire(s, name="x", holder="b", ttl_seconds=10, now=at(15))
        assert await lease.acquire(s, name="x", holder="b", ttl_seconds=10, now=at(16))
        assert not await lease.renew(s, name="x", holder="a", ttl_seconds=10)
        assert not await lease.release(s, name="x", holder="a")
        assert await lease.release(s, name="x", holder="b")
        assert await lease.current_holder(s, name="x") is None
        assert await lease.acquire(s, name="x", holder="a", ttl_seconds=10)


async def test_concurrent_acquires_have_exactly_one_winner(sessions) -> None:  # type: ignore[no-untyped-def]
    factories = [sessions() for _ in range(4)]

    async def contend(i: int) -> bool:
        async with factories[i]() as s:
            return await lease.acquire(s, name="race", holder=f"h{i}", ttl_seconds=30)

    results = await asyncio.gather(*(contend(i) for i in range(4)))
    assert sum(results) == 1
