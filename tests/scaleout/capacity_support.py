"""What the capacity simulation (test_capacity.py) needs beside the cluster harness: a cluster
whose background loops are off, each replica's CPU time, and the traffic it measures.

A replica's CPU per operation is its process CPU over a phase (``/proc/<pid>/stat``, every
thread; the JSON decode workers are other processes and not counted, as in the model) minus
what the replica spends idle over as long (measured just before), divided by the operations it
served. The loops are off so that the idle share stays small: with them on, the three replicas
spend 40–170 ms of CPU a second each on leases and ticks, which on a slow machine outweighs the
operations being measured.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from bench.realtime_load import cpu_seconds

from tests.scaleout import cluster as harness
from tests.scaleout.cluster import ADMIN_PASSWORD, ADMIN_USER, Cluster, Replica, start_cluster

LOG = logging.getLogger(__name__)
#: A replica's first start can take minutes on a loaded machine: the simulation's bound is on
#: its own phases, not on the start-up.
START_TIMEOUT_S = 600.0
IDLE_S = 2.0


def start_quiet_cluster(home: Path) -> Cluster:
    """Three replicas as :func:`~tests.scaleout.cluster.start_cluster` starts them, with the
    background loops off (``AGENTDECK_LOOPS__ENABLED=false``) instead of the harness's short
    loop intervals."""
    saved_env, saved_timeout = dict(harness.LOOP_ENV), harness.START_TIMEOUT_S
    harness.LOOP_ENV.clear()
    harness.LOOP_ENV["AGENTDECK_LOOPS__ENABLED"] = "false"
    harness.START_TIMEOUT_S = START_TIMEOUT_S
    try:
        return start_cluster(home)
    finally:
        harness.LOOP_ENV.clear()
        harness.LOOP_ENV.update(saved_env)
        harness.START_TIMEOUT_S = saved_timeout


def process_cpu(replica: Replica) -> float:
    """CPU seconds the replica's process (all its threads) has used so far."""
    return cpu_seconds(replica.process.pid)


@dataclass(frozen=True)
class Spent:
    """A phase's CPU on each replica, the idle share taken out."""

    seconds: list[float]
    wall: float


def idle_rates(replicas: Sequence[Replica]) -> list[float]:
    """CPU seconds per second each replica spends with nothing to do (over ``IDLE_S``)."""
    before, started = [process_cpu(r) for r in replicas], time.monotonic()
    deadline = started + IDLE_S
    while time.monotonic() < deadline:  # an idle window of fixed length is the measurement
        time.sleep(deadline - time.monotonic())
    wall = time.monotonic() - started
    return [(process_cpu(r) - b) / wall for r, b in zip(replicas, before, strict=True)]


def spend(
    replicas: Sequence[Replica], phase: Callable[[], Coroutine[object, object, None]]
) -> Spent:
    """Run ``phase`` and return each replica's CPU over it beyond its idle rate."""
    idle = idle_rates(replicas)
    before, started = [process_cpu(r) for r in replicas], time.monotonic()
    asyncio.run(phase())
    wall = time.monotonic() - started
    after = [process_cpu(r) for r in replicas]
    LOG.info("phase of %.1f s, load average %.1f", wall, os.getloadavg()[0])
    return Spent(
        [a - b - rate * wall for a, b, rate in zip(after, before, idle, strict=True)], wall
    )


def api_key(cluster: Cluster) -> str:
    """A developer API key, made through the balancer."""
    token = httpx.post(
        f"{cluster.url}/api/v1/auth/token",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
        timeout=60,
    ).json()["access_token"]
    answer = httpx.post(
        f"{cluster.url}/api/v1/api-keys",
        json={"name": "capacity", "role": "developer"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


def samples(count: int, agents: int, series: int, start_ms: int, tag: str) -> list[object]:
    """``count`` samples over ``agents`` × ``series`` series, one 15 s step per round."""
    out: list[object] = []
    for i in range(count):
        agent, metric = divmod(i % (agents * series), series)
        out.append(
            {
                "name": f"capacity_{tag}_{metric}",
                "value": float(i % 97),
                "timestamp": start_ms + (i // (agents * series)) * 15_000,
                "labels": {"agent": f"agent-{agent:04d}"},
            }
        )
    return out


def batches(items: list[object], size: int) -> list[bytes]:
    return [orjson.dumps({"samples": items[i : i + size]}) for i in range(0, len(items), size)]


async def post_all(url: str, bodies: Sequence[bytes], key: str, clients: int) -> None:
    """POST each body to ``/api/v1/metrics/batch`` over ``clients`` connections; all 200."""
    queue = iter(bodies)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:

        async def worker() -> None:
            for body in queue:
                answer = await client.post("/api/v1/metrics/batch", content=body)
                assert answer.status_code == 200, answer.text

        await asyncio.gather(*(worker() for _ in range(clients)))


async def healthz(url: str, count: int, clients: int) -> None:
    """``count`` ``GET /healthz`` over ``clients`` connections; all 200."""
    remaining = iter(range(count))
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def worker() -> None:
            for _ in remaining:
                answer = await client.get("/healthz")
                assert answer.status_code == 200, answer.text

        await asyncio.gather(*(worker() for _ in range(clients)))


def served_batches(replica: Replica) -> float:
    """``/api/v1/metrics/batch`` requests the replica has answered (from its ``/metrics``)."""
    text = httpx.get(f"{replica.url}/metrics", timeout=60).text
    pattern = r'agentdeck_http_requests_total\{[^}]*route="/api/v1/metrics/batch"[^}]*\} (\S+)'
    return sum(float(v) for v in re.findall(pattern, text))
