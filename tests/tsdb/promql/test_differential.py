"""Our engine (on the DuckDB store) against VictoriaMetrics's query API on the same data.

Deterministic data — agents × gauges, counters (one with resets), a classic histogram — is
written to both stores; each expression is evaluated by our engine and by VictoriaMetrics's
``/api/v1/query`` and ``/api/v1/query_range``, and the answers must agree within float
tolerance. Expressions whose answers differ by design (MetricsQL is not PromQL) are left out
with the reason beside them; ``docs/promql.md`` lists those differences.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import httpx
import numpy as np
import pytest

from agentdeck.tsdb import promql
from agentdeck.tsdb.base import SampleBatch
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.promql import Scalar, Vector
from agentdeck.tsdb.promql.api import format_value
from agentdeck.tsdb.victoriametrics import TENANT_LABEL, VictoriaMetricsStore

T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z
SCRAPE = 15_000
SPAN = 3_600_000  # one hour of data
AGENTS = ("a1", "a2", "a3")
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")

Result = dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]


def dataset() -> SampleBatch:
    rng = np.random.default_rng(7)
    ts = np.arange(T0, T0 + SPAN + 1, SCRAPE, dtype=np.int64)
    n = len(ts)
    items: list[tuple[str, dict[str, str], Any, Any]] = []
    for i, agent in enumerate(AGENTS):
        zone = "z1" if i < 2 else "z2"
        labels = {"agent": agent, "zone": zone}
        items.append(("cpu", labels, ts, np.round(rng.uniform(0, 1, n), 3)))
        items.append(("mem_bytes", labels, ts, np.round(rng.uniform(1e8, 2e8, n))))
        # A linear counter (no resets) and one with restarts every 20 minutes.
        items.append(("tokens_total", labels, ts, np.arange(n) * (i + 1) * 10.0))
        steps = np.cumsum(rng.integers(0, 20, n)).astype(np.float64)
        restarts = (ts - T0) // 1_200_000
        restarted = steps - np.array([steps[np.argmax(restarts == r)] for r in restarts])
        items.append(("requests_total", labels, ts, restarted))
        # A classic histogram: cumulative, monotonic counts per bucket.
        observations = np.cumsum(rng.integers(0, 10, (n, len(BUCKETS))), axis=0)
        counts = np.cumsum(observations, axis=1).astype(np.float64)
        for b, le in enumerate(BUCKETS):
            items.append(("latency_seconds_bucket", {**labels, "le": le}, ts, counts[:, b]))
    return SampleBatch.from_series(items)


# Evaluation instants (inside the data, after a full window of history).
INSTANTS = [T0 + 1_800_000, T0 + 2_400_000 + 7_000, T0 + SPAN]
RANGE = (T0 + 900_000, T0 + SPAN, 60_000)

EXPRESSIONS = [
    "cpu",
    'cpu{agent="a1"}',
    'cpu{agent!="a1"}',
    'cpu{agent=~"a[12]"}',
    'mem_bytes{zone!~"z1"}',
    "cpu offset 5m",
    "avg_over_time(cpu[5m])",
    "min_over_time(cpu[10m])",
    "max_over_time(cpu[10m])",
    "sum_over_time(cpu[2m])",
    "count_over_time(cpu[3m])",
    "last_over_time(cpu[1m])",
    "quantile_over_time(0.9, cpu[10m])",
    # Linear counter, regular scrapes: Prometheus's extrapolated rate equals the slope, which
    # is also what MetricsQL's rate gives, so the two agree here.
    "rate(tokens_total[5m])",
    "irate(tokens_total[5m])",
    "irate(requests_total[5m])",
    "sum(cpu)",
    "sum by (zone) (cpu)",
    "avg by (agent) (avg_over_time(cpu[10m]))",
    "avg without (agent) (cpu)",
    "min by (zone) (cpu)",
    "max(mem_bytes)",
    "count by (zone) (cpu)",
    "topk(1, cpu)",
    "bottomk(2, mem_bytes)",
    "quantile(0.5, cpu)",
    "histogram_quantile(0.9, latency_seconds_bucket)",
    "histogram_quantile(0.5, sum by (le) (latency_seconds_bucket))",
    "cpu * 100",
    "100 - cpu * 100",
    "cpu > 0.5",
    "cpu > bool 0.5",
    "mem_bytes / on(agent, zone) cpu",
    "mem_bytes / ignoring(zone) cpu",
    "cpu / on(zone) group_left sum by (zone) (cpu)",
    "sum by (zone) (cpu) / on(zone) group_right cpu",
    "cpu and cpu > 0.5",
    'cpu unless cpu{agent="a2"}',
    'cpu{agent="a1"} or mem_bytes{agent="a2"}',
    "abs(cpu - 0.5)",
    "clamp_min(cpu, 0.3)",
    "clamp_max(cpu, 0.3)",
    "round(cpu * 10)",
]

# MetricsQL keeps the metric name through functions that do not change what a series means
# (min_over_time(foo), clamp_min(foo, 0), ...); PromQL drops it. Names are compared without
# __name__ for these.
NAME_KEPT_BY_METRICSQL = ("_over_time(", "clamp_min(", "clamp_max(")
# MetricsQL's topk/bottomk in a range query keep every point of a series that is in the top k
# at any step; PromQL keeps only the steps where it is. Compared as instant queries only.
INSTANT_ONLY = {"topk(1, cpu)", "bottomk(2, mem_bytes)"}

# Left out on purpose (MetricsQL differs from PromQL by design; see docs/promql.md):
# - rate/increase/delta over counters with resets or gaps: MetricsQL does not extrapolate to
#   the window ends and uses the sample before the window, so the values differ.
# - increase() on a linear counter: MetricsQL answers last - (sample before the window),
#   Prometheus extrapolates the in-window increase; equal only by coincidence of alignment.
# - scalar results: VictoriaMetrics answers a one-series vector; compared after normalising.


@pytest.fixture
async def loaded(
    duckdb_store: DuckDBStore, vm_store: VictoriaMetricsStore
) -> tuple[DuckDBStore, VictoriaMetricsStore, uuid.UUID]:
    tenant = uuid.uuid4()
    batch = dataset()
    await duckdb_store.write(tenant, batch)
    await vm_store.write(tenant, batch)
    await vm_store.flush()
    return duckdb_store, vm_store, tenant


def ours(value: Any, times: list[int]) -> Result:
    if isinstance(value, Scalar):
        return {(): [(t, float(v)) for t, v in zip(times, value.values, strict=True)]}
    assert isinstance(value, Vector)
    out: Result = {}
    for i, labels in enumerate(value.labels):
        points = [
            (times[n], float(value.values[i, n])) for n in range(len(times)) if value.mask[i, n]
        ]
        if points:
            out[tuple(sorted(labels.items()))] = points
    return out


async def theirs(
    vm: VictoriaMetricsStore, tenant: uuid.UUID, path: str, form: dict[str, str]
) -> Result:
    form = {**form, "extra_label": f"{TENANT_LABEL}={tenant}", "nocache": "1"}
    async with httpx.AsyncClient(base_url=vm.url) as client:
        response = await client.post(path, data=form)
    body = response.json()
    assert body["status"] == "success", body
    data = body["data"]
    if data["resultType"] == "scalar":
        t, v = data["result"]
        return {(): [(round(t * 1000), float(v))]}
    out: Result = {}
    for item in data["result"]:
        metric = {k: v for k, v in item["metric"].items() if k != TENANT_LABEL}
        points = item["values"] if "values" in item else [item["value"]]
        out[tuple(sorted(metric.items()))] = [(round(t * 1000), float(v)) for t, v in points]
    return out


def without_name(result: Result) -> Result:
    return {tuple(kv for kv in key if kv[0] != "__name__"): v for key, v in result.items()}


def assert_close(mine: Result, reference: Result, query: str) -> None:
    if any(marker in query for marker in NAME_KEPT_BY_METRICSQL):
        mine, reference = without_name(mine), without_name(reference)
    assert set(mine) == set(reference), f"{query}: series differ"
    for key, points in mine.items():
        other = reference[key]
        assert [t for t, _ in points] == [t for t, _ in other], f"{query} {key}: steps differ"
        for (t, a), (_, b) in zip(points, other, strict=True):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9) or (math.isnan(a) and math.isnan(b)), (
                f"{query} {key} at {t}: ours {format_value(a)}, VictoriaMetrics {format_value(b)}"
            )


async def test_queries_agree_with_victoriametrics(
    loaded: tuple[DuckDBStore, VictoriaMetricsStore, uuid.UUID],
) -> None:
    """Every expression, instant at several times and as a range query (one data load)."""
    duck, vm, tenant = loaded
    start, end, step = RANGE
    times = list(range(start, end + 1, step))
    failures: list[str] = []
    for query in EXPRESSIONS:
        try:
            for t in INSTANTS:
                mine = ours(await promql.instant_query(duck, tenant, query, t), [t])
                form = {"query": query, "time": str(t / 1000)}
                reference = await theirs(vm, tenant, "/api/v1/query", form)
                assert_close(mine, reference, f"{query} @ {t}")
            if query in INSTANT_ONLY:
                continue
            mine = ours(await promql.range_query(duck, tenant, query, start, end, step), times)
            form = {
                "query": query,
                "start": str(start / 1000),
                "end": str(end / 1000),
                "step": f"{step}ms",
            }
            reference = await theirs(vm, tenant, "/api/v1/query_range", form)
            assert_close(mine, reference, f"{query} (range)")
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)
