"""PromQL query latency on the embedded store, VictoriaMetrics's own query API as reference.

Data: 1,000 agents × 8 metrics × 24 h at 60 s (11.52M samples, the store-write benchmark's
shape), loaded into a DuckDB store file (cached under ``bench/results/`` between runs) and
into a fresh ``victoria-metrics``. Figures (median of repeated runs after a warm-up):

* one series, 1 h average: ``avg_over_time(cpu{agent="…"}[1h])`` — target ≤ 2 ms
* fleet: ``avg by (agent) (avg_over_time(cpu[1h]))`` over 1,000 series — target ≤ 20 ms
* one series, 24 h range at a 1-minute step (1,441 points) — target ≤ 5 ms
* disk bytes per sample of the DuckDB file — target ≤ 8
* peak RSS of the store process — target ≤ 400 MB: the DuckDB side runs in child processes
  (one loads the file when the cache is missing, one opens it and runs the queries), so the
  figure is the store's and the engine's, not the data generator's or VictoriaMetrics's.
  The loader makes its batches as it writes them, so it holds one batch at a time.

Our engine is called in-process (no HTTP); VictoriaMetrics is timed over HTTP on 127.0.0.1,
so its figures include a local round trip (about 0.1–0.3 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from agentdeck.tsdb import promql
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.victoriametrics import TENANT_LABEL, VictoriaMetricsStore
from bench import Figure, machine
from bench._victoriametrics import victoria_metrics
from bench.store_write import AGENTS, METRICS, START_MS, STEP_MS, iter_batches

POINTS = 1440  # 24 h at 60 s
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000be9c")
CACHE = Path(__file__).parent / "results" / "query-24h.duckdb"
END_MS = START_MS + (POINTS - 1) * STEP_MS
ONE = 'agent_cpu_percent{agent="agent-0042"}'
QUERIES = {
    "one series 1h avg": (f"avg_over_time({ONE}[1h])", 2.0),
    "fleet avg by (agent) (avg_over_time(cpu[1h]))": (
        "avg by (agent) (avg_over_time(agent_cpu_percent[1h]))",
        20.0,
    ),
}
RANGE_QUERY = ONE
RANGE_NAME = "one series 24h range, 1m step"
RANGE_TARGET_MS = 5.0
BYTES_TARGET = 8.0
RSS_TARGET_MB = 400.0


async def _median_ms(call: Callable[[], Awaitable[object]], repeats: int) -> float:
    await call()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _memory_mb() -> dict[str, float]:
    """This process's peak and current resident set (VmHWM, VmRSS) in MB."""
    found = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmHWM:", "VmRSS:")):
                name, value = line.split(":", 1)
                found[name] = int(value.split()[0]) / 1024
    return found


async def _load() -> dict[str, float]:
    expected = AGENTS * len(METRICS) * POINTS
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    async with await DuckDBStore.open(CACHE) as store:
        if (await store.stats()).series == AGENTS * len(METRICS):
            return {}
    for path in CACHE.parent.glob(CACHE.name + "*"):
        path.unlink()
    started = time.perf_counter()
    async with await DuckDBStore.open(CACHE) as store:
        for batch in iter_batches(POINTS):
            await store.write(TENANT, batch)
        memory = _memory_mb()
    elapsed = time.perf_counter() - started
    print(f"  loaded {expected:,} samples into DuckDB in {elapsed:.1f} s (store process)")
    return memory


async def _queries(repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with await DuckDBStore.open(CACHE) as store:
        out["open_mb"] = _memory_mb()["VmRSS"]
        for name, (query, _) in QUERIES.items():

            async def ours(q: str = query) -> object:
                return await promql.instant_query(store, TENANT, q, END_MS)

            out[name] = await _median_ms(ours, repeats)

        async def ours_range() -> object:
            return await promql.range_query(
                store, TENANT, RANGE_QUERY, END_MS - 86_400_000, END_MS, 60_000
            )

        out[RANGE_NAME] = await _median_ms(ours_range, repeats)
        out["disk_bytes"] = (await store.stats()).disk_bytes or 0
    out["memory"] = _memory_mb()
    return out


def _in_child(name: str, *args: Any) -> Any:
    """Run ``name(*args)`` (a coroutine function of this module) in a fresh process."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_child_main, (name, *args))


def _child_main(name: str, *args: Any) -> Any:
    return asyncio.run(globals()[name](*args))


async def run(repeats: int) -> list[Figure]:
    print(f"query: {AGENTS} agents × {len(METRICS)} metrics × {POINTS} points at 60 s")
    figures: list[Figure] = []
    loading = _in_child("_load")
    ours = _in_child("_queries", repeats)
    samples = AGENTS * len(METRICS) * POINTS
    print(f"  DuckDB side done, load average {os.getloadavg()[0]:.1f}")
    with victoria_metrics() as url:
        async with VictoriaMetricsStore(url) as vm:
            started = time.perf_counter()
            for batch in iter_batches(POINTS):
                await vm.write(TENANT, batch)
            await vm.flush()
            print(f"  loaded VictoriaMetrics in {time.perf_counter() - started:.1f} s")
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def vm_query(path: str, form: dict[str, str]) -> None:
                data = {**form, "extra_label": f"{TENANT_LABEL}={TENANT}", "nocache": "1"}
                response = await client.post(path, data=data)
                response.raise_for_status()

            for name, (query, target) in QUERIES.items():

                async def theirs(q: str = query) -> None:
                    await vm_query("/api/v1/query", {"query": q, "time": str(END_MS / 1000)})

                reference = await _median_ms(theirs, repeats)
                figures.append(
                    Figure(name, ours[name], "ms", target, reference, lower_is_better=True)
                )
                figures.append(Figure(f"reference: VictoriaMetrics {name}", reference, "ms"))

            start = END_MS - 86_400_000

            async def theirs_range() -> None:
                form = {
                    "query": RANGE_QUERY,
                    "start": str(start / 1000),
                    "end": str(END_MS / 1000),
                    "step": "60s",
                }
                await vm_query("/api/v1/query_range", form)

            reference = await _median_ms(theirs_range, repeats)
            figures.append(
                Figure(
                    RANGE_NAME,
                    ours[RANGE_NAME],
                    "ms",
                    RANGE_TARGET_MS,
                    reference,
                    lower_is_better=True,
                )
            )
            figures.append(Figure(f"reference: VictoriaMetrics {RANGE_NAME}", reference, "ms"))
    print(f"  load average {os.getloadavg()[0]:.1f}")
    figures.append(
        Figure(
            "DuckDB disk bytes/sample",
            ours["disk_bytes"] / samples,
            "B",
            BYTES_TARGET,
            lower_is_better=True,
        )
    )
    if loading:
        figures.append(
            Figure(
                "store process peak RSS, loading 11.5 M samples",
                loading["VmHWM"],
                "MB",
                RSS_TARGET_MB,
                lower_is_better=True,
            )
        )
    figures.append(
        Figure(
            "store process peak RSS, open + queries",
            ours["memory"]["VmHWM"],
            "MB",
            RSS_TARGET_MB,
            lower_is_better=True,
        )
    )
    figures.append(Figure("store process RSS after the queries", ours["memory"]["VmRSS"], "MB"))
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per query")
    args = parser.parse_args(argv)
    print(machine())
    figures = asyncio.run(run(args.repeats))
    for figure in figures:
        line = figure.line()
        if figure.unit in ("ms", "B"):  # Figure.line prints whole numbers; keep decimals here
            line = line.replace(
                f"{figure.value:,.0f} {figure.unit}", f"{figure.value:,.2f} {figure.unit}", 1
            )
        print(line)
    return figures


if __name__ == "__main__":
    main()
