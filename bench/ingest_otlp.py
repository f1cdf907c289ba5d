"""OTLP/HTTP protobuf ingest into a running agentdeck (embedded DuckDB store) vs VictoriaMetrics.

Workload: 1,000 agents × 8 gauges, each data point with one attribute; each
``ExportMetricsServiceRequest`` carries 125 agents (one resource each) × 8 metrics × 10 points
(consecutive 60 s timestamps) = 10,000 samples, as a collector's batch processor would send.
The request bodies are encoded before the clock starts.

* figure: 4 concurrent HTTP clients (aiohttp: see ``bench/_load.py``) POST the bodies to
  ``/v1/metrics`` of ``agentdeck serve`` (its own process, SQLite state, DuckDB store, rate
  limit off) with a developer API key. The clock stops when the last response (2xx: samples
  durable) arrived. Each response is checked to report no rejected points.
* reference: the same samples as ``/api/v1/import`` JSON-lines bodies (pre-encoded) POSTed by
  4 concurrent clients to a fresh ``victoria-metrics``, then ``/internal/force_flush``.

Each run also prints the server's CPU time per sample (user + system, all threads), which
unlike the rate hardly depends on what else the machine is doing. ``--cpu`` instead measures,
in this process and without HTTP, the CPU per sample of each step: decoding and translating
(the message-by-message path and the bulk path), and the ingest core.

Target: >= 300,000 samples/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from agentdeck.ingest.decoders import otlp
from agentdeck.tsdb.base import SampleBatch
from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore
from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench._load import send
from bench._victoriametrics import victoria_metrics
from bench.realtime_load import cpu_seconds

TARGET = 300_000
AGENTS = 1000
AGENTS_PER_REQUEST = 125
POINTS = 10
METRICS = (
    ("agent.cpu.utilization", "1"),
    ("agent.memory.utilization", "1"),
    ("agent.requests.active", "{request}"),
    ("agent.queue.depth", "{item}"),
    ("agent.latency", "ms"),
    ("agent.tokens.rate", "{token}/s"),
    ("agent.cost.rate", "{USD}/h"),
    ("agent.errors.rate", "{error}/s"),
)
CLIENTS = 4
STEP_NS = 60_000_000_000


def make_requests(rounds: int) -> list[ExportMetricsServiceRequest]:
    """``rounds`` fleet-wide rounds of ``POINTS`` points, as 10,000-sample requests."""
    # Recent enough for retention, all in the past.
    start_ns = (time.time_ns() // STEP_NS) * STEP_NS - (rounds * POINTS + 10) * STEP_NS
    requests = []
    for r in range(rounds):
        base_ns = start_ns + r * POINTS * STEP_NS
        for first in range(0, AGENTS, AGENTS_PER_REQUEST):
            req = ExportMetricsServiceRequest()
            for agent in range(first, first + AGENTS_PER_REQUEST):
                rm = req.resource_metrics.add()
                attr = rm.resource.attributes.add(key="service.name")
                attr.value.string_value = f"agent-{agent:04d}"
                sm = rm.scope_metrics.add()
                sm.scope.name = "bench"
                for m, (name, unit) in enumerate(METRICS):
                    metric = sm.metrics.add(name=name, unit=unit)
                    for p in range(POINTS):
                        point = metric.gauge.data_points.add(
                            time_unix_nano=base_ns + p * STEP_NS,
                            as_double=float((agent * 7 + m * 13 + p) % 100) + 0.5,
                        )
                        kv = point.attributes.add(key="agent.template")
                        kv.value.string_value = f"t{agent % 3}"
            requests.append(req)
    return requests


BIG_BODIES = {"AGENTDECK_SERVER__MAX_BODY_BYTES": str(64 * 1024 * 1024)}


def _no_rejections(answer: bytes) -> None:
    response = ExportMetricsServiceResponse.FromString(answer)
    if response.partial_success.rejected_data_points:
        raise RuntimeError(response.partial_success.error_message)


def _post_all(url: str, path: str, bodies: list[bytes], headers: dict[str, str]) -> float:
    """POST ``bodies`` from ``CLIENTS`` concurrent clients (see ``bench/_load.py``); seconds."""
    return send(url, path, bodies, headers, clients=CLIENTS, check=_no_rejections)[1]


def _reference_bodies(requests: list[ExportMetricsServiceRequest], url: str) -> list[bytes]:
    encoder = VictoriaMetricsStore(url)
    tenant = uuid.uuid4()
    bodies = []
    for req in requests:
        rows = otlp.translate(req, now_ms=0).rows
        batch = SampleBatch.from_rows(
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[3] or 0 for row in rows],
            [row[2] for row in rows],
        )
        bodies.append(encoder._encode(tenant, batch))
    asyncio.run(encoder.close())
    return bodies


def run(rounds: int, repeats: int) -> list[Figure]:
    requests = make_requests(rounds)
    bodies = [r.SerializeToString() for r in requests]
    samples = len(bodies) * AGENTS_PER_REQUEST * len(METRICS) * POINTS
    print(
        f"OTLP ingest: {samples:,} samples in {len(bodies)} protobuf requests of "
        f"{samples // len(bodies):,} ({sum(map(len, bodies)) / len(bodies) / 1e6:.2f} MB each), "
        f"{CLIENTS} concurrent clients, best of {repeats} runs"
    )
    rates: list[float] = []
    references: list[float] = []
    with victoria_metrics() as vm_url:
        reference_bodies = _reference_bodies(requests, vm_url)
        for run_number in range(repeats):
            with agentdeck_server("bench-otlp-", BIG_BODIES) as (url, key):
                headers = {"Content-Type": otlp.PROTOBUF, "X-API-Key": key}
                pid = SERVERS[url].pid
                cpu = cpu_seconds(pid)
                elapsed = _post_all(url, "/v1/metrics", bodies, headers)
                cpu = cpu_seconds(pid) - cpu
            rates.append(samples / elapsed)
            elapsed = _post_all(vm_url, "/api/v1/import", reference_bodies, {})
            references.append(samples / elapsed)
            print(
                f"  run {run_number + 1}: agentdeck OTLP {rates[-1]:,.0f}/s "
                f"(server CPU {cpu / samples * 1e9:,.0f} ns/sample), "
                f"victoriametrics import {references[-1]:,.0f}/s, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
    best = max(range(len(rates)), key=rates.__getitem__)
    return [
        Figure(
            "OTLP/HTTP protobuf ingest, DuckDB", rates[best], "samples/s", TARGET, references[best]
        ),
        Figure("reference: VictoriaMetrics /api/v1/import", references[best], "samples/s"),
    ]


def _cpu_steps(rounds: int) -> None:
    """CPU per sample of each step, in this process (the first round makes new series)."""
    from agentdeck.db.engine import create_engine, create_session_factory
    from agentdeck.db.migrate import upgrade
    from agentdeck.ingest.batch import Batch, columns_from_rows
    from agentdeck.ingest.core import Ingestor
    from agentdeck.ingest.decoders.otlp_fast import batch, translate_protobuf
    from agentdeck.settings import DatabaseSettings, TSDBSettings
    from agentdeck.tsdb.duckdb import DuckDBStore

    bodies = [r.SerializeToString() for r in make_requests(rounds)]
    per_round = AGENTS // AGENTS_PER_REQUEST
    n = AGENTS_PER_REQUEST * len(METRICS) * POINTS

    def messages(body: bytes, now_ms: int) -> Any:
        translation = otlp.translate(otlp.parse_request(body, otlp.PROTOBUF), now_ms=now_ms)
        return Batch(columns_from_rows(translation.rows, now_ms=now_ms), now_ms=now_ms)

    def bulk(body: bytes, now_ms: int) -> Any:
        return batch(translate_protobuf(body, now_ms=now_ms), now_ms=now_ms)

    async def measure() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-otlp-cpu-") as tmp:
            engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp}/state.db"))
            await upgrade(engine)
            sessions = create_session_factory(engine)
            for label, decode in (("message by message", messages), ("bulk", bulk)):
                store = await DuckDBStore.open(Path(tmp) / f"{len(label)}.duckdb")
                ingestor = Ingestor(store, TSDBSettings())
                tenant = uuid.uuid4()
                decoding: list[float] = []
                core: list[float] = []
                for body in bodies:
                    now_ms = time.time_ns() // 1_000_000
                    started = time.process_time()
                    decoded_batch = decode(body, now_ms)
                    decoded = time.process_time()
                    async with sessions() as session:
                        result = await ingestor.ingest(session, tenant, decoded_batch)
                        await session.commit()
                    core.append(time.process_time() - decoded)
                    decoding.append(decoded - started)
                    if result.rejected:
                        raise RuntimeError(result.errors[0].message)
                await store.close()
                print(
                    f"  {label}: decode + translate {_ns(decoding[per_round:], n)}, "
                    f"ingest core {_ns(core[per_round:], n)} (known series)"
                )
            await engine.dispose()

    print(f"CPU per sample, {len(bodies)} requests of {n:,} samples, load {os.getloadavg()[0]:.1f}")
    asyncio.run(measure())


def _ns(seconds: list[float], samples: int) -> str:
    ordered = sorted(seconds)
    return (
        f"median {ordered[len(ordered) // 2] / samples * 1e9:,.0f} ns "
        f"(best {ordered[0] / samples * 1e9:,.0f} ns)"
    )


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=10, help="fleet rounds of 10 points")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the best one counts")
    parser.add_argument(
        "--cpu", action="store_true", help="CPU per sample of each step, in-process, no HTTP"
    )
    args = parser.parse_args(argv)
    print(machine())
    if args.cpu:
        _cpu_steps(min(args.rounds, 4))
        return []
    figures = run(args.rounds, args.repeats)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
