"""Soak: nominal load on three replicas for a long time; memory flat, latency low, no errors.

    python -m bench soak --minutes 60 [--scale 1.0] [--agents 1000] [--ws-clients 200]
                         [--rules 500] [--log-lines 20] [--series 20] [--warmup-minutes 5]
                         [--budget-minutes B]

Setup: the scale-out deployment of ``tests/scaleout`` (three ``agentdeck serve`` replicas on a
fresh PostgreSQL database, a private Redis and VictoriaMetrics, nginx in front with the shipped
config; all on 127.0.0.1) with the default loop intervals and rate limits off (one load
generator stands in for a thousand agents). Through nginx, for ``--minutes``:

* ``--agents`` agents each report ``--series`` gauges every 15 s (``POST /api/v1/metrics/batch``,
  spread evenly over the interval);
* each agent sends ``--log-lines`` log lines per second (``POST /api/v1/logs/batch``, batches
  of up to 1,000 lines);
* ``--ws-clients`` WebSocket clients follow one agent's metrics each (the agent page), as
  viewer users created through the API, as many clients per user as the hub's per-user cap
  (``realtime.max_connections_per_user``) allows (see ``bench/_soak_clients.py``);
* ``--rules`` alert rules (one per agent, ``avg_over_time`` over 5 m, 15 s interval) evaluate;
* a probe reads the API once a second (the agents list, the alerts list, a PromQL query).

``--scale F`` multiplies the agents, the WebSocket clients and the rules by F (the fleet's log
rate follows the agents; the lines per agent and the series per agent stay), so that a
fraction of the nominal load can be tried on a small machine; the header prints the scaled
figures and the load per CPU.

Figures, beside the targets: each replica's RSS after the warm-up, as the largest deviation
from its first post-warm-up sample (target: within ±10 %); p99 latency of the probe's reads
and of the ingest requests (target ≤ 100 ms, over the whole run and per minute); errors (any
non-2xx, transport error or WebSocket closed or refused by the server; target 0), every kind
listed with its count at the end, apart from the generator's own failures (not counted).
Beside them: the CPU of each process of the run over the load phase (replicas,
VictoriaMetrics, Redis, nginx, the generator; PostgreSQL is a shared server), the load average,
and the requests sent against those due (a generator short of CPU falls behind).
``--budget-minutes B`` ends the load B minutes after the launch at the latest (the
deployment's start, minutes on a loaded machine, included), for runs bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import Figure, machine
from bench._soak_clients import HARNESS, SERVER, Operator, Stats, request, ws_cap, ws_client

TARGET_P99_MS = 100.0
TARGET_RSS_DRIFT = 0.10
INTERVAL_S = 15.0
LOG_BATCH = 1_000
SEVERITIES = ("info", "info", "info", "warning", "error")
#: The nominal load of issue 20, which ``--scale`` multiplies.
NOMINAL_AGENTS, NOMINAL_WS_CLIENTS, NOMINAL_RULES = 1000, 200, 500


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
    await request(client, stats, kind, method, path, **kw)


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
    per_batch = max(1, min(LOG_BATCH, int(rate)))
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
    reads: list[tuple[str, str, dict[str, Any]]] = [
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


def _cpu_s(pid: int) -> float:
    """A process's user + system CPU so far (seconds); NaN once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[tuple[int, int]]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return list(enumerate(int(child) for child in children.read().split()))


async def _rss(
    replicas: list[Any], stats: Stats, end: float, every: float, loads: list[float]
) -> None:
    while time.monotonic() < end:
        for replica in replicas:
            if replica.alive():
                stats.rss.setdefault(replica.name, []).append(
                    (time.monotonic(), _rss_kb(replica.process.pid))
                )
        loads.append(os.getloadavg()[0])
        await asyncio.sleep(every)  # the sampling period


def _setup(
    url: str, args: argparse.Namespace, admin_user: str, password: str, cap: int
) -> tuple[str, list[Operator]]:
    """The ingest key, the rules, and the viewer users of the WebSocket clients (``cap``
    clients per user), created through the API as an administrator does."""
    token = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": admin_user, "password": password}, timeout=60
    ).json()["access_token"]
    admin = {"Authorization": f"Bearer {token}"}
    key = httpx.post(
        f"{url}/api/v1/api-keys", json={"name": "soak", "role": "admin"}, headers=admin, timeout=60
    ).json()["key"]
    operators = []
    with httpx.Client(base_url=url, headers=admin, timeout=60) as client:
        for n in range(math.ceil(args.ws_clients / cap)):
            operator = Operator(f"soak-viewer-{n:03d}", f"soak viewer password {n:03d}")
            client.post(
                "/api/v1/users",
                json={
                    "username": operator.username,
                    "email": f"{operator.username}@example.com",
                    "password": operator.password,
                    "role": "viewer",
                },
            ).raise_for_status()
            operators.append(operator)
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
    return str(key), operators


async def _run(
    cluster: Any, key: str, operators: list[Operator], args: argparse.Namespace, stats: Stats
) -> tuple[float, dict[str, float], list[float]]:
    """The load until ``--minutes`` are over (or ``--budget-minutes`` since the launch): (start,
    CPU seconds by process, load averages)."""
    end = min(time.monotonic() + args.minutes * 60, args.deadline)
    args.load_minutes = (end - time.monotonic()) / 60
    ws_url = cluster.url.replace("http://", "ws://") + "/api/v1/ws"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    loads: list[float] = []
    async with (
        httpx.AsyncClient(
            base_url=cluster.url, headers=headers, limits=limits, timeout=30
        ) as client,
        httpx.AsyncClient(base_url=cluster.url, timeout=30) as logins,
    ):
        jobs = [
            _agents(client, args, stats, end),
            _logs(client, args, stats, end),
            _probe(client, stats, end),
            _rss(cluster.replicas, stats, end, args.rss_every, loads),
            *(
                ws_client(
                    ws_url,
                    operators[i // args.ws_per_user],
                    logins,
                    f"agent-{i % args.agents:04d}",
                    stats,
                    end,
                )
                for i in range(args.ws_clients)
            ),
        ]
        pids = {r.name: r.process.pid for r in cluster.replicas}
        pids["victoria-metrics"] = cluster.vm.process.pid
        if cluster.redis.process is not None:
            pids["redis"] = cluster.redis.process.pid
        if cluster.nginx is not None:
            pids["nginx"] = cluster.nginx.pid  # the master; its worker is added below
            pids.update({f"nginx worker {n + 1}": pid for n, pid in _children(cluster.nginx.pid)})
        cpu = {name: -_cpu_s(pid) for name, pid in pids.items()}
        cpu["generator"] = -time.process_time()
        started = time.monotonic()
        await asyncio.gather(*jobs)
        for name, pid in pids.items():
            cpu[name] += _cpu_s(pid)
        cpu["generator"] += time.process_time()
    return started, cpu, loads


def _report(
    args: argparse.Namespace,
    stats: Stats,
    started: float,
    cpu: dict[str, float],
    loads: list[float],
) -> list[Figure]:
    took = max(1e-9, min(args.load_minutes * 60, time.monotonic() - started))
    print(f"  load phase: {args.load_minutes:.2f} min")
    cores = ", ".join(f"{name} {spent / took:.2f}" for name, spent in cpu.items())
    deployment = sum(spent for name, spent in cpu.items() if name != "generator") / took
    print(
        f"  CPU over the run (cores): {cores}; the deployment without PostgreSQL "
        f"{deployment:.2f}, with the generator {deployment + cpu['generator'] / took:.2f}"
    )
    if loads:
        print(f"  load average (1 min) during the run: {min(loads):.1f}–{max(loads):.1f}")
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
        minutes: dict[int, list[float]] = {}
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
        by_minute = " · ".join(f"{_p99(v):,.0f}" for _, v in sorted(minutes.items()))
        median = sorted(ms for _, ms in points)[len(points) // 2]
        rate = args.agents * args.log_lines
        due = {
            "read": 3.0,
            "ingest": args.agents / INTERVAL_S,
            "logs": rate / max(1, min(LOG_BATCH, int(rate))) if rate > 0 else 0.0,
        }[kind] * took  # a generator short of CPU sends less than it should
        print(
            f"  {kind}: {len(points):,} requests sent of {due:,.0f} due, median {median:,.0f} "
            f"ms, p99 by minute {by_minute} ms"
        )
    print(
        f"  WebSocket frames received: {stats.ws_frames:,}; logins {stats.logins}, "
        f"reconnections after the token expired {stats.ws_renewals}"
    )
    figures.append(Figure("errors (server)", stats.count(SERVER), "", 0, lower_is_better=True))
    figures.append(Figure("errors of the generator itself (not counted)", stats.count(HARNESS), ""))
    if stats.errors:
        print("  errors by kind (source, kind, endpoint: count; first detail):")
    for (source, kind, endpoint), n in sorted(stats.errors.items(), key=lambda e: -e[1]):
        detail = stats.first_detail[(source, kind, endpoint)]
        print(f"    {source:<7} {kind:<22} {endpoint:<28} {n:>7,}  {detail!r}")
    return figures


def _scaled(nominal: int, scale: float) -> int:
    return 0 if nominal == 0 else max(1, round(nominal * scale))


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--warmup-minutes", type=float, default=None)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies the agents, WebSocket clients and rules (and so the fleet's log rate)",
    )
    parser.add_argument("--agents", type=int, default=NOMINAL_AGENTS, help="before --scale")
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--ws-clients", type=int, default=NOMINAL_WS_CLIENTS, help="before --scale")
    parser.add_argument("--rules", type=int, default=NOMINAL_RULES, help="before --scale")
    parser.add_argument("--log-lines", type=float, default=20, help="per agent per second")
    parser.add_argument("--rss-every", type=float, default=10, help="seconds between samples")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=math.inf,
        help="the load ends this long after the launch at the latest (the deployment's start, "
        "slow on a loaded machine, included): a bounded run",
    )
    args = parser.parse_args(argv)
    args.deadline = time.monotonic() + args.budget_minutes * 60
    if args.scale <= 0:
        parser.error("--scale must be above 0")
    args.agents = _scaled(args.agents, args.scale)
    args.ws_clients = _scaled(args.ws_clients, args.scale)
    args.rules = _scaled(args.rules, args.scale)
    if args.warmup_minutes is None:
        args.warmup_minutes = min(5.0, args.minutes / 4)

    from tests.scaleout import cluster as harness

    # default loop intervals (the tests shorten them), and no rate limits: one generator
    # stands in for the whole fleet
    harness.LOOP_ENV = {"AGENTDECK_RATE_LIMIT__ENABLED": "false"}
    harness.START_TIMEOUT_S = 600.0  # a first start on a loaded machine
    with tempfile.TemporaryDirectory(prefix="agentdeck-soak-") as home:
        begun = time.monotonic()
        cluster = harness.start_cluster(Path(home))
        try:
            args.ws_per_user = ws_cap(cluster.env)
            _header(args, time.monotonic() - begun)
            key, operators = _setup(
                cluster.url, args, harness.ADMIN_USER, harness.ADMIN_PASSWORD, args.ws_per_user
            )
            stats = Stats()
            started, cpu, loads = asyncio.run(_run(cluster, key, operators, args, stats))
            figures = _report(args, stats, started, cpu, loads)  # before the (slow) stop
            for figure in figures:
                print(figure.line(), flush=True)
        finally:
            cluster.stop()
    return figures


def _header(args: argparse.Namespace, start_s: float) -> None:
    cpus = len(os.sched_getaffinity(0))
    reports = args.agents / INTERVAL_S
    lines = args.agents * args.log_lines
    users = math.ceil(args.ws_clients / args.ws_per_user)
    one, five, fifteen = os.getloadavg()
    print(
        f"soak: {machine()}; load average {one:.2f} {five:.2f} {fifteen:.2f}; "
        f"{args.minutes:g} min ({args.warmup_minutes:g} warm-up), 3 replicas behind nginx "
        f"(up in {start_s:.0f} s)\n"
        f"  load: {args.scale:g} × nominal: {args.agents:,} agents × {args.series} series every "
        f"{INTERVAL_S:g} s ({reports:,.1f} reports/s, {reports * args.series:,.0f} samples/s), "
        f"{lines:,.0f} log lines/s ({args.log_lines:g} per agent), {args.ws_clients} WebSocket "
        f"clients as {users} users ({args.ws_per_user} per user, the hub's cap), "
        f"{args.rules} rules at 15 s\n"
        f"  per CPU ({cpus}): {reports / cpus:,.1f} reports/s, {lines / cpus:,.0f} log lines/s, "
        f"{args.ws_clients / cpus:,.0f} WebSocket clients, {args.rules / cpus:,.0f} rules"
    )
