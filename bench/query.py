"""PromQL query latency on the embedded store, VictoriaMetrics's own query API as reference.

Data: 1,000 agents × 8 metrics × 24 h at 60 s (11.52M samples, the store-write benchmark's
shape), loaded into a DuckDB store file (cached under ``bench/results/`` between runs) and
into a fresh ``victoria-metrics``. Figures (median of repeated runs after a warm-up):

* one series, 1 h average: ``avg_over_time(cpu{agent="…"}[1h])`` — target ≤ 2 ms
* fleet: ``avg by (agent) (avg_over_time(cpu[1h]))`` over 1,000 series — target ≤ 20 ms
* one series, 24 h range at a 1-minute step (1,441 points) — target ≤ 5 ms
* disk bytes per sample of the DuckDB file — target ≤ 8
* peak RSS of the benchmark process (store, data and engine)

Our engine is called in-process (no HTTP); VictoriaMetrics is timed over HTTP on 127.0.0.1,
so its figures include a local round trip (about 0.1–0.3 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from agentdeck.tsdb import promql
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.victoriametrics import TENANT_LABEL, VictoriaMetricsStore
from bench import Figure, machine
from bench._victoriametrics import victoria_metrics
from bench.store_write import AGENTS, METRICS, START_MS, STEP_MS, make_batches

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
RANGE_TARGET_MS = 5.0
BYTES_TARGET = 8.0


async def _median_ms(call: Callable[[], Awaitable[object]], repeats: int) -> float:
    await call()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _duckdb_store() -> tuple[DuckDBStore, int]:
    expected = AGENTS * len(METRICS) * POINTS
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    store = await DuckDBStore.open(CACHE)
    stats = await store.stats()
    if stats.series == AGENTS * len(METRICS):
        return store, expected
    await store.close()
    for path in CACHE.parent.glob(CACHE.name + "*"):
        path.unlink()
    store = await DuckDBStore.open(CACHE)
    started = time.perf_counter()
    for batch in make_batches(POINTS):
        await store.write(TENANT, batch)
    print(f"  loaded {expected:,} samples into DuckDB in {time.perf_counter() - started:.1f} s")
    return store, expected


async def run(repeats: int) -> list[Figure]:
    print(f"query: {AGENTS} agents × {len(METRICS)} metrics × {POINTS} points at 60 s")
    figures: list[Figure] = []
    store, samples = await _duckdb_store()
    with victoria_metrics() as url:
        async with VictoriaMetricsStore(url) as vm:
            started = time.perf_counter()
            for batch in make_batches(POINTS):
                await vm.write(TENANT, batch)
            await vm.flush()
            print(f"  loaded VictoriaMetrics in {time.perf_counter() - started:.1f} s")
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def vm_query(path: str, form: dict[str, str]) -> None:
                data = {**form, "extra_label": f"{TENANT_LABEL}={TENANT}", "nocache": "1"}
                response = await client.post(path, data=data)
                response.raise_for_status()

            for name, (query, target) in QUERIES.items():

                async def ours(q: str = query) -> object:
                    return await promql.instant_query(store, TENANT, q, END_MS)

                async def theirs(q: str = query) -> None:
                    await vm_query("/api/v1/query", {"query": q, "time": str(END_MS / 1000)})

                mine = await _median_ms(ours, repeats)
                reference = await _median_ms(theirs, repeats)
                figures.append(Figure(name, mine, "ms", target, reference, lower_is_better=True))
                figures.append(Figure(f"reference: VictoriaMetrics {name}", reference, "ms"))

            start = END_MS - 86_400_000

            async def ours_range() -> object:
                return await promql.range_query(store, TENANT, RANGE_QUERY, start, END_MS, 60_000)

            async def theirs_range() -> None:
                form = {
                    "query": RANGE_QUERY,
                    "start": str(start / 1000),
                    "end": str(END_MS / 1000),
                    "step": "60s",
                }
                await vm_query("/api/v1/query_range", form)

            mine = await _median_ms(ours_range, repeats)
            reference = await _median_ms(theirs_range, repeats)
            name = "one series 24h range, 1m step"
            figures.append(
                Figure(name, mine, "ms", RANGE_TARGET_MS, reference, lower_is_better=True)
            )
            figures.append(Figure(f"reference: VictoriaMetrics {name}", reference, "ms"))
    stats = await store.stats()
    await store.close()
    figures.append(
        Figure(
            "DuckDB disk bytes/sample",
            (stats.disk_bytes or 0) / samples,
            "B",
            BYTES_TARGET,
            lower_is_better=True,
        )
    )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(Figure("peak RSS of the benchmark process", rss_mb, "MB"))
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
