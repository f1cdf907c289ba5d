"""Store write rate without HTTP: the embedded DuckDB store vs VictoriaMetrics's import API.

Workload: 1,000 agents × 8 metrics (8,000 series), one sample per series per 60 s, in time
order (as a fleet reports), cut into batches of 10,000 samples, written by 4 concurrent
writers. The batches are built before the clock starts: building them is the ingest parser's
work, measured by the HTTP ingest benchmarks. Like the ingest core's, they carry a tag per
series (``SampleBatch.tags``), by which the store finds the series.

* figure: ``DuckDBStore.write`` from 4 asyncio writers into a fresh file; the clock stops when
  the last write returned (every sample committed to the write-ahead log).
* reference: the same samples as ``/api/v1/import`` JSON-lines bodies (pre-encoded, one line
  per series per batch), POSTed by 4 concurrent HTTP clients to a fresh ``victoria-metrics``
  on 127.0.0.1, then ``/internal/force_flush``; the clock stops when the flush returned.

Target: >= 2,000,000 samples/s for the DuckDB store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from agentdeck.tsdb.base import SampleBatch, SeriesKey, next_series_tag
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore
from agentdeck.tsdb.victoriametrics_wire import encode_import
from bench import Figure, machine
from bench._victoriametrics import victoria_metrics

TARGET = 2_000_000
TIME_BUDGET_S = 75.0  # stop repeating after this; a full run stays well under 2 minutes
AGENTS = 1000
METRICS = (
    "agent_cpu_percent",
    "agent_memory_percent",
    "agent_requests_total",
    "agent_errors_total",
    "agent_latency_ms",
    "agent_tokens_in_total",
    "agent_tokens_out_total",
    "agent_cost_usd_total",
)
BATCH = 10_000
WRITERS = 4
START_MS = 1_717_372_800_000
STEP_MS = 60_000


def iter_batches(points: int, seed: int = 1) -> Iterator[SampleBatch]:
    """``points`` fleet snapshots of 8,000 series in time order, in batches of 10,000, made
    as they are consumed (so a loader holds one batch, not the whole data set)."""
    rng = np.random.default_rng(seed)
    keys = [
        SeriesKey.of(metric, {"agent": f"agent-{agent:04d}", "template": f"t{agent % 3}"})
        for agent in range(AGENTS)
        for metric in METRICS
    ]
    n_series = len(keys)
    # One tag per key object, as the ingest core attaches them (SampleBatch.tags).
    tags = np.array([next_series_tag() for _ in keys], dtype=np.int64)
    total = n_series * points
    for start in range(0, total, BATCH):
        position = np.arange(start, min(start + BATCH, total), dtype=np.int64)
        part = (position % n_series).astype(np.int32)
        timestamps = START_MS + (position // n_series) * STEP_MS
        values = np.round(rng.uniform(0, 100, len(position)), 2)
        used, local = np.unique(part, return_inverse=True)  # only the batch's own series
        yield SampleBatch(
            tuple(keys[i] for i in used.tolist()),
            local.astype(np.int32),
            timestamps,
            values,
            tags[used],
        )


def make_batches(points: int, seed: int = 1) -> list[SampleBatch]:
    """:func:`iter_batches` as a list (built before a clock starts)."""
    return list(iter_batches(points, seed))


async def _drive(write: object, batches: list[object], writers: int) -> float:
    """Run ``writers`` tasks that each take the next item and await ``write(item)``."""
    queue = iter(batches)

    async def worker() -> None:
        for item in queue:
            await write(item)  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(writers)))
    return time.perf_counter() - started


async def duckdb_rate(batches: list[SampleBatch]) -> tuple[float, dict[str, float]]:
    tenant = uuid.uuid4()
    samples = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory(prefix="bench-duckdb-") as tmp:
        store = await DuckDBStore.open(Path(tmp) / "metrics.duckdb")
        try:

            async def write(batch: SampleBatch) -> None:
                await store.write(tenant, batch)

            elapsed = await _drive(write, list(batches), WRITERS)
            stats = await store.stats()
        finally:
            await store.close()
    details = {
        "seconds": elapsed,
        "transactions": stats.write_transactions,
        "samples_per_transaction": samples / max(stats.write_transactions, 1),
        "bytes_per_sample": (stats.disk_bytes or 0) / samples,
    }
    return samples / elapsed, details


async def victoriametrics_rate(batches: list[SampleBatch], url: str) -> tuple[float, float]:
    """(import API samples/s with pre-encoded bodies, VictoriaMetricsStore.write samples/s)."""
    samples = sum(len(b) for b in batches)
    tenant = uuid.uuid4()
    prefixes: dict[tuple[uuid.UUID, SeriesKey], str] = {}
    bodies = [encode_import(tenant, b, prefixes) for b in batches]
    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def post(body: bytes) -> None:
            response = await client.post("/api/v1/import", content=body)
            response.raise_for_status()

        started = time.perf_counter()
        await _drive(post, list(bodies), WRITERS)
        (await client.get("/internal/force_flush")).raise_for_status()
        reference = samples / (time.perf_counter() - started)

    # The store's own write path (encoding included), into another tenant.
    async with VictoriaMetricsStore(url) as store:
        other = uuid.uuid4()

        async def write(batch: SampleBatch) -> None:
            await store.write(other, batch)

        started = time.perf_counter()
        await _drive(write, list(batches), WRITERS)
        await store.flush()
        through_store = samples / (time.perf_counter() - started)
    return reference, through_store


async def run(points: int, repeats: int) -> list[Figure]:
    started = time.monotonic()
    batches = make_batches(points)
    samples = sum(len(b) for b in batches)
    print(
        f"store write: {samples:,} samples ({AGENTS} agents × {len(METRICS)} metrics × "
        f"{points} points), batches of {BATCH:,}, {WRITERS} concurrent writers, "
        f"best of up to {repeats} runs"
    )
    rates: list[float] = []
    details: list[dict[str, float]] = []
    references: list[float] = []
    through_store: list[float] = []
    with victoria_metrics() as url:
        for run_number in range(repeats):
            # Alternate the two so that background load hits both alike.
            rate, detail = await duckdb_rate(batches)
            rates.append(rate)
            details.append(detail)
            reference, store_rate = await victoriametrics_rate(batches, url)
            references.append(reference)
            through_store.append(store_rate)
            print(
                f"  run {run_number + 1}: duckdb {rate:,.0f}/s "
                f"({detail['transactions']:.0f} transactions of "
                f"{detail['samples_per_transaction']:,.0f} samples), "
                f"victoriametrics import {reference:,.0f}/s, store path {store_rate:,.0f}/s, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            if time.monotonic() - started > TIME_BUDGET_S:
                break
    best = max(range(len(rates)), key=rates.__getitem__)
    paired = sorted(rate / ref for rate, ref in zip(rates, references, strict=True))
    print(f"  DuckDB/VictoriaMetrics ratio per run: {', '.join(f'{r:.2f}' for r in paired)}")
    return [
        # The ratio is taken against the reference measured in the same run.
        Figure("store write, DuckDB (no HTTP)", rates[best], "samples/s", TARGET, references[best]),
        Figure("reference: VictoriaMetrics /api/v1/import", references[best], "samples/s"),
        Figure(
            "VictoriaMetricsStore.write (JSON encoding incl.)",
            through_store[best],
            "samples/s",
            reference=references[best],
        ),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=400, help="snapshots per series")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the best one counts")
    args = parser.parse_args(argv)
    print(machine())
    figures = asyncio.run(run(args.points, args.repeats))
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
