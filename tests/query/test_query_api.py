"""The Prometheus-compatible query API, metric summaries and raw samples, on both stores.

On DuckDB queries run on our engine; on VictoriaMetrics they pass through to its own API.
Either way the shapes are Prometheus's, errors are Prometheus-shaped 400s, and a tenant never
sees another tenant's series.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import numpy as np
import pytest

from agentdeck.identity.roles import Role
from agentdeck.tsdb.base import SampleBatch, Store
from tests.conftest import Factory
from tests.tsdb.conftest import VictoriaMetricsServer, victoria_metrics  # noqa: F401

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
# A recent, minute-aligned instant: the summary route looks back from now.
T = (int(time.time()) // 60) * 60_000 - 600_000
STEP = 15_000


@pytest.fixture(params=["duckdb", "victoriametrics"])
async def api(request: pytest.FixtureRequest, app_factory: AppFactory) -> httpx.AsyncClient:
    if request.param == "duckdb":
        return await app_factory()
    server: VictoriaMetricsServer = request.getfixturevalue("victoria_metrics")
    return await app_factory(tsdb={"backend": "victoriametrics", "victoriametrics_url": server.url})


def store_of(client: httpx.AsyncClient) -> Store:
    store: Store = client.app.state.deck.store  # type: ignore[attr-defined]
    return store


async def write_fleet(client: httpx.AsyncClient, tenant_id: uuid.UUID, scale: float = 1.0) -> None:
    """cpu (gauge) and requests_total (counter) for agents a and b, 15 s apart over 10 min."""
    ts = np.arange(T - 600_000, T + 1, STEP, dtype=np.int64)
    n = len(ts)
    batch = SampleBatch.from_series(
        [
            ("cpu", {"agent": "a"}, ts, np.full(n, 0.5 * scale)),
            ("cpu", {"agent": "b"}, ts, np.linspace(0, 1, n) * scale),
            ("requests_total", {"agent": "a"}, ts, np.arange(n) * 3.0 * scale),
        ]
    )
    store = store_of(client)
    await store.write(tenant_id, batch)
    await store.flush()


def prom_error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data", body
    return str(body["error"])


async def test_instant_query_shape(api: httpx.AsyncClient, factory: Factory) -> None:
    viewer = await factory.user(Role.viewer)
    await write_fleet(api, viewer.tenant_id)
    response = await api.get(
        "/api/v1/query", params={"query": "cpu", "time": str(T / 1000)}, headers=viewer.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    result = sorted(body["data"]["result"], key=lambda r: r["metric"]["agent"])
    assert [r["metric"] for r in result] == [
        {"__name__": "cpu", "agent": "a"},
        {"__name__": "cpu", "agent": "b"},
    ]
    assert result[0]["value"] == [T / 1000, "0.5"]
    assert result[1]["value"] == [T / 1000, "1"]
    # Aggregation and a form-encoded POST, as Grafana sends it.
    response = await api.post(
        "/api/v1/query",
        data={"query": "sum(cpu)", "time": str(T / 1000)},
        headers=viewer.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"] == [{"metric": {}, "value": [T / 1000, "1.5"]}]
    scalar = await api.get(
        "/api/v1/query", params={"query": "1 + 1", "time": "100"}, headers=viewer.headers
    )
    if store_of(api).backend == "duckdb":
        assert scalar.json()["data"] == {"resultType": "scalar", "result": [100, "2"]}
    else:  # VictoriaMetrics answers scalars as a one-series vector (docs/promql.md)
        assert scalar.json()["data"]["result"] == [{"metric": {}, "value": [100, "2"]}]


async def test_range_query_shape(api: httpx.AsyncClient, factory: Factory) -> None:
    viewer = await factory.user(Role.viewer)
    await write_fleet(api, viewer.tenant_id)
    params = {
        "query": 'cpu{agent="a"} * 2',
        "start": str((T - 120_000) / 1000),
        "end": str(T / 1000),
        "step": "60s",
    }
    response = await api.get("/api/v1/query_range", params=params, headers=viewer.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["resultType"] == "matrix"
    assert data["result"] == [
        {
            "metric": {"agent": "a"},
            "values": [[(T - 120_000) / 1000, "1"], [(T - 60_000) / 1000, "1"], [T / 1000, "1"]],
        }
    ]
    rate = await api.post(
        "/api/v1/query_range",
        data={**params, "query": "rate(requests_total[2m])"},
        headers=viewer.headers,
    )
    assert rate.status_code == 200, rate.text
    values = rate.json()["data"]["result"][0]["values"]
    # 3 per 15 s is 0.2/s whether or not the backend extrapolates (the counter is linear).
    assert [float(v) for _, v in values] == pytest.approx([0.2, 0.2, 0.2])


async def test_tenant_b_never_sees_tenant_a(api: httpx.AsyncClient, factory: Factory) -> None:
    a = await factory.user(Role.viewer)
    b = await factory.user(Role.viewer, await factory.tenant())
    await write_fleet(api, a.tenant_id)
    for query in ("cpu", "sum(cpu)", '{__name__=~".+"}', "count by (agent) (requests_total)"):
        response = await api.get(
            "/api/v1/query", params={"query": query, "time": str(T / 1000)}, headers=b.headers
        )
        assert response.json()["data"]["result"] == [], query
    series = await api.get("/api/v1/series", params={"match[]": "cpu"}, headers=b.headers)
    assert series.json() == {"status": "success", "data": []}
    labels = await api.get("/api/v1/labels", headers=b.headers)
    assert labels.json()["data"] == []
    values = await api.get("/api/v1/label/agent/values", headers=b.headers)
    assert values.json()["data"] == []
    # Tenant A sees its own.
    series = await api.get("/api/v1/series", params={"match[]": "cpu"}, headers=a.headers)
    assert series.json()["data"] == [
        {"__name__": "cpu", "agent": "a"},
        {"__name__": "cpu", "agent": "b"},
    ]
    labels = await api.get("/api/v1/labels", headers=a.headers)
    assert labels.json()["data"] == ["__name__", "agent"]
    names = await api.get("/api/v1/label/__name__/values", headers=a.headers)
    assert names.json()["data"] == ["cpu", "requests_total"]


async def test_bad_queries_are_prometheus_shaped_400s(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    viewer = await factory.user(Role.viewer)
    h = viewer.headers
    assert prom_error(await api.get("/api/v1/query", params={"query": "sum("}, headers=h))
    assert "query" in prom_error(await api.get("/api/v1/query", headers=h))
    assert "time" in prom_error(
        await api.get("/api/v1/query", params={"query": "cpu", "time": "yesterday"}, headers=h)
    )
    assert "11,000" in prom_error(
        await api.get(
            "/api/v1/query_range",
            params={"query": "cpu", "start": "0", "end": "20000", "step": "1"},
            headers=h,
        )
    )
    assert "step" in prom_error(
        await api.get(
            "/api/v1/query_range", params={"query": "cpu", "start": "0", "end": "10"}, headers=h
        )
    )
    assert "match[]" in prom_error(await api.get("/api/v1/series", headers=h))
    assert prom_error(await api.get("/api/v1/series", params={"match[]": '{a=~".*"}'}, headers=h))


async def test_unsupported_constructs_are_named(app_factory: AppFactory, factory: Factory) -> None:
    client = await app_factory()  # our engine (VictoriaMetrics runs these itself)
    viewer = await factory.user(Role.viewer)
    error = prom_error(
        await client.get(
            "/api/v1/query", params={"query": "max_over_time(cpu[10m:1m])"}, headers=viewer.headers
        )
    )
    assert "subqueries" in error
    error = prom_error(
        await client.get(
            "/api/v1/query",
            params={"query": 'label_join(cpu, "x", ",", "agent")'},
            headers=viewer.headers,
        )
    )
    assert "label_join" in error


async def test_auth(client: httpx.AsyncClient, factory: Factory) -> None:
    assert (await client.get("/api/v1/query", params={"query": "1"})).status_code == 401
    assert (await client.post("/api/v1/query_range", data={"query": "1"})).status_code == 401
    assert (await client.get("/api/v1/metrics/summary")).status_code == 401
    key = await factory.api_key(Role.viewer)
    response = await client.get("/api/v1/query", params={"query": "1"}, headers=key.headers)
    assert response.status_code == 200


# --- summaries and raw samples (problem+json) ------------------------------------------------


async def test_metrics_summary(api: httpx.AsyncClient, factory: Factory) -> None:
    a = await factory.user(Role.viewer)
    b = await factory.user(Role.viewer, await factory.tenant())
    await write_fleet(api, a.tenant_id)
    response = await api.get(
        "/api/v1/metrics/summary", params={"agent": "b", "window": "1h"}, headers=a.headers
    )
    assert response.status_code == 200, response.text
    [row] = response.json()["items"]
    assert row["metric"] == "cpu" and row["agent"] == "b" and row["count"] == 41
    # linspace(0, 1, 41): mean 0.5, p50 0.5, p95 0.95, p99 0.99 (evenly spaced values).
    assert row["avg"] == pytest.approx(0.5)
    assert (row["min"], row["max"]) == (0.0, 1.0)
    assert (row["p50"], row["p95"], row["p99"]) == pytest.approx((0.5, 0.95, 0.99))
    everything = await api.get("/api/v1/metrics/summary", headers=a.headers)
    assert [(r["metric"], r["agent"]) for r in everything.json()["items"]] == [
        ("cpu", "a"),
        ("cpu", "b"),
        ("requests_total", "a"),
    ]
    other = await api.get("/api/v1/metrics/summary", headers=b.headers)
    assert other.json()["items"] == []
    bad = await api.get("/api/v1/metrics/summary", params={"window": "soon"}, headers=a.headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["loc"] == ["query", "window"]


async def test_raw_samples_page_and_filter(api: httpx.AsyncClient, factory: Factory) -> None:
    a = await factory.user(Role.viewer)
    b = await factory.user(Role.viewer, await factory.tenant())
    await write_fleet(api, a.tenant_id)
    window = {
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((T - 60_000) / 1000)),
        "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T / 1000)),
    }
    seen: list[tuple[str, int, float]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"name": "cpu", **window, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await api.get("/api/v1/metrics", params=params, headers=a.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [(i["labels"]["agent"], i["ts_ms"], i["value"]) for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # 5 samples per agent in [T-60s, T]: 10 in pages of 3, 3, 3, 1.
    assert pages == 4
    assert [(agent, ts) for agent, ts, _ in seen] == [
        (agent, T - 60_000 + i * STEP) for agent in ("a", "b") for i in range(5)
    ]
    filtered = await api.get(
        "/api/v1/metrics", params={"label": "agent=a", **window}, headers=a.headers
    )
    assert {i["name"] for i in filtered.json()["items"]} == {"cpu", "requests_total"}
    other = await api.get("/api/v1/metrics", params={"name": "cpu", **window}, headers=b.headers)
    assert other.json()["items"] == []
    for params, status, loc in (
        ({}, 422, ["query", "name"]),
        ({"label": "agent"}, 422, ["query", "label", 0]),
        ({"name": "cpu", "limit": 501}, 422, ["query", "limit"]),
        ({"name": "cpu", "cursor": "%%%"}, 400, ["query", "cursor"]),
    ):
        response = await api.get("/api/v1/metrics", params=params, headers=a.headers)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["loc"] == loc
