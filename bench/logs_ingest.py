"""Log ingest over HTTP into a running agentdeck (embedded DuckDB log store).

Workload: JSON batches of 1,000 realistic log lines (``POST /api/v1/logs/batch``) from the log
benchmarks' generator (``bench/_logs_data.py``: messages of 80-300 bytes from ~40 templates
with varying ids, durations and paths, 20 services, the five severities, mostly INFO, three
stream labels and an agent per line, a trace id on one line in ten), time stamps over the
last five minutes. The bodies are encoded before the clock starts.

* warm-up: the first ``WARMUP`` bodies go to the server before its clock starts.
* figure: 4 concurrent HTTP clients (this process, aiohttp: see ``bench/_load.py``) POST the
  other bodies to ``agentdeck serve`` (its own process: uvicorn on 127.0.0.1, SQLite state,
  DuckDB log store, rate limits off) with a developer API key. The clock stops when the last
  answer arrived (200: lines durable); every answer must report all 1,000 lines accepted.
* memory: the server's peak resident set (``VmHWM``) once the run is over.
* ``--no-mining``: the server runs with template mining off (``logintel.mining_enabled``), so
  the figure is the ingest path and the store alone (issue 16's target); by default every line
  also goes through the template miner, as in a default deployment.
* the server's CPU time per line (its event-loop thread, and all its threads with DuckDB's),
  which varies far less with the machine's load than the rate.

Reference (issue 16): the same lines (the bodies' records, same order) written into a real
ClickHouse (``clickhouse-server`` on 127.0.0.1, started by the bench) through
``ClickHouseLogStore.write`` by 4 concurrent writers in batches of 1,000, after the HTTP run;
the ratio printed is the HTTP rate over that one (no HTTP on the reference's side).

Targets: >= 150,000 lines/s; server RSS < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from typing import Any

import orjson

from agentdeck.logstore.base import LogRecord
from agentdeck.logstore.clickhouse import ClickHouseLogStore
from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench._clickhouse import clickhouse
from bench._load import send
from bench._logs_data import generate
from bench.ingest_http import _cpu_seconds

TARGET = 150_000
RSS_TARGET_MB = 500
BATCH = 1000
CLIENTS = 4
WARMUP = 8


def make_bodies(requests: int, seed: int = 7) -> list[bytes]:
    """``requests`` JSON batch bodies of ``BATCH`` lines (see :func:`bodies_and_records`)."""
    return bodies_and_records(requests, seed)[0]


def bodies_and_records(requests: int, seed: int = 7) -> tuple[list[bytes], list[list[LogRecord]]]:
    """``requests`` JSON batch bodies of ``BATCH`` lines from the log benchmarks' generator
    (``bench/_logs_data.py``), time stamps over the last five minutes, and their records."""
    now = time.time_ns()
    bodies = []
    batches = []
    for records in generate(
        requests * BATCH,
        tenant_id=uuid.uuid4(),
        start_ns=now - 300 * 10**9,
        end_ns=now,
        seed=seed,
        chunk=BATCH,
    ):
        entries: list[dict[str, Any]] = []
        for record in records:
            entry: dict[str, Any] = {
                "timestamp": record.ts_ns,
                "severity": record.severity.value,
                "service": record.service,
                "message": record.message,
                "labels": dict(record.labels),
                "agent": record.agent,
            }
            if record.trace_id:
                entry["trace_id"], entry["span_id"] = record.trace_id, record.span_id
            entries.append(entry)
        bodies.append(orjson.dumps({"entries": entries}))
        batches.append(records)
    return bodies, batches


def clickhouse_rate(batches: list[list[LogRecord]], budget: float) -> float:
    """Lines/s of ``batches`` written into a fresh ClickHouse by ``CLIENTS`` writers."""

    async def drive(url: str) -> tuple[int, float]:
        store = ClickHouseLogStore(url, database="bench_ingest")
        await store.start()
        try:
            queue = iter(batches)
            written = 0
            started = time.perf_counter()

            async def writer() -> None:
                nonlocal written
                for batch in queue:
                    if time.perf_counter() - started > budget:
                        return
                    await store.write(batch)
                    written += len(batch)

            await asyncio.gather(*(writer() for _ in range(CLIENTS)))
            return written, time.perf_counter() - started
        finally:
            await store.close()

    with clickhouse() as url:
        written, seconds = asyncio.run(drive(url))
    rate = written / seconds
    print(
        f"  reference: {written:,} lines into ClickHouse in {seconds:.2f} s: {rate:,.0f} "
        f"lines/s; load average {os.getloadavg()[0]:.1f}"
    )
    return rate


def _all_accepted(answer: bytes) -> None:
    body = orjson.loads(answer)
    if body["accepted"] != BATCH:
        raise RuntimeError(f"lines refused: {body['errors'][:3]}")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(requests: int, budget: float, *, mining: bool = True) -> list[Figure]:
    bodies, batches = bodies_and_records(requests)
    sizes = [len(b) for b in bodies]
    print(
        f"log ingest: up to {(requests - WARMUP) * BATCH:,} lines in {requests - WARMUP} "
        f"requests of {BATCH:,} after {WARMUP} to warm up ({sum(sizes) / len(sizes) / 1e6:.2f}"
        f" MB each), {CLIENTS} concurrent clients, at most {budget:.0f} s; template mining "
        f"{'on' if mining else 'off'}"
    )
    env = {} if mining else {"AGENTDECK_LOGINTEL__MINING_ENABLED": "false"}
    headers = {"Content-Type": "application/json"}
    with agentdeck_server("bench-logs-", env) as (url, key):
        pid = SERVERS[url].pid
        auth = {**headers, "X-API-Key": key}
        path = "/api/v1/logs/batch"
        send(url, path, bodies[:WARMUP], auth, clients=CLIENTS, check=_all_accepted)
        loop_before, all_before, _ = _cpu_seconds(pid)
        sent, elapsed = send(
            url, path, bodies[WARMUP:], auth, clients=CLIENTS, check=_all_accepted, budget=budget
        )
        loop_after, all_after, _ = _cpu_seconds(pid)
        rss = _peak_rss_mb(pid)
    rate = sent * BATCH / elapsed
    reference = clickhouse_rate(batches[WARMUP:], budget)
    per_line = 1e9 / (sent * BATCH)
    print(
        f"  {sent * BATCH:,} lines in {elapsed:.2f} s: {rate:,.0f} lines/s; server CPU per "
        f"line {(loop_after - loop_before) * per_line:,.0f} ns event loop, "
        f"{(all_after - all_before) * per_line:,.0f} ns all threads; server peak RSS "
        f"{rss:.0f} MB; load average {os.getloadavg()[0]:.1f}; ratio to ClickHouse "
        f"{rate / reference:.2f}"
    )
    return [
        Figure(
            "HTTP log ingest (JSON batch), DuckDB", rate, "lines/s", TARGET, reference=reference
        ),
        Figure(
            "server peak RSS through log ingest", rss, "MB", RSS_TARGET_MB, lower_is_better=True
        ),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=400, help="bodies of 1,000 lines")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds, at most")
    parser.add_argument(
        "--no-mining",
        action="store_true",
        help="template mining off (logintel.mining_enabled): the ingest path and store alone",
    )
    args = parser.parse_args(argv)
    print(machine())
    figures = run(args.requests, args.budget, mining=not args.no_mining)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
