"""Replica CPU per agent report written to VictoriaMetrics, with and without write coalescing.

Workload: agent reports of 50 samples (50 metrics of one agent, one sample each, as the
ingest core hands them to the store), written through ``VictoriaMetricsStore.write`` by
``--concurrency`` writers that each write their next report as soon as the previous one
returned, into a fresh ``victoria-metrics`` on 127.0.0.1. The same run alternates the store
with coalescing (the default settings: 2 ms linger, 20,000 samples per request) and without
(one import request per report), so background load hits both alike.

With ``--work-ms W``, each writer first spends W ms of CPU on the event loop per report (a
stand-in for the rest of a report request: HTTP framework, authentication, session), so the
loop is saturated as a replica at its ceiling is, and writes wait for it; the printed CPU per
report leaves W out.

Figure: the CPU of this process (the replica side: encoding, HTTP client, event loop; the
VictoriaMetrics process is not counted) per report, with coalescing; reference: the same
without. Lower is better. Also printed: import requests per report and reports per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass

import numpy as np

from agentdeck.tsdb.base import SampleBatch, SeriesKey, next_series_tag
from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore
from bench import Figure, machine
from bench._victoriametrics import victoria_metrics

REPORT = 50
AGENTS = 1000
START_MS = 1_717_372_800_000
STEP_MS = 15_000


def reports(count: int) -> list[SampleBatch]:
    """``count`` reports: agent ``i % AGENTS`` reports its 50 metrics at its next step."""
    keys = [
        [SeriesKey.of(f"agent_metric_{m:02d}", {"agent": f"agent-{a:04d}"}) for m in range(REPORT)]
        for a in range(AGENTS)
    ]
    tags = [np.array([next_series_tag() for _ in row], dtype=np.int64) for row in keys]
    rng = np.random.default_rng(3)
    out = []
    for i in range(count):
        agent, step = i % AGENTS, i // AGENTS
        out.append(
            SampleBatch(
                tuple(keys[agent]),
                np.arange(REPORT, dtype=np.int32),
                np.full(REPORT, START_MS + step * STEP_MS, dtype=np.int64),
                np.round(rng.uniform(0, 100, REPORT), 2),
                tags[agent],
            )
        )
    return out


@dataclass
class Result:
    cpu_us_per_report: float
    requests_per_report: float
    reports_per_s: float


def burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


async def one_run(
    url: str, batches: list[SampleBatch], concurrency: int, coalesce: bool, work_s: float
) -> Result:
    tenant = uuid.uuid4()
    async with await VictoriaMetricsStore.open(url, coalesce=coalesce) as store:
        await store.write(tenant, batches[0])  # connection and first series out of the clock
        todo = iter(batches[1:])

        async def writer() -> None:
            for batch in todo:
                if work_s:
                    burn(work_s)
                    await asyncio.sleep(0)  # the rest of the request yields too
                await store.write(tenant, batch)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stats = await store.stats()
    n = len(batches) - 1
    return Result((cpu / n - work_s) * 1e6, (stats.write_transactions - 1) / n, n / wall)


async def run(count: int, concurrency: list[int], repeats: int, work_s: float) -> list[Figure]:
    batches = reports(count + 1)
    print(
        f"vm coalesce: {count:,} reports of {REPORT} samples per run, writers {concurrency}, "
        f"{repeats} runs each, alternating, {work_s * 1000:g} ms of other work per report"
    )
    figures: list[Figure] = []
    with victoria_metrics() as url:
        for writers in concurrency:
            on: list[Result] = []
            off: list[Result] = []
            for _ in range(repeats):
                off.append(await one_run(url, batches, writers, False, work_s))
                on.append(await one_run(url, batches, writers, True, work_s))
            for label, results in (("off", off), ("on", on)):
                cpu = sorted(r.cpu_us_per_report for r in results)
                print(
                    f"  writers {writers:>3}, coalescing {label:<3}: CPU per report "
                    f"{', '.join(f'{c:,.0f}' for c in cpu)} µs; requests per report "
                    f"{min(r.requests_per_report for r in results):.3f}–"
                    f"{max(r.requests_per_report for r in results):.3f}; "
                    f"{max(r.reports_per_s for r in results):,.0f} reports/s; "
                    f"load average {os.getloadavg()[0]:.1f}"
                )
            best_on = min(r.cpu_us_per_report for r in on)
            best_off = min(r.cpu_us_per_report for r in off)
            figures.append(
                Figure(
                    f"VM write CPU/report, {writers} writers, {work_s * 1000:g} ms work, coalesced",
                    best_on,
                    "µs",
                    reference=best_off,
                    lower_is_better=True,
                )
            )
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=3000, help="reports per run")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 8, 32], help="concurrent writers"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting")
    parser.add_argument(
        "--work-ms", type=float, default=0.0, help="other CPU per report on the event loop"
    )
    args = parser.parse_args(argv)
    print(machine())
    figures = asyncio.run(run(args.reports, args.concurrency, args.repeats, args.work_ms / 1000))
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
