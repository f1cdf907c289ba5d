"""The threshold form: each operator and aggregation compiles to PromQL that, evaluated on
ingested samples, selects exactly the series a user expects (values worked out by hand)."""

from __future__ import annotations

import httpx
import pytest

from agentdeck.alerting.rules.compile import format_duration, parse_duration
from agentdeck.identity.roles import Role
from tests.alerting.rules_support import RULES, T0, ingest
from tests.conftest import Factory

# Three agents over the 5 minutes before T0 (samples every 60 s, 5 in the window (T0-5m, T0]):
#   a: 10 20 30 40 50  -> avg 30, min 10, max 50, sum 150, count 5, last 50
#   b: 70 70 70 70 70  -> avg 70 (exactly the threshold), last 70
#   c: 90 80 100 60 95 -> avg 85, min 60, max 100, last 95
SERIES = {
    "a": [10.0, 20.0, 30.0, 40.0, 50.0],
    "b": [70.0, 70.0, 70.0, 70.0, 70.0],
    "c": [90.0, 80.0, 100.0, 60.0, 95.0],
}

CASES = [
    # (aggregation, operator, threshold, {agent: expected value})
    ("avg", ">=", 70, {"b": 70.0, "c": 85.0}),
    ("avg", ">", 70, {"c": 85.0}),
    ("avg", "<", 70, {"a": 30.0}),
    ("avg", "<=", 70, {"a": 30.0, "b": 70.0}),
    ("avg", "==", 70, {"b": 70.0}),
    ("avg", "!=", 70, {"a": 30.0, "c": 85.0}),
    ("min", "<", 20, {"a": 10.0}),
    ("max", ">=", 100, {"c": 100.0}),
    ("sum", ">", 349, {"b": 350.0, "c": 425.0}),
    ("count", "==", 5, {"a": 5.0, "b": 5.0, "c": 5.0}),
    ("last", ">=", 95, {"c": 95.0}),
    # quantile_over_time(0.5): the median of the window
    ("p50", ">=", 70, {"b": 70.0, "c": 90.0}),
    # p99 of c: rank 0.99*4 = 3.96 between 95 and 100 -> 99.8
    ("p99", ">", 99, {"c": 99.8}),
]


@pytest.fixture
async def fleet(client: httpx.AsyncClient, factory: Factory) -> httpx.Headers:
    dev = await factory.user(Role.developer)
    samples = [
        ("agent_cpu_percent", {"agent": agent}, T0 - (4 - i) * 60_000, value)
        for agent, values in SERIES.items()
        for i, value in enumerate(values)
    ]
    # An older sample outside the window must not count.
    samples.append(("agent_cpu_percent", {"agent": "a"}, T0 - 400_000, 1000.0))
    await ingest(client, dev, samples)
    return httpx.Headers(dev.headers)


async def test_compile_table_on_ingested_data(
    client: httpx.AsyncClient, fleet: httpx.Headers
) -> None:
    for aggregation, operator, threshold, expected in CASES:
        form = {
            "metric_name": "agent_cpu_percent",
            "aggregation": aggregation,
            "window": "5m",
            "operator": operator,
            "threshold": threshold,
        }
        compiled = await client.post(f"{RULES}/compile", json={"threshold": form}, headers=fleet)
        expr = compiled.json()["expr"]
        assert expr.endswith(f" {operator} {threshold}"), expr
        result = await client.get(
            "/api/v1/query", params={"query": expr, "time": T0 / 1000}, headers=fleet
        )
        assert result.status_code == 200, result.text
        got = {
            item["metric"]["agent"]: float(item["value"][1])
            for item in result.json()["data"]["result"]
        }
        assert got == pytest.approx(expected), (aggregation, operator, expr)


async def test_label_filters_and_rate(client: httpx.AsyncClient, fleet: httpx.Headers) -> None:
    form = {
        "metric_name": "agent_cpu_percent",
        "aggregation": "avg",
        "window": "5m",
        "operator": ">=",
        "threshold": 0,
        "label_filters": [{"name": "agent", "op": "!~", "value": "a|b"}],
    }
    expr = (await client.post(f"{RULES}/compile", json={"threshold": form}, headers=fleet)).json()[
        "expr"
    ]
    assert expr == 'avg_over_time(agent_cpu_percent{agent!~"a|b"}[5m]) >= 0'
    result = await client.get(
        "/api/v1/query", params={"query": expr, "time": T0 / 1000}, headers=fleet
    )
    assert [r["metric"]["agent"] for r in result.json()["data"]["result"]] == ["c"]


async def test_no_data_in_window_selects_nothing(
    client: httpx.AsyncClient, fleet: httpx.Headers
) -> None:
    """Below or absent: a threshold rule on a silent metric returns no series to fire on."""
    form = {
        "metric_name": "agent_cpu_percent",
        "aggregation": "avg",
        "window": "1m",
        "operator": "<",
        "threshold": 1e9,
    }
    expr = (await client.post(f"{RULES}/compile", json={"threshold": form}, headers=fleet)).json()[
        "expr"
    ]
    later = (T0 + 3_600_000) / 1000
    result = await client.get("/api/v1/query", params={"query": expr, "time": later}, headers=fleet)
    assert result.json()["data"]["result"] == []


def test_durations() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90
    assert parse_duration("250ms") == 0.25
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0s"
    assert format_duration(86400 * 8) == "1w1d"
    for bad in ("", "5", "m5", "5 m", "1.5h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
