"""JSON ingest over HTTP into a running agentdeck (embedded DuckDB store) vs VictoriaMetrics.

Workload: 1,000 agents × 8 gauges (8,000 series, labels ``agent`` and ``template``), one sample
per series per 60 s in time order, cut into ``POST /api/v1/metrics/batch`` bodies of 10,000
samples (``{"samples": [{"name", "value", "timestamp", "labels"}]}``, as the SDK sends them).
The bodies are encoded before the clock starts.

* warm-up: the first ``WARMUP`` bodies go to each server before its clock starts, so the
  figure is the steady ingest rate of a running server: they create the 8,000 series (the
  first body holds every one of them) and, in agentdeck, start the JSON decode workers (which
  a server starts on its first large body). Each run prints how long they took.
* figure: 4 concurrent HTTP clients (this process, aiohttp: see ``bench/_load.py``) POST the
  other bodies to ``agentdeck serve`` (its own process: uvicorn on 127.0.0.1, SQLite state,
  DuckDB store, rate limit off) with a developer API key. The clock stops when the last
  response arrived (200: samples durable); every response must report all 10,000 samples
  accepted. Each run also prints the server's
  CPU time per sample (its event-loop thread, all its threads and its JSON decode worker
  processes, from ``/proc``), which varies far less with the machine's load than the rate.
* reference: the same samples as ``/api/v1/import`` JSON-lines bodies (one line per series per
  request, pre-encoded) POSTed by 4 concurrent clients to a ``victoria-metrics`` started for
  the benchmark, then ``/internal/force_flush``; its warm-up is the same first bodies.

Target: >= 500,000 samples/s (stretch 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import orjson

from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench._load import send
from bench._victoriametrics import victoria_metrics

TARGET = 500_000
AGENTS = 1000
METRICS = (
    "agent_cpu_percent",
    "agent_memory_percent",
    "agent_requests_in_flight",
    "agent_queue_depth",
    "agent_request_latency_seconds",
    "agent_tokens_per_second",
    "agent_cost_usd_per_hour",
    "agent_errors_per_second",
)
BATCH = 10_000
CLIENTS = 4
#: Bodies sent before the clock starts (two per client).
WARMUP = 8
STEP_MS = 60_000
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> tuple[float, float, float]:
    """(event-loop thread, whole process, its child processes) CPU seconds of a Linux process
    so far; the children are the JSON decode workers."""

    def read(path: str) -> float:
        try:
            with open(path) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a child that exited meanwhile
            return 0.0
        return (int(fields[11]) + int(fields[12])) / _TICK

    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        children = listing.read().split()
    return (
        read(f"/proc/{pid}/task/{pid}/stat"),
        read(f"/proc/{pid}/stat"),
        sum(read(f"/proc/{child}/stat") for child in children),
    )


def make_samples(requests: int) -> list[list[dict[str, Any]]]:
    """``requests`` lists of ``BATCH`` samples: whole fleet snapshots in time order."""
    total = requests * BATCH
    snapshots = -(-total // (AGENTS * len(METRICS)))
    start = (time.time_ns() // 1_000_000 // STEP_MS) * STEP_MS - (snapshots + 5) * STEP_MS
    flat: list[dict[str, Any]] = []
    for snap in range(snapshots):
        ts = start + snap * STEP_MS
        for agent in range(AGENTS):
            labels = {"agent": f"agent-{agent:04d}", "template": f"t{agent % 3}"}
            for m, name in enumerate(METRICS):
                value = float((agent * 7 + m * 13 + snap) % 100) + 0.5
                flat.append({"name": name, "value": value, "timestamp": ts, "labels": labels})
                if len(flat) == total:
                    break
            if len(flat) == total:
                break
    return [flat[i : i + BATCH] for i in range(0, total, BATCH)]


def _import_body(samples: list[dict[str, Any]]) -> bytes:
    """VictoriaMetrics ``/api/v1/import`` JSON lines: one line per series of the request."""
    series: dict[tuple[str, str, str], tuple[list[float], list[int]]] = {}
    for s in samples:
        key = (s["name"], s["labels"]["agent"], s["labels"]["template"])
        values, stamps = series.setdefault(key, ([], []))
        values.append(s["value"])
        stamps.append(s["timestamp"])
    lines = [
        orjson.dumps(
            {
                "metric": {"__name__": name, "agent": agent, "template": template},
                "values": values,
                "timestamps": stamps,
            }
        )
        for (name, agent, template), (values, stamps) in series.items()
    ]
    return b"\n".join(lines) + b"\n"


def _all_accepted(answer: bytes) -> None:
    body = orjson.loads(answer)
    if body["accepted"] != BATCH:
        raise RuntimeError(f"samples refused: {body['errors'][:3]}")


def _post_all(
    url: str, path: str, bodies: list[bytes], headers: dict[str, str], budget: float
) -> tuple[int, float]:
    """POST ``bodies`` from ``CLIENTS`` concurrent clients; (bodies sent, seconds)."""
    return send(url, path, bodies, headers, clients=CLIENTS, check=_all_accepted, budget=budget)


def run(requests: int, repeats: int, budget: float) -> list[Figure]:
    batches = make_samples(requests)
    bodies = [orjson.dumps({"samples": batch}) for batch in batches]
    reference_bodies = [_import_body(batch) for batch in batches]
    print(
        f"JSON ingest: up to {(requests - WARMUP) * BATCH:,} samples in {len(bodies) - WARMUP} "
        f"requests of {BATCH:,} after {WARMUP} to warm up "
        f"({sum(map(len, bodies)) / len(bodies) / 1e6:.2f} MB each), {CLIENTS} concurrent "
        f"clients, at most {budget:.0f} s per run, best of {repeats} runs"
    )
    rates: list[float] = []
    references: list[float] = []
    headers = {"Content-Type": "application/json"}
    with victoria_metrics() as vm_url:
        for run_number in range(repeats):
            with agentdeck_server("bench-json-") as (url, key):
                pid = SERVERS[url].pid
                auth = {**headers, "X-API-Key": key}
                path = "/api/v1/metrics/batch"
                _, warmup = _post_all(url, path, bodies[:WARMUP], auth, budget)
                main_before, all_before, workers_before = _cpu_seconds(pid)
                sent, elapsed = _post_all(url, path, bodies[WARMUP:], auth, budget)
                main_after, all_after, workers_after = _cpu_seconds(pid)
            rates.append(sent * BATCH / elapsed)
            per_sample = 1e9 / (sent * BATCH)
            print(
                f"  run {run_number + 1}: warm-up ({WARMUP} bodies) {warmup:.2f} s; "
                "server CPU per sample "
                f"{(main_after - main_before) * per_sample:,.0f} ns event loop, "
                f"{(all_after - all_before) * per_sample:,.0f} ns all threads, "
                f"{(workers_after - workers_before) * per_sample:,.0f} ns decode workers"
            )
            if run_number == 0:
                _post_all(vm_url, "/api/v1/import", reference_bodies[:WARMUP], {}, budget)
            sent, elapsed = _post_all(
                vm_url, "/api/v1/import", reference_bodies[WARMUP:], {}, budget
            )
            references.append(sent * BATCH / elapsed)
            print(
                f"  run {run_number + 1}: agentdeck JSON {rates[-1]:,.0f}/s, "
                f"victoriametrics import {references[-1]:,.0f}/s, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
    best = max(range(len(rates)), key=rates.__getitem__)
    return [
        Figure(
            "HTTP JSON batch ingest, DuckDB", rates[best], "samples/s", TARGET, references[best]
        ),
        Figure("reference: VictoriaMetrics /api/v1/import", references[best], "samples/s"),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="bodies of 10,000 samples")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the best one counts")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per run, at most")
    args = parser.parse_args(argv)
    print(machine())
    figures = run(args.requests, args.repeats, args.budget)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
