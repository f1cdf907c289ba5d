"""The Store's PromQL contract (``query_instant``, ``query_range``) on DuckDB and VictoriaMetrics.

The embedded store answers with our engine, VictoriaMetrics with its own; both answer in the
Prometheus HTTP API's shape, within the tenant, without the tenant label. Values here are
small whole numbers, so both backends agree on them exactly.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import numpy as np
import pytest

from agentdeck.tsdb.base import SampleBatch, Store, StoreError
from agentdeck.tsdb.promql import PromQLError, QueryTimeout
from agentdeck.tsdb.promql.api import evaluate_instant
from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore

from .data import STEP, T0

POINTS = 20
AT = T0 + 10 * STEP
TIMEOUT_S = 30.0


async def write_pair(store: Store, tenant: uuid.UUID, offset: float = 0.0) -> None:
    """``jobs_total`` for agents a (0, 1, 2, …) and b (0, 2, 4, …), one sample per STEP."""
    ts = T0 + np.arange(POINTS, dtype=np.int64) * STEP
    steps = np.arange(POINTS, dtype=np.float64)
    await store.write(
        tenant,
        SampleBatch.from_series(
            [
                ("jobs_total", {"agent": "a"}, ts, steps + offset),
                ("jobs_total", {"agent": "b"}, ts, steps * 2 + offset),
            ]
        ),
    )
    await store.flush()


def instant_values(data: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """``agent`` → (time in seconds, value text) of an instant vector."""
    assert data["resultType"] == "vector"
    return {
        item["metric"].get("agent", ""): (float(item["value"][0]), item["value"][1])
        for item in data["result"]
    }


async def test_an_instant_query_answers_the_tenants_vector(store: Store) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    await write_pair(store, tenant)
    await write_pair(store, other, offset=100.0)
    data = await store.query_instant(tenant, "jobs_total", AT, timeout_s=TIMEOUT_S)
    assert instant_values(data) == {"a": (AT / 1000, "10"), "b": (AT / 1000, "20")}
    for item in data["result"]:
        assert item["metric"] == {"__name__": "jobs_total", "agent": item["metric"]["agent"]}
    summed = await store.query_instant(tenant, "sum(jobs_total)", AT, timeout_s=TIMEOUT_S)
    assert instant_values(summed) == {"": (AT / 1000, "30")}
    theirs = await store.query_instant(other, 'jobs_total{agent="a"}', AT, timeout_s=TIMEOUT_S)
    assert instant_values(theirs) == {"a": (AT / 1000, "110")}


async def test_a_tenant_without_data_gets_an_empty_vector(store: Store) -> None:
    await write_pair(store, uuid.uuid4())
    data = await store.query_instant(uuid.uuid4(), "jobs_total", AT, timeout_s=TIMEOUT_S)
    assert data == {"resultType": "vector", "result": []}


async def test_a_range_query_answers_a_matrix(store: Store) -> None:
    tenant = uuid.uuid4()
    await write_pair(store, tenant)
    start, end = T0 + 2 * STEP, T0 + 5 * STEP
    data = await store.query_range(
        tenant, 'jobs_total{agent="b"}', start, end, STEP, timeout_s=TIMEOUT_S
    )
    assert data["resultType"] == "matrix"
    (series,) = data["result"]
    assert series["metric"] == {"__name__": "jobs_total", "agent": "b"}
    points = [(float(t), v) for t, v in series["values"]]
    assert points == [((T0 + n * STEP) / 1000, str(2 * n)) for n in range(2, 6)]
    by_agent = await store.query_range(
        tenant, "sum by (agent) (jobs_total)", start, end, STEP, timeout_s=TIMEOUT_S
    )
    assert sorted(item["metric"]["agent"] for item in by_agent["result"]) == ["a", "b"]


async def test_a_query_that_is_not_promql_is_refused_alike(store: Store) -> None:
    tenant = uuid.uuid4()
    with pytest.raises(PromQLError) as instant:
        await store.query_instant(tenant, "sum(jobs_total", AT, timeout_s=TIMEOUT_S)
    with pytest.raises(PromQLError) as ranged:
        await store.query_range(tenant, "jobs_total{", T0, AT, STEP, timeout_s=TIMEOUT_S)
    assert not isinstance(instant.value, QueryTimeout)
    assert not isinstance(ranged.value, QueryTimeout)


async def test_the_engine_stops_at_its_timeout(duckdb_store: Store) -> None:
    """The embedded store's evaluation is bounded by ``timeout_s`` (VictoriaMetrics bounds its
    own, given as its ``timeout`` argument)."""
    tenant = uuid.uuid4()
    await write_pair(duckdb_store, tenant)
    with pytest.raises(QueryTimeout):
        await evaluate_instant(duckdb_store, tenant, "sum(jobs_total)", AT, 0.0)
    data = await duckdb_store.query_instant(tenant, "sum(jobs_total)", AT, timeout_s=TIMEOUT_S)
    assert instant_values(data) == {"": (AT / 1000, "30")}


async def test_a_victoriametrics_that_does_not_answer_is_a_store_error() -> None:
    """The store's own pooled client carries the query; a server that is down is a
    StoreError (503 at the API), not a bad query."""
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with VictoriaMetricsStore(f"http://127.0.0.1:{port}") as store:
        with pytest.raises(StoreError):
            await store.query_instant(uuid.uuid4(), "up", AT, timeout_s=TIMEOUT_S)
        with pytest.raises(PromQLError):  # checked before anything is sent
            await store.query_instant(uuid.uuid4(), "up{", AT, timeout_s=TIMEOUT_S)
