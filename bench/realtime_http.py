"""``GET /api/v1/real-time-metrics`` under open-loop load, with 1,000 agents reporting.

Setup: ``agentdeck serve`` in its own process (uvicorn on 127.0.0.1, SQLite state, DuckDB
store, rate limit off, fresh files; with ``--bus redis`` on the Redis bus), 1,000 agents
registered through the API, and a background ingest: every second each agent reports 4
gauges (4,000 samples/s in 20 requests of 200 samples, spread over the second).

* figure: this process sends ``GET /api/v1/real-time-metrics`` with a viewer-level API key at
  a fixed arrival rate (1,000/s for 60 s) over 32 keep-alive connections; a request's latency
  runs from its due time (queueing included). p95, p99, the achieved rate and the growth of
  the server's resident memory (its peak during the run minus its level after warm-up).
* the seed's figure: the same at 100 requests/s (target p95 < 300 ms).
* reference, same run and server: ``GET /healthz`` (no auth, no database) at the same rate.

Targets: p95 <= 50 ms and p99 <= 100 ms at 1,000/s sustained; memory growth <= 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from urllib.parse import urlsplit

from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench.realtime_load import (
    Fleet,
    LoadResult,
    background,
    cpu_seconds,
    open_loop,
    percentile,
    raw_request,
    register_agents,
    rss_bytes,
    run_loop,
)

RATE = 1000
SEED_RATE = 100
CONNECTIONS = 32
TARGET_P95_MS = 50
TARGET_P99_MS = 100
SEED_P95_MS = 300
TARGET_GROWTH_MB = 50
REDIS_URL = os.environ.get("AGENTDECK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def server_env(bus: str) -> dict[str, str]:
    env = {"AGENTDECK_DEFAULT_AGENT_QUOTA": "100000", "AGENTDECK_LOOPS__ENABLED": "false"}
    if bus == "redis":
        env["AGENTDECK_REDIS_URL"] = REDIS_URL
    return env


def _describe(name: str, result: LoadResult) -> str:
    ms = [v * 1000 for v in result.latencies]
    return (
        f"  {name}: asked {result.rate:,.0f}/s for {result.duration:.0f} s, achieved "
        f"{result.achieved:,.0f}/s, p50 {percentile(ms, 50):.1f} ms, p95 "
        f"{percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max "
        f"{max(ms, default=float('nan')):.1f} ms, errors {result.errors}, "
        f"{result.body_bytes / max(1, len(ms)) / 1000:.0f} kB/answer, "
        f"load average {os.getloadavg()[0]:.1f}"
        + (f", answers by status {result.statuses} {result.failure}" if result.errors else "")
        + (
            f"; server CPU {result.cpu:.1f} s = {result.cpu / max(1, len(ms)) * 1000:.2f} ms "
            "per answer (ingest included)"
            if result.cpu
            else ""
        )
        + f"; load generator CPU {result.client_cpu / max(1, len(ms)) * 1e6:.0f} us per request"
        " (ingest included)"
    )


async def _measure(
    url: str, key: str, pid: int, rate: float, duration: float, seed_duration: float
) -> tuple[LoadResult, LoadResult, LoadResult, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    started = time.perf_counter()
    await register_agents(url, key)
    print(f"  1,000 agents registered in {time.perf_counter() - started:.1f} s")
    fleet = Fleet(host, port, key)
    target = raw_request("GET", "/api/v1/real-time-metrics", {"X-API-Key": key})
    reference = raw_request("GET", "/healthz", {})
    total = 5 + seed_duration + duration + duration + 10
    async with background([fleet.run(total)]):
        # warm-up: caches, connections, the first probe round
        await open_loop(host, port, target, rate=SEED_RATE, duration=5, connections=CONNECTIONS)
        seed = await open_loop(
            host, port, target, rate=SEED_RATE, duration=seed_duration, connections=CONNECTIONS
        )
        print(_describe("real-time-metrics (seed rate)", seed))
        baseline = rss_bytes(pid)
        peak = baseline

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, rss_bytes(pid))
                await asyncio.sleep(0.5)

        cpu = cpu_seconds(pid)
        async with background([watch()]):
            main = await open_loop(
                host, port, target, rate=rate, duration=duration, connections=CONNECTIONS
            )
        main.cpu = cpu_seconds(pid) - cpu
        print(_describe("real-time-metrics", main))
        growth = (peak - baseline) / 1e6
        print(f"  server RSS {baseline / 1e6:.0f} MB after warm-up, peak {peak / 1e6:.0f} MB")
        cpu = cpu_seconds(pid)
        ref = await open_loop(
            host, port, reference, rate=rate, duration=duration, connections=CONNECTIONS
        )
        ref.cpu = cpu_seconds(pid) - cpu
        print(_describe("reference /healthz", ref))
    print(f"  ingest: {fleet.samples:,} samples accepted, {fleet.errors} failed requests")
    return seed, main, ref, growth


def _per(result: LoadResult) -> float:
    """Server CPU milliseconds per answered request (the background ingest included)."""
    return result.cpu / max(1, len(result.latencies)) * 1000


def run(bus: str, rate: float, duration: float, seed_duration: float) -> list[Figure]:
    print(
        f"real-time-metrics, {bus} bus: 1,000 agents, ingest 4,000 samples/s, open loop "
        f"{rate:,.0f}/s for {duration:.0f} s over {CONNECTIONS} connections"
    )
    with agentdeck_server("bench-rtm-", server_env(bus)) as (url, key):
        seed, main, ref, growth = run_loop(
            _measure(url, key, SERVERS[url].pid, rate, duration, seed_duration)
        )
    ms = [v * 1000 for v in main.latencies]
    ref_ms = [v * 1000 for v in ref.latencies]
    seed_ms = [v * 1000 for v in seed.latencies]
    label = f"real-time-metrics {bus} bus @{rate:,.0f}/s"
    return [
        Figure(f"{label} p95", percentile(ms, 95), "ms", TARGET_P95_MS,
               percentile(ref_ms, 95), lower_is_better=True),
        Figure(f"{label} p99", percentile(ms, 99), "ms", TARGET_P99_MS,
               percentile(ref_ms, 99), lower_is_better=True),
        Figure(f"{label} achieved", main.achieved, "req/s", rate * 0.99, ref.achieved),
        Figure(f"{label} errors", main.errors, "requests", 0, lower_is_better=True),
        Figure(f"{label} server memory growth", growth, "MB", TARGET_GROWTH_MB,
               lower_is_better=True),
        Figure(f"real-time-metrics {bus} bus @{SEED_RATE}/s p95 (seed)", percentile(seed_ms, 95),
               "ms", SEED_P95_MS, lower_is_better=True),
        Figure(f"reference: /healthz {bus} bus @{rate:,.0f}/s p99", percentile(ref_ms, 99), "ms"),
        Figure(f"real-time-metrics {bus} bus server CPU per answer", _per(main) * 1000, "us",
               reference=_per(ref) * 1000, lower_is_better=True),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bus", choices=["memory", "redis", "both"], default="both")
    parser.add_argument("--rate", type=float, default=RATE, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds at the rate")
    parser.add_argument("--seed-duration", type=float, default=20.0, help="seconds at 100/s")
    args = parser.parse_args(argv)
    print(machine())
    buses = ["memory", "redis"] if args.bus == "both" else [args.bus]
    figures: list[Figure] = []
    for bus in buses:
        figures += run(bus, args.rate, args.duration, args.seed_duration)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
