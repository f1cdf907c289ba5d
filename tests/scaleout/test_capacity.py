"""The capacity model (bench/capacity.py, shown in docs/scaling.md) against three real replicas:
the event-loop CPU each replica spends per ingested sample and per agent report is within 2× of
the model's figure, and nginx spreads the reports so that every replica does its share.

CPU time per operation, not throughput: on a shared machine the rate a replica reaches says
more about its neighbours than about agentdeck, while the CPU an operation costs moves much
less. Bounded: a few hundred requests to 127.0.0.1 over well under two minutes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from bench.capacity import COSTS, DOC, render

from tests.scaleout import cluster as harness
from tests.scaleout.cluster import ADMIN_PASSWORD, ADMIN_USER, Cluster, Replica, start_cluster

LOG = logging.getLogger(__name__)
TICK = os.sysconf("SC_CLK_TCK")
BATCH = 10_000
BATCHES_PER_REPLICA = 6
REPORTS = 330  # agent reports of 50 samples through nginx
AGENTS = 200


def test_the_documented_model_is_the_modules() -> None:
    """docs/scaling.md shows bench/capacity.py's figures (python -m bench capacity --write)."""
    assert render() in DOC.read_text()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # a replica's first start (imports, migrations check, loops) can take minutes on a loaded
    # machine: the simulation's bound is on its own load, not on the start-up
    default, harness.START_TIMEOUT_S = harness.START_TIMEOUT_S, 600.0
    try:
        running = start_cluster(tmp_path_factory.mktemp("capacity"))
    finally:
        harness.START_TIMEOUT_S = default
    try:
        yield running
    finally:
        running.stop()


def _loop_cpu(replica: Replica) -> float:
    """CPU seconds of the replica's event-loop thread so far."""
    pid = replica.process.pid
    with open(f"/proc/{pid}/task/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _key(cluster: Cluster) -> str:
    token = httpx.post(
        f"{cluster.url}/api/v1/auth/token",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
        timeout=30,
    ).json()["access_token"]
    answer = httpx.post(
        f"{cluster.url}/api/v1/api-keys",
        json={"name": "capacity", "role": "developer"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


def _samples(
    count: int, agents: int, series: int, start_ms: int, tag: str
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
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


async def _post(url: str, bodies: list[bytes], key: str, clients: int) -> None:
    queue = iter(bodies)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            for body in queue:
                answer = await client.post("/api/v1/metrics/batch", content=body)
                assert answer.status_code == 200, answer.text

        await asyncio.gather(*(worker() for _ in range(clients)))


def _within_2x(measured: float, model: float, what: str) -> None:
    assert model / 2 <= measured <= model * 2, f"{what}: measured {measured:.3g}, model {model:.3g}"


@pytest.mark.postgresql_only
@pytest.mark.timeout(900)
def test_a_replica_spends_the_models_event_loop_time_per_sample(cluster: Cluster) -> None:
    key = _key(cluster)
    start = (int(time.time()) - 3_600) * 1_000
    for n, replica in enumerate(cluster.replicas):
        samples = _samples(BATCH * BATCHES_PER_REPLICA, 500, 20, start, f"r{n}")
        bodies = [
            orjson.dumps({"samples": samples[i : i + BATCH]}) for i in range(0, len(samples), BATCH)
        ]
        asyncio.run(_post(replica.url, bodies[:2], key, clients=2))  # warm: series created
        before = _loop_cpu(replica)
        asyncio.run(_post(replica.url, bodies[2:], key, clients=2))
        spent = _loop_cpu(replica) - before
        per_sample_us = spent * 1e6 / (BATCH * (BATCHES_PER_REPLICA - 2))
        LOG.info("%s: %.2f µs of event loop per sample", replica.name, per_sample_us)
        _within_2x(per_sample_us, COSTS["ingest_sample_vm"].loop_us, f"{replica.name} per sample")


def _served(replica: Replica) -> float:
    text = httpx.get(f"{replica.url}/metrics", timeout=30).text
    pattern = r'agentdeck_http_requests_total\{[^}]*route="/api/v1/metrics/batch"[^}]*\} (\S+)'
    return sum(float(v) for v in re.findall(pattern, text))


@pytest.mark.postgresql_only
@pytest.mark.timeout(900)
def test_nginx_spreads_agent_reports_and_each_costs_the_models_time(cluster: Cluster) -> None:
    key = _key(cluster)
    start = (int(time.time()) - 600) * 1_000
    bodies = [
        orjson.dumps({"samples": _samples(50, 1, 50, start + i * 1_000, f"agent{i % AGENTS}")})
        for i in range(REPORTS)
    ]
    asyncio.run(_post(cluster.url, bodies[:30], key, clients=3))  # warm
    served_before = [_served(r) for r in cluster.replicas]
    cpu_before = [_loop_cpu(r) for r in cluster.replicas]
    asyncio.run(_post(cluster.url, bodies[30:], key, clients=6))
    cpu = [_loop_cpu(r) - b for r, b in zip(cluster.replicas, cpu_before, strict=True)]
    served = [_served(r) - b for r, b in zip(cluster.replicas, served_before, strict=True)]
    assert sum(served) >= REPORTS - 30, served
    for replica, count, seconds in zip(cluster.replicas, served, cpu, strict=True):
        share = count / (REPORTS - 30)
        assert 1 / 6 <= share <= 2 / 3, f"{replica.name} served {share:.0%} of the reports"
        per_report_us = seconds * 1e6 / count
        LOG.info("%s: %d reports, %.0f µs of event loop each", replica.name, count, per_report_us)
        _within_2x(per_report_us, COSTS["report"].loop_us, f"{replica.name} per report")
