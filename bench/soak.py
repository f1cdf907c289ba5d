"""Soak: nominal load on three replicas for a long time; memory flat, latency low, no errors.

    python -m bench soak --minutes 60 [--agents 1000] [--ws-clients 200] [--rules 500]
                         [--log-lines 20] [--series 20] [--warmup-minutes 5]

Setup: the scale-out deployment of ``tests/scaleout`` (three ``agentdeck serve`` replicas on a
fresh PostgreSQL database, a private Redis and VictoriaMetrics, nginx in front with the shipped
config; all on 127.0.0.1) with the default loop intervals and rate limits off (one load
generator stands in for a thousand agents). Through nginx, for ``--minutes``:

* ``--agents`` agents each report ``--series`` gauges every 15 s (``POST /api/v1/metrics/batch``,
  spread evenly over the interval);
* each agent sends ``--log-lines`` log lines per second (``POST /api/v1/logs/batch``, batches
  of up to 1,000 lines);
* ``--ws-clients`` WebSocket clients follow one agent's metrics each (the agent page);
* ``--rules`` alert rules (one per agent, ``avg_over_time`` over 5 m, 15 s interval) evaluate;
* a probe reads the API once a second (the agents list, the alerts list, a PromQL query).

Figures, beside the targets: each replica's RSS after the warm-up, as the largest deviation
from its first post-warm-up sample (target: within ±10 %); p99 latency of the probe's reads
and of the ingest requests (target ≤ 100 ms, over the whole run and per minute); errors (any
non-2xx, transport error or WebSocket closed early; target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import Figure, machine

TARGET_P99_MS = 100.0
TARGET_RSS_DRIFT = 0.10
INTERVAL_S = 15.0
LOG_BATCH = 1_000
SEVERITIES = ("info", "info", "info", "warning", "error")


@dataclass
class Stats:
    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (t, ms)
    errors: list[str] = field(default_factory=list)
    rss: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    ws_frames: int = 0

    def record(self, kind: str, started: float, answer: httpx.Response | None, what: str) -> None:
        took = (time.monotonic() - started) * 1000
        self.latencies.setdefault(kind, []).append((started, took))
        if answer is None or answer.status_code >= 300:
            detail = "no answer" if answer is None else f"{answer.status_code} {answer.text[:200]}"
            self.errors.append(f"{what}: {detail}")


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _p99(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


async def _call(
    client: httpx.AsyncClient, stats: Stats, kind: str, method: str, path: str, **kw: Any
) -> None:
    started = time.monotonic()
    try:
        answer = await client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        stats.record(kind, started, None, f"{method} {path} {exc!r}")
        return
    stats.record(kind, started, answer, f"{method} {path}")


async def _agents(
    client: httpx.AsyncClient, args: argparse.Namespace, stats: Stats, end: float
) -> None:
    """Each agent reports its gauges every 15 s; the agents' reports spread over the interval."""
    gap = INTERVAL_S / args.agents
    tick = 0
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    while time.monotonic() < end:
        for agent in range(args.agents):
            due = start + tick * INTERVAL_S + agent * gap
            await asyncio.sleep(max(0.0, due - time.monotonic()))  # the agents' schedule
            if time.monotonic() >= end:
                break
            now_ms = int(time.time() * 1000)
            name = f"agent-{agent:04d}"
            samples = [
                {
                    "name": "soak_cpu" if s == 0 else f"soak_gauge_{s}",
                    "value": float((agent * 7 + s + tick) % 100),
                    "timestamp": now_ms,
                    "labels": {"agent": name},
                }
                for s in range(args.series)
            ]
            body = orjson.dumps({"samples": samples})
            task = asyncio.ensure_future(
                _call(client, stats, "ingest", "POST", "/api/v1/metrics/batch", content=body)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        tick += 1
    await asyncio.gather(*tasks)


async def _logs(
    client: httpx.AsyncClient, args: argparse.Namespace, stats: Stats, end: float
) -> None:
    """``--log-lines`` per agent per second, in batches of up to 1,000 lines."""
    rate = args.agents * args.log_lines
    if rate <= 0:
        return
    per_batch = min(LOG_BATCH, rate)
    gap = per_batch / rate
    n = 0
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    while time.monotonic() < end:
        await asyncio.sleep(max(0.0, start + n * gap - time.monotonic()))  # the fleet's rate
        now_ns = time.time_ns()
        entries = [
            {
                "timestamp": now_ns,
                "severity": SEVERITIES[(n + i) % len(SEVERITIES)],
                "service": "soak",
                "agent": f"agent-{(n * per_batch + i) % args.agents:04d}",
                "message": f"request {n}-{i} done in {(n + i) % 250} ms",
                "labels": {"region": "eu"},
            }
            for i in range(per_batch)
        ]
        body = orjson.dumps({"entries": entries})
        task = asyncio.ensure_future(
            _call(client, stats, "logs", "POST", "/api/v1/logs/batch", content=body)
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    await asyncio.gather(*tasks)


async def _probe(client: httpx.AsyncClient, stats: Stats, end: float) -> None:
    """The dashboards' reads, once a second each."""
    reads = [
        ("GET", "/api/v1/agents", {"params": {"limit": 50}}),
        ("GET", "/api/v1/alerts", {"params": {"limit": 50}}),
        ("GET", "/api/v1/query", {"params": {"query": "avg(soak_cpu)"}}),
    ]
    n = 0
    start = time.monotonic()
    while time.monotonic() < end:
        method, path, kw = reads[n % len(reads)]
        await _call(client, stats, "read", method, path, **kw)
        n += 1
        await asyncio.sleep(max(0.0, start + n / len(reads) - time.monotonic()))  # 1/s per read


async def _ws_client(url: str, key: str, agent: str, stats: Stats, end: float) -> None:
    from websockets.asyncio.client import connect

    try:
        async with connect(url, max_queue=None, ping_interval=20) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": key}).decode())
            if orjson.loads(await ws.recv())["type"] != "connected":
                stats.errors.append(f"ws {agent}: not connected")
                return
            subscribe = {"type": "subscribe", "channel": "metrics", "filter": {"agent": agent}}
            await ws.send(orjson.dumps(subscribe).decode())
            while time.monotonic() < end:
                try:
                    frame = await asyncio.wait_for(
                        ws.recv(), timeout=max(0.1, end - time.monotonic())
                    )
                except TimeoutError:
                    break
                if orjson.loads(frame).get("type") == "event":
                    stats.ws_frames += 1
    except Exception as exc:  # noqa: BLE001 - every failure of a client is counted
        stats.errors.append(f"ws {agent}: {exc!r}")


async def _rss(replicas: list[Any], stats: Stats, end: float, every: float) -> None:
    while time.monotonic() < end:
        for replica in replicas:
            if replica.alive():
                stats.rss.setdefault(replica.name, []).append(
                    (time.monotonic(), _rss_kb(replica.process.pid))
                )
        await asyncio.sleep(every)  # the sampling period


def _setup(url: str, args: argparse.Namespace, admin_user: str, password: str) -> str:
    token = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": admin_user, "password": password}, timeout=60
    ).json()["access_token"]
    admin = {"Authorization": f"Bearer {token}"}
    key = httpx.post(
        f"{url}/api/v1/api-keys", json={"name": "soak", "role": "admin"}, headers=admin, timeout=60
    ).json()["key"]
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
        for rule in range(args.rules):
            agent = f"agent-{rule % args.agents:04d}"
            answer = client.post(
                "/api/v1/alert-rules",
                json={
                    "name": f"soak-{rule:04d}",
                    "expr": f'avg_over_time(soak_cpu{{agent="{agent}"}}[5m]) > 98',
                    "interval_seconds": 15,
                    "severity": "warning",
                },
            )
            answer.raise_for_status()
    return str(key)


async def _run(cluster: Any, key: str, args: argparse.Namespace, stats: Stats) -> float:
    end = time.monotonic() + args.minutes * 60
    ws_url = cluster.url.replace("http://", "ws://") + "/api/v1/ws"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    async with httpx.AsyncClient(
        base_url=cluster.url, headers=headers, limits=limits, timeout=30
    ) as client:
        jobs = [
            _agents(client, args, stats, end),
            _logs(client, args, stats, end),
            _probe(client, stats, end),
            _rss(cluster.replicas, stats, end, args.rss_every),
            *(
                _ws_client(ws_url, key, f"agent-{i % args.agents:04d}", stats, end)
                for i in range(args.ws_clients)
            ),
        ]
        started = time.monotonic()
        await asyncio.gather(*jobs)
    return started


def _report(args: argparse.Namespace, stats: Stats, started: float) -> list[Figure]:
    warm = started + args.warmup_minutes * 60
    figures: list[Figure] = []
    for name, samples in sorted(stats.rss.items()):
        after = [kb for t, kb in samples if t >= warm]
        if len(after) < 2:
            print(f"  {name}: too few RSS samples after the warm-up")
            continue
        base = after[0]
        drift = max(abs(kb - base) for kb in after) / base
        print(
            f"  {name}: RSS after warm-up {base / 1024:.0f} MB → {after[-1] / 1024:.0f} MB "
            f"(min {min(after) / 1024:.0f}, max {max(after) / 1024:.0f})"
        )
        figures.append(
            Figure(f"{name}: RSS drift after warm-up", drift * 100, "%", 10, lower_is_better=True)
        )
    for kind in ("read", "ingest", "logs"):
        points = stats.latencies.get(kind, [])
        if not points:
            continue
        figures.append(
            Figure(
                f"p99 latency, {kind} (whole run)",
                _p99([ms for _, ms in points]),
                "ms",
                TARGET_P99_MS,
                lower_is_better=True,
            )
        )
        minutes = {}
        for t, ms in points:
            minutes.setdefault(int((t - started) // 60), []).append(ms)
        worst = max(_p99(v) for v in minutes.values())
        figures.append(
            Figure(
                f"p99 latency, {kind} (worst minute)",
                worst,
                "ms",
                TARGET_P99_MS,
                lower_is_better=True,
            )
        )
        print(f"  {kind}: {len(points):,} requests")
    print(f"  WebSocket frames received: {stats.ws_frames:,}")
    figures.append(Figure("errors", len(stats.errors), "", 0, lower_is_better=True))
    for error in stats.errors[:10]:
        print(f"  error: {error}")
    return figures


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--warmup-minutes", type=float, default=None)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--ws-clients", type=int, default=200)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--log-lines", type=float, default=20, help="per agent per second")
    parser.add_argument("--rss-every", type=float, default=10, help="seconds between samples")
    args = parser.parse_args(argv)
    if args.warmup_minutes is None:
        args.warmup_minutes = min(5.0, args.minutes / 4)

    from tests.scaleout import cluster as harness

    # default loop intervals (the tests shorten them), and no rate limits: one generator
    # stands in for the whole fleet
    harness.LOOP_ENV = {"AGENTDECK_RATE_LIMIT__ENABLED": "false"}
    harness.START_TIMEOUT_S = 600.0  # a first start on a loaded machine
    print(
        f"soak: {machine()}; {args.minutes:g} min ({args.warmup_minutes:g} warm-up), "
        f"{args.agents:,} agents × {args.series} series every {INTERVAL_S:g} s, "
        f"{args.log_lines:g} log lines/s per agent, {args.ws_clients} WebSocket clients, "
        f"{args.rules} rules, 3 replicas behind nginx"
    )
    with tempfile.TemporaryDirectory(prefix="agentdeck-soak-") as home:
        cluster = harness.start_cluster(Path(home))
        try:
            key = _setup(cluster.url, args, harness.ADMIN_USER, harness.ADMIN_PASSWORD)
            stats = Stats()
            started = asyncio.run(_run(cluster, key, args, stats))
        finally:
            cluster.stop()
    figures = _report(args, stats, started)
    for figure in figures:
        print(figure.line())
    return figures
