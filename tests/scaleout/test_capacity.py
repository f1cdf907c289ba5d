"""The capacity model (bench/capacity.py, shown in docs/scaling.md) against three real replicas
behind nginx, on PostgreSQL, Redis and VictoriaMetrics: the CPU each replica spends per ingested
sample and per agent report, each divided by the CPU of one ``GET /healthz`` on the same replica
in the same run, is within 2× of the model's ratio; and nginx spreads the reports so that every
replica does its share.

Ratios, not microseconds: on the shared two-CPU machine a replica's CPU per operation moves
with the load (the same request costs about twice the CPU at load average 20 as on a quiet
machine), and it moves alike for the reference request. Bounded: about 1,800 requests to
127.0.0.1, well under two minutes once the replicas are up."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator

import pytest
from bench.capacity import COSTS

from tests.scaleout import capacity_support as support
from tests.scaleout.cluster import Cluster

LOG = logging.getLogger(__name__)
HEALTHZ = 150  # reference requests per replica, per reference phase
BATCH = 10_000
WARM_BATCHES, BATCHES = 2, 4  # per replica, 10,000 samples each
REPORTS, WARM_REPORTS = 180, 30  # agent reports of 50 samples, through nginx
AGENTS = 200


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = support.start_quiet_cluster(tmp_path_factory.mktemp("capacity"))
    try:
        yield running
    finally:
        running.stop()


def _reference(cluster: Cluster) -> list[float]:
    """CPU seconds of one ``GET /healthz`` on each replica (all three asked at once)."""

    async def phase() -> None:
        await asyncio.gather(*(support.healthz(r.url, HEALTHZ, 4) for r in cluster.replicas))

    return [s / HEALTHZ for s in support.spend(cluster.replicas, phase).seconds]


def _per_sample(cluster: Cluster, key: str) -> list[float]:
    """CPU seconds per sample of 10,000-sample batches sent to each replica directly."""
    start = (int(time.time()) - 3_600) * 1_000
    bodies = [
        support.batches(
            support.samples(BATCH * (WARM_BATCHES + BATCHES), 500, 20, start, f"r{n}"), BATCH
        )
        for n in range(len(cluster.replicas))
    ]

    async def send(first: int, last: int) -> None:
        await asyncio.gather(
            *(
                support.post_all(r.url, b[first:last], key, clients=2)
                for r, b in zip(cluster.replicas, bodies, strict=True)
            )
        )

    asyncio.run(send(0, WARM_BATCHES))  # the series are created, the connections open
    spent = support.spend(cluster.replicas, lambda: send(WARM_BATCHES, WARM_BATCHES + BATCHES))
    return [s / (BATCH * BATCHES) for s in spent.seconds]


def _per_report(cluster: Cluster, key: str) -> tuple[list[float], list[float]]:
    """CPU seconds per agent report (50 samples) on each replica, and the share of the reports
    each answered, the reports sent through nginx."""
    start = (int(time.time()) - 600) * 1_000
    bodies = [
        support.batches(support.samples(50, 1, 50, start + i * 1_000, f"agent{i % AGENTS}"), 50)[0]
        for i in range(REPORTS + WARM_REPORTS)
    ]
    asyncio.run(support.post_all(cluster.url, bodies[:WARM_REPORTS], key, clients=3))
    before = [support.served_batches(r) for r in cluster.replicas]
    spent = support.spend(
        cluster.replicas,
        lambda: support.post_all(cluster.url, bodies[WARM_REPORTS:], key, clients=6),
    )
    served = [support.served_batches(r) - b for r, b in zip(cluster.replicas, before, strict=True)]
    assert sum(served) == REPORTS, served
    per = [s / n for s, n in zip(spent.seconds, served, strict=True)]
    return per, [n / REPORTS for n in served]


def _within_2x(measured: float, model: float, what: str) -> None:
    assert model / 2 <= measured <= model * 2, f"{what}: measured {measured:.3g}, model {model:.3g}"


@pytest.mark.postgresql_only
@pytest.mark.timeout(1200)
def test_each_replica_spends_the_models_cpu_per_sample_and_per_report(cluster: Cluster) -> None:
    started = time.monotonic()
    key = support.api_key(cluster)
    reference = _reference(cluster)
    per_sample = _per_sample(cluster, key)
    per_report, shares = _per_report(cluster, key)
    # the reference again, after: its mean stands for the whole run
    reference = [(a + b) / 2 for a, b in zip(reference, _reference(cluster), strict=True)]
    LOG.warning(
        "measured in %.0f s, load average %.1f", time.monotonic() - started, os.getloadavg()[0]
    )
    model_sample = COSTS["ingest_sample_vm"].per_reference
    model_report = COSTS["report"].per_reference
    assert model_sample is not None and model_report is not None
    for n, replica in enumerate(cluster.replicas):
        sample_ratio, report_ratio = per_sample[n] / reference[n], per_report[n] / reference[n]
        LOG.warning(
            "%s: /healthz %.0f µs; per sample %.2f µs (ratio %.4f, model %.4f); per report "
            "%.0f µs (ratio %.2f, model %.2f), %.0f%% of the reports",
            replica.name,
            reference[n] * 1e6,
            per_sample[n] * 1e6,
            sample_ratio,
            model_sample,
            per_report[n] * 1e6,
            report_ratio,
            model_report,
            shares[n] * 100,
        )
        assert 1 / 6 <= shares[n] <= 2 / 3, f"{replica.name} served {shares[n]:.0%} of reports"
        _within_2x(sample_ratio, model_sample, f"{replica.name} per sample / per /healthz")
        _within_2x(report_ratio, model_report, f"{replica.name} per report / per /healthz")
