"""Alerting: rule-evaluation cost and sample-to-notification latency.

1. **Evaluation cost.** 1,000 agents report ``agent_cpu_percent``, ``agent_memory_percent``,
   ``agent_requests_total`` and ``agent_errors_total`` every 15 s (the last 20 minutes are in
   a fresh embedded DuckDB store; ~5 % of the agents run hot). 1,000 rules: the default pack's
   8 fleet-wide rules (each matches all 1,000 agents; the latency pair finds no histogram and
   returns nothing) plus 992 per-agent rules
   ``avg_over_time(agent_cpu_percent{agent="agent-NNNN"}[5m]) >= 80`` with ``for: 0`` (the hot
   agents' rules fire in the first round and stay firing). Every rule is due each round; a
   round is one ``EvaluatorLoop.tick()`` (the code the ``alert-evaluator`` loop runs: query,
   state machine, alert and state writes in the SQLite state database, one transaction per
   rule, 8 rules at once). Figures: wall seconds per round (target: within the 15 s interval)
   and process CPU seconds per round / 15 s = the fraction of a core the evaluator needs at a
   15 s interval (target < 0.5). **Reference**, same run: the same 1,000 PromQL queries run
   straight through the query service (8 at once), no state, no writes — the difference is
   the evaluator's own overhead.
2. **Latency.** ``agentdeck serve`` (subprocess, 127.0.0.1, fresh data dir, default loop
   intervals of 1 s) with one rule ``bench_probe_value > 50`` at a 5 s interval, a routing
   tree with ``group_by: ["..."]`` and ``group_wait_seconds: 0`` to a receiver whose webhook
   channel points at a receiver in this process. Each probe ingests one breaching sample with
   a new ``probe`` label through ``POST /api/v1/metrics/batch`` at time t (a random phase
   against the evaluation schedule) and waits for the webhook that carries it.
   Target: p95 <= interval + 2 s. Reference: the ingest request's own round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench import Figure, machine
from bench._agentdeck import agentdeck_server
from bench._webhook import WebhookReceiver

AGENTS = 1000
STEP_MS = 15_000
HISTORY_POINTS = 80  # 20 minutes at 15 s
INTERVAL_S = 15.0
CPU_TARGET = 0.5
PER_AGENT_RULES = 992
PROBE_INTERVAL_S = 5.0
METRICS = (
    "agent_cpu_percent",
    "agent_memory_percent",
    "agent_requests_total",
    "agent_errors_total",
)


def _batches(end_ms: int) -> list[Any]:
    from agentdeck.tsdb.base import SampleBatch, SeriesKey

    keys = [
        SeriesKey.of(metric, {"agent": f"agent-{agent:04d}"})
        for agent in range(AGENTS)
        for metric in METRICS
    ]
    rng = np.random.default_rng(7)
    hot = rng.random(AGENTS) < 0.05
    batches = []
    start = end_ms - (HISTORY_POINTS - 1) * STEP_MS
    for point in range(HISTORY_POINTS):
        ts = start + point * STEP_MS
        values = []
        for agent in range(AGENTS):
            cpu = 92.0 if hot[agent] else 20.0 + 40.0 * float(rng.random())
            requests = 10.0 * point * (1 + agent % 5)
            values += [cpu, 30.0 + agent % 40, requests, requests * (0.12 if hot[agent] else 0.01)]
        batches.append(
            SampleBatch(
                tuple(keys),
                np.arange(len(keys), dtype=np.int32),
                np.full(len(keys), ts, dtype=np.int64),
                np.asarray(values, dtype=np.float64),
            )
        )
    return batches


def _cpu_exprs() -> list[str]:
    return [
        f'avg_over_time(agent_cpu_percent{{agent="agent-{a:04d}"}}[5m]) >= 80'
        for a in range(PER_AGENT_RULES)
    ]


async def _evaluation(rounds: int, database_url: str | None, tmp: str) -> dict[str, Any]:
    from sqlalchemy import func, select, update

    from agentdeck.alerting.models import Alert, AlertRule
    from agentdeck.alerting.rules.defaults import install_default_pack
    from agentdeck.alerting.rules.evaluator import EvaluatorLoop
    from agentdeck.alerting.rules.schemas import AlertRuleCreate
    from agentdeck.alerting.rules.service import create_rule
    from agentdeck.db.engine import create_engine, create_session_factory
    from agentdeck.db.migrate import upgrade
    from agentdeck.identity.models import Tenant
    from agentdeck.identity.principal import Principal
    from agentdeck.identity.roles import Role
    from agentdeck.query import service as query_service
    from agentdeck.settings import Settings
    from agentdeck.tsdb.duckdb import DuckDBStore

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=Path(tmp),
        database={"url": database_url or f"sqlite+aiosqlite:///{tmp}/state.db"},
        log_level="WARNING",
    )
    engine = create_engine(settings.database)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    out: dict[str, Any] = {}
    async with await DuckDBStore.open(Path(tmp) / "metrics.duckdb") as store:
        end_ms = int(time.time() * 1000)
        async with sessions() as session:
            tenant = Tenant(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench")
            session.add(tenant)
            await session.flush()
            actor = Principal(
                kind="system", id=None, name="bench", tenant_id=tenant.id, role=Role.admin
            )
            await install_default_pack(session, tenant_id=tenant.id, actor=actor)
            for n, expr in enumerate(_cpu_exprs()):
                await create_rule(
                    session,
                    actor=actor,
                    data=AlertRuleCreate(
                        name=f"AgentCPUHigh{n:04d}",
                        group="bench",
                        expr=expr,
                        interval_seconds=INTERVAL_S,
                        annotations={"summary": "CPU of {{ $labels.agent }} is {{ $value }}"},
                    ),
                )
            await session.execute(
                update(AlertRule)
                .where(AlertRule.tenant_id == tenant.id)
                .values(interval_seconds=INTERVAL_S)
            )
            await session.commit()
            tenant_id = tenant.id
            exprs = list(
                await session.scalars(
                    select(AlertRule.expr).where(AlertRule.tenant_id == tenant_id)
                )
            )
        for batch in _batches(end_ms):
            await store.write(tenant_id, batch)
        out["rules"] = len(exprs)

        loop = EvaluatorLoop(sessions=sessions, store=store, settings=settings)
        walls, cpus = [], []
        for _ in range(rounds):
            async with sessions() as session:  # every rule due (not timed)
                await session.execute(update(AlertRule).values(last_evaluated_at=None))
                await session.commit()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            await loop.tick()
            walls.append(time.perf_counter() - wall0)
            cpus.append(time.process_time() - cpu0)
            print(f"  evaluator round: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU")
        async with sessions() as session:
            out["alerts"] = await session.scalar(
                select(func.count()).select_from(Alert).where(Alert.tenant_id == tenant_id)
            )
            out["evaluated"] = await session.scalar(
                select(func.count())
                .select_from(AlertRule)
                .where(AlertRule.tenant_id == tenant_id, AlertRule.last_evaluated_at.is_not(None))
            )
            out["errors"] = await session.scalar(
                select(func.count())
                .select_from(AlertRule)
                .where(AlertRule.tenant_id == tenant_id, AlertRule.health == "error")
            )

        limit = asyncio.Semaphore(settings.alerting.evaluation_concurrency)
        at_ms = int(time.time() * 1000)

        async def one(expr: str) -> None:
            async with limit:
                await query_service.instant_query(store, tenant_id, expr, at_ms, 30.0)

        ref_walls, ref_cpus = [], []
        for _ in range(rounds):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            await asyncio.gather(*(one(expr) for expr in exprs))
            ref_walls.append(time.perf_counter() - wall0)
            ref_cpus.append(time.process_time() - cpu0)
            print(f"  queries only:    {ref_walls[-1]:.2f} s wall, {ref_cpus[-1]:.2f} s CPU")
    await engine.dispose()
    out.update(wall=walls, cpu=cpus, ref_wall=ref_walls, ref_cpu=ref_cpus)
    return out


def _latency(probes: int, budget_s: float) -> dict[str, Any]:
    receiver = WebhookReceiver()
    env = {
        "AGENTDECK_ALERTING__EVALUATOR_TICK_SECONDS": "1",
        "AGENTDECK_ALERTING__DISPATCH_INTERVAL_SECONDS": "1",
        "AGENTDECK_NOTIFY__WORKER_INTERVAL_SECONDS": "1",
        "AGENTDECK_OUTBOUND__ALLOW_LOOPBACK": "true",  # the webhook receiver is local
    }
    latencies: list[float] = []
    ingest: list[float] = []
    try:
        with agentdeck_server("agentdeck-bench-alerting-", env, role="admin") as (url, key):
            client = httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            channel = client.post(
                "/api/v1/notification-channels",
                json={
                    "name": "bench-hook",
                    "kind": "webhook",
                    "config": {"url": receiver.url},
                    "rate_limit_per_minute": 10_000,
                },
            )
            channel.raise_for_status()
            rcv = client.post(
                "/api/v1/receivers",
                json={"name": "bench", "channel_ids": [channel.json()["id"]]},
            )
            rcv.raise_for_status()
            tree = client.put(
                "/api/v1/notification-policy",
                json={
                    "receiver_id": rcv.json()["id"],
                    "group_by": ["..."],
                    "group_wait_seconds": 0,
                    "group_interval_seconds": 300,
                    "repeat_interval_seconds": 14400,
                },
            )
            tree.raise_for_status()
            rule = client.post(
                "/api/v1/alert-rules",
                json={
                    "name": "BenchProbe",
                    "expr": "bench_probe_value > 50",
                    "interval_seconds": PROBE_INTERVAL_S,
                    "for_seconds": 0,
                },
            )
            rule.raise_for_status()
            stop = time.monotonic() + budget_s
            for n in range(probes):
                if time.monotonic() > stop:
                    break
                time.sleep(random.uniform(0, PROBE_INTERVAL_S))  # a random phase, not a wait
                probe = f"p{n:03d}-{uuid.uuid4().hex[:6]}"
                sent = time.time()
                sample = {
                    "name": "bench_probe_value",
                    "value": 100.0,
                    "timestamp": int(sent * 1000),
                    "labels": {"probe": probe},
                }
                response = client.post("/api/v1/metrics/batch", json={"samples": [sample]})
                response.raise_for_status()
                ingest.append(time.time() - sent)
                arrived = receiver.wait(probe, time.monotonic() + PROBE_INTERVAL_S + 30)
                if arrived is None:
                    print(f"  probe {probe}: no notification within {PROBE_INTERVAL_S + 30:.0f} s")
                    continue
                latencies.append(arrived - sent)
                print(f"  probe {probe}: {latencies[-1]:.2f} s")
    finally:
        receiver.server.shutdown()
    return {"latencies": latencies, "ingest": ingest, "sent": probes}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench alerting")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--budget", type=float, default=240.0, help="seconds for the probes")
    parser.add_argument("--database-url", default=None, help="state database (default SQLite)")
    parser.add_argument("--skip", choices=("evaluation", "latency"), default=None)
    args = parser.parse_args(argv)
    print(machine(), f"load average {os.getloadavg()}")
    figures: list[Figure] = []
    if args.skip != "evaluation":
        with tempfile.TemporaryDirectory(prefix="agentdeck-bench-alerting-") as tmp:
            res = asyncio.run(_evaluation(args.rounds, args.database_url, tmp))
        print(
            f"  {res['rules']} rules, {res['evaluated']} evaluated in the last round,"
            f" {res['alerts']} alerts raised, {res['errors']} rules in error"
        )
        wall, cpu = statistics.median(res["wall"]), statistics.median(res["cpu"])
        ref_wall, ref_cpu = statistics.median(res["ref_wall"]), statistics.median(res["ref_cpu"])
        figures += [
            Figure(
                "alerting: 1,000 rules, wall ms per round (median)",
                1000 * wall,
                "ms",
                1000 * INTERVAL_S,
                1000 * ref_wall,
                lower_is_better=True,
            ),
            Figure(
                "alerting: cores used at a 15 s interval (x1000)",
                1000 * cpu / INTERVAL_S,
                "mcore",
                1000 * CPU_TARGET,
                1000 * ref_cpu / INTERVAL_S,
                lower_is_better=True,
            ),
            Figure("alerting: reference, queries only, wall ms per round", 1000 * ref_wall, "ms"),
            Figure(
                "alerting: reference, queries only, mcore at 15 s",
                1000 * ref_cpu / INTERVAL_S,
                "mcore",
            ),
        ]
    if args.skip != "latency":
        res = _latency(args.probes, args.budget)
        lat = res["latencies"]
        print(f"  {len(lat)} of {len(res['ingest'])} probes notified")
        if lat:
            target_ms = 1000 * (PROBE_INTERVAL_S + 2)
            ingest_ms = 1000 * statistics.median(res["ingest"])
            figures += [
                Figure(
                    "alerting: sample->webhook p50 (5 s rule)",
                    1000 * statistics.median(lat),
                    "ms",
                    None,
                    ingest_ms,
                    lower_is_better=True,
                ),
                Figure(
                    "alerting: sample->webhook p95 (5 s rule)",
                    1000 * _p(lat, 0.95),
                    "ms",
                    target_ms,
                    ingest_ms,
                    lower_is_better=True,
                ),
                Figure(
                    "alerting: sample->webhook max",
                    1000 * max(lat),
                    "ms",
                    None,
                    ingest_ms,
                    lower_is_better=True,
                ),
                Figure("alerting: reference, ingest round trip p50", ingest_ms, "ms"),
            ]
    for figure in figures:
        print(figure.line())
    return figures
