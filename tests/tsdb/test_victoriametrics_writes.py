"""Write coalescing of the VictoriaMetrics store, against a real VictoriaMetrics server:
concurrent writes share import requests, a failed request fails every write it carried (and
nothing acknowledged is lost), queued samples are capped, and closing sends the queue. A
paused server (SIGSTOP) holds requests in flight."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentdeck.tsdb.base import Matcher, SampleBatch, StoreError, WriteResult
from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore

from .conftest import VictoriaMetricsServer, vm_binary
from .data import STEP, T0

WRITERS = 40
REPORT = 50  # samples per write, as one agent's report
FULL = WRITERS * REPORT


def report(writer: int, value: float = 1.0, samples: int = REPORT) -> SampleBatch:
    """One write: ``samples`` series of agent ``writer``, one sample each at T0."""
    return SampleBatch.from_series(
        (f"report_metric_{i}", {"agent": f"agent-{writer:03d}"}, [T0], [value + i])
        for i in range(samples)
    )


async def stored(store: VictoriaMetricsStore, tenant: uuid.UUID) -> dict[tuple[str, str], float]:
    """Every stored sample of the tenant at T0: (agent, metric) -> value."""
    found = await store.select(tenant, [Matcher("agent", "=~", ".+")], T0, T0 + STEP)
    return {(s.labels["agent"], s.name): float(v) for s in found for v in s.values.tolist()}


def expected(
    writers: range, value: float = 1.0, samples: int = REPORT
) -> dict[tuple[str, str], float]:
    return {
        (f"agent-{w:03d}", f"report_metric_{i}"): value + i for w in writers for i in range(samples)
    }


async def test_concurrent_writes_share_import_requests(
    victoria_metrics: VictoriaMetricsServer,
) -> None:
    tenant = uuid.uuid4()
    # A request's worth is WRITERS reports: sent when they are all queued, whatever the clock.
    async with await VictoriaMetricsStore.open(
        victoria_metrics.url,
        flush_writes=True,
        write_linger=60.0,
        max_request_samples=WRITERS * REPORT,
    ) as store:
        results = await asyncio.gather(*(store.write(tenant, report(w)) for w in range(WRITERS)))
        assert [r.samples for r in results] == [REPORT] * WRITERS
        stats = await store.stats()
        assert stats.write_calls == WRITERS
        assert stats.write_transactions == 1  # one HTTP import for all of them
        assert stats.extra["queued_samples"] == 0
        assert await stored(store, tenant) == expected(range(WRITERS))


async def test_without_coalescing_each_write_is_a_request(
    victoria_metrics: VictoriaMetricsServer,
) -> None:
    tenant = uuid.uuid4()
    async with await VictoriaMetricsStore.open(
        victoria_metrics.url, flush_writes=True, coalesce=False
    ) as store:
        await asyncio.gather(*(store.write(tenant, report(w)) for w in range(WRITERS)))
        assert (await store.stats()).write_transactions == WRITERS
        assert await stored(store, tenant) == expected(range(WRITERS))


async def test_requests_hold_at_most_max_request_samples(
    victoria_metrics: VictoriaMetricsServer,
) -> None:
    tenant = uuid.uuid4()
    async with await VictoriaMetricsStore.open(
        victoria_metrics.url, flush_writes=True, write_linger=0, max_request_samples=4 * REPORT
    ) as store:
        await asyncio.gather(*(store.write(tenant, report(w)) for w in range(WRITERS)))
        # never more than 4 reports per request, and fewer requests than writes
        assert WRITERS // 4 <= (await store.stats()).write_transactions < WRITERS
        assert await stored(store, tenant) == expected(range(WRITERS))


async def test_a_failed_request_fails_every_write_it_carried(tmp_path: Path) -> None:
    binary, data = vm_binary(), tmp_path / "vm"
    vm = VictoriaMetricsServer(binary, data)
    tenant = uuid.uuid4()
    try:
        await asyncio.to_thread(vm.wait_ready)
        store = await VictoriaMetricsStore.open(
            vm.url, flush_writes=True, write_linger=60.0, max_request_samples=FULL
        )
        async with store:
            # a request's worth on its own: sent at once, acknowledged
            await store.write(tenant, report(0, value=1.0, samples=FULL))

            await asyncio.to_thread(vm.stop)
            outcomes = await asyncio.gather(
                *(store.write(tenant, report(w, value=2.0)) for w in range(1, WRITERS + 1)),
                return_exceptions=True,
            )
            assert all(isinstance(o, StoreError) for o in outcomes), outcomes
            assert len({id(o) for o in outcomes}) == 1  # the one failed request
            stats = await store.stats()
            assert stats.write_transactions == 1 and stats.extra["queued_samples"] == 0

            vm = VictoriaMetricsServer(binary, data, port=vm.port)
            await asyncio.to_thread(vm.wait_ready)
            await store.write(tenant, report(WRITERS + 1, value=3.0, samples=FULL))
            # both acknowledged writes are there; none of the failed ones is
            assert await stored(store, tenant) == {
                **expected(range(1), value=1.0, samples=FULL),
                **expected(range(WRITERS + 1, WRITERS + 2), value=3.0, samples=FULL),
            }
    finally:
        await asyncio.to_thread(vm.stop)


@contextlib.asynccontextmanager
async def paused_server(tmp_path: Path) -> AsyncIterator[VictoriaMetricsServer]:
    """A private VictoriaMetrics server; the test pauses it (SIGSTOP) to hold requests."""
    vm = VictoriaMetricsServer(vm_binary(), tmp_path / "vm")
    try:
        await asyncio.to_thread(vm.wait_ready)
        yield vm
    finally:
        vm.process.send_signal(signal.SIGCONT)
        await asyncio.to_thread(vm.stop)


async def started(
    store: VictoriaMetricsStore, tenant: uuid.UUID, batch: SampleBatch, held: int
) -> asyncio.Task[WriteResult]:
    """Start a write and let it queue itself (one turn of the loop, no clock involved); then
    ``held`` samples are queued or in flight."""
    task = asyncio.create_task(store.write(tenant, batch))
    await asyncio.sleep(0)
    assert (await store.stats()).extra["queued_samples"] == held
    return task


async def test_queued_samples_are_capped(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    async with paused_server(tmp_path) as vm:
        store = await VictoriaMetricsStore.open(
            vm.url, flush_writes=True, write_linger=0, max_queued_samples=2 * REPORT
        )
        async with store:
            vm.process.send_signal(signal.SIGSTOP)  # requests hang until it continues
            first = await started(store, tenant, report(0), REPORT)  # in flight
            with pytest.raises(StoreError, match="backed up"):
                await store.write(tenant, report(1, samples=REPORT + 1))  # over the cap
            second = await started(store, tenant, report(2), 2 * REPORT)  # exactly at the cap
            with pytest.raises(StoreError, match="backed up"):
                await store.write(tenant, report(3, samples=1))

            vm.process.send_signal(signal.SIGCONT)
            assert (await first).samples == REPORT and (await second).samples == REPORT
            assert (await store.stats()).extra["queued_samples"] == 0
            await store.write(tenant, report(4))  # room again
            assert await stored(store, tenant) == {
                **expected(range(1)),
                **expected(range(2, 3)),
                **expected(range(4, 5)),
            }


async def test_close_sends_the_queued_writes(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    async with paused_server(tmp_path) as vm:
        store = await VictoriaMetricsStore.open(vm.url, flush_writes=True, write_linger=0)
        vm.process.send_signal(signal.SIGSTOP)
        writes = [await started(store, tenant, report(w), (w + 1) * REPORT) for w in range(3)]
        closing = asyncio.create_task(store.close())
        await asyncio.sleep(0)  # one turn of the loop: close() begins (no clock involved)
        with pytest.raises(StoreError, match="closed"):
            await store.write(tenant, report(9))  # refused once closing began
        vm.process.send_signal(signal.SIGCONT)
        await closing
        assert [(await w).samples for w in writes] == [REPORT] * 3
        async with await VictoriaMetricsStore.open(vm.url) as reader:
            assert await stored(reader, tenant) == expected(range(3))
