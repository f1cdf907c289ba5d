"""``/api/v1/monitoring/*``: figures from known samples, sorting and paging, topology, trends,
bad parameters and tenancy.

The fixture ingests 30 minutes of linear counters through the API: every rate doubled ten
minutes ago, so over a 10-minute window each figure is twice the window before. Expected
values are worked out by hand from the rates below (PromQL's extrapolation is exact on linear
counters sampled across the whole window).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.alerts.fingerprint import fingerprint
from agentdeck.alerting.models import Alert
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
WINDOW = "10m"
WINDOW_S = 600
STEP_S = 60
TICKS = 31  # 30 minutes of samples, one a minute

# Per-second rates in the current window (the window before has half of each).
RATES: dict[str, dict[str, float]] = {
    "alpha": {"requests": 2.0, "errors": 0.2, "tokens": 10.0, "cost": 0.01},
    "beta": {"requests": 1.0, "errors": 0.015},
    "gamma": {"requests": 4.0, "errors": 0.0},
}
# Calls per second (and failed calls) of alpha to its targets, both windows alike.
CALLS = {"beta": (1.0, 0.1), "openai-api": (0.5, 0.0)}
CPU = {"alpha": 40.0, "beta": 20.0, "gamma": 75.0}


@dataclass
class Fleet:
    client: httpx.AsyncClient
    viewer: Caller
    dev: Caller
    ids: dict[str, str]


def _counter(rate_now: float, t_s: float, now_s: float) -> float:
    """A counter that grew at rate/2 until one window ago, then at rate."""
    start = now_s - (TICKS - 1) * STEP_S
    switch = now_s - WINDOW_S
    before = min(t_s, switch) - start
    after = max(t_s - switch, 0.0)
    return 1000.0 + rate_now / 2 * before + rate_now * after


def _samples(now_s: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k in range(TICKS):
        t = now_s - (TICKS - 1 - k) * STEP_S
        ts = int(t * 1000)

        def add(name: str, value: float, ts: int = ts, **labels: str) -> None:
            out.append({"name": name, "value": value, "timestamp": ts, "labels": labels})

        for agent, rates in RATES.items():
            add("agent_requests_total", _counter(rates["requests"], t, now_s), agent=agent)
            add("agent_errors_total", _counter(rates["errors"], t, now_s), agent=agent)
            add("agent_cpu_percent", CPU[agent], agent=agent)
        add("agent_tokens_total", _counter(10.0, t, now_s), agent="alpha", type="input")
        add("agent_cost_usd_total", _counter(0.01, t, now_s), agent="alpha")
        # gamma's latency histogram: 3 of its 4 requests/s under 0.1 s, all under 0.5 s
        for le, share in (("0.1", 3.0), ("0.5", 4.0), ("+Inf", 4.0)):
            add(
                "agent_request_duration_seconds_bucket",
                _counter(share, t, now_s),
                agent="gamma",
                le=le,
            )
        for target, (calls, failed) in CALLS.items():
            base = 500.0 + (t - now_s + (TICKS - 1) * STEP_S)
            add("agent_calls_total", base * calls, agent="alpha", target=target)
            add("agent_call_errors_total", base * failed, agent="alpha", target=target)
    return out


async def _agent(client: httpx.AsyncClient, dev: Caller, name: str, **fields: Any) -> str:
    response = await client.post(
        "/api/v1/agents", json={"name": name, "type": "llm", **fields}, headers=dev.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
async def fleet(app_factory: AppFactory, factory: Factory) -> Fleet:
    client = await app_factory(loops={"enabled": False})
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    ids = {
        "alpha": await _agent(client, dev, "alpha", dependencies=["beta"]),
        "beta": await _agent(client, dev, "beta"),
        "gamma": await _agent(client, dev, "gamma", dependencies=["beta", "postgres"]),
        "idle": await _agent(client, dev, "idle"),
    }
    for name in ("alpha", "beta", "gamma"):
        response = await client.patch(
            f"/api/v1/agents/{ids[name]}", json={"status": "running"}, headers=dev.headers
        )
        assert response.status_code == 200, response.text
    now_s = float(int(time.time()))
    response = await client.post(
        "/api/v1/metrics/batch", json={"samples": _samples(now_s)}, headers=dev.headers
    )
    assert response.status_code == 200 and response.json()["rejected"] == 0, response.text
    return Fleet(client, viewer, dev, ids)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-6, abs=1e-9)


async def test_overview_headlines_against_the_window_before(fleet: Fleet) -> None:
    response = await fleet.client.get(
        "/api/v1/monitoring/overview", params={"window": WINDOW}, headers=fleet.viewer.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["window"], body["window_seconds"]) == (WINDOW, WINDOW_S)
    assert body["agents"]["total"] == 4
    assert body["agents"]["by_status"] == {
        "stopped": 1, "deploying": 0, "running": 3, "scaling": 0, "error": 0
    }  # fmt: skip

    requests = body["request_rate"]
    assert requests["value"] == approx(7.0)
    assert requests["previous"] == approx(3.5)
    assert requests["change_percent"] == approx(100.0)
    assert requests["trend"] == "up"
    errors = body["error_rate"]
    assert errors["value"] == approx((0.2 + 0.015) / 7.0)
    assert errors["previous"] == approx((0.1 + 0.0075) / 3.5)
    assert errors["trend"] == "flat"  # the ratio did not move
    assert body["tokens"]["value"] == approx(10.0 * WINDOW_S)
    assert body["tokens"]["previous"] == approx(5.0 * WINDOW_S)
    assert body["cost_usd"]["value"] == approx(0.01 * WINDOW_S)
    assert body["cost_usd"]["trend"] == "up"
    # p95 of gamma's histogram: rank 3.8 of 4 lies 80 % into the (0.1, 0.5] bucket
    assert body["p95_latency_seconds"]["value"] == approx(0.1 + 0.4 * 0.8)
    assert body["p95_latency_seconds"]["trend"] == "flat"
    # the batch was just stored: its samples count in the last 60 s
    assert body["ingest_rate"]["value"] == approx(round(len(_samples(0.0)) / 60, 3))
    assert body["ingest_rate"]["trend"] == "up"
    assert body["alerts"]["active"] == 0
    assert set(body["alerts"]["by_severity"]) == {"info", "warning", "error", "critical"}


async def test_headlines_say_when_the_window_before_is_only_partly_filled(fleet: Fleet) -> None:
    """30 minutes of samples: the 10-minute window before is filled, the 30-minute one (back to
    an hour ago) is not, so its change compares against too little: the client shows "not
    enough history" instead of a percentage."""

    async def body(window: str) -> dict[str, Any]:
        response = await fleet.client.get(
            "/api/v1/monitoring/overview", params={"window": window}, headers=fleet.viewer.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    filled = await body("10m")
    figures = ("request_rate", "error_rate", "p95_latency_seconds", "tokens", "cost_usd")
    assert {name: filled[name]["history"] for name in figures} == dict.fromkeys(figures, True)
    partial = await body("30m")
    assert {name: partial[name]["history"] for name in figures} == dict.fromkeys(figures, False)
    # nothing was ingested in the minute before the last one (the process just started)
    assert partial["ingest_rate"]["history"] is False


async def test_agents_have_their_figures_and_sort_filter_and_page(fleet: Fleet) -> None:
    url = "/api/v1/monitoring/agents"
    headers = fleet.viewer.headers
    body = (await fleet.client.get(url, params={"window": WINDOW}, headers=headers)).json()
    by_name = {item["name"]: item for item in body["items"]}
    assert list(by_name) == ["alpha", "beta", "gamma", "idle"]  # by name by default
    alpha = by_name["alpha"]
    assert alpha["request_rate"] == approx(2.0)
    assert alpha["error_rate"] == approx(0.1)
    assert alpha["health"] == "unhealthy"
    assert alpha["cpu_percent"] == approx(40.0)
    assert alpha["tokens"] == approx(6000.0)
    assert alpha["cost_usd"] == approx(6.0)
    assert alpha["last_seen"] is not None
    assert by_name["beta"]["health"] == "degraded"
    assert by_name["gamma"]["health"] == "healthy"
    assert by_name["gamma"]["p95_latency_seconds"] == approx(0.42)
    idle = by_name["idle"]
    assert (idle["health"], idle["request_rate"], idle["last_seen"]) == ("unknown", None, None)
    assert len(alpha["sparkline"]) == 30
    assert alpha["sparkline"][-1] == approx(2.0)
    assert body["sparkline_step_seconds"] == WINDOW_S // 30

    # busiest first, two a page; agents without traffic come last
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"window": WINDOW, "sort": "-request_rate", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await fleet.client.get(url, params=params, headers=headers)).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["gamma", "alpha", "beta", "idle"]

    ascending = await fleet.client.get(url, params={"sort": "cpu"}, headers=headers)
    assert [i["name"] for i in ascending.json()["items"]] == ["beta", "alpha", "gamma", "idle"]
    unhealthy = await fleet.client.get(
        url, params={"health": ["unhealthy", "degraded"]}, headers=headers
    )
    assert [i["name"] for i in unhealthy.json()["items"]] == ["alpha", "beta"]
    stopped = await fleet.client.get(url, params={"status": "stopped"}, headers=headers)
    assert [i["name"] for i in stopped.json()["items"]] == ["idle"]
    named = await fleet.client.get(url, params={"q": "AMM"}, headers=headers)
    assert [i["name"] for i in named.json()["items"]] == ["gamma"]


async def test_topology_joins_reported_calls_and_declared_dependencies(fleet: Fleet) -> None:
    response = await fleet.client.get(
        "/api/v1/monitoring/topology", params={"window": WINDOW}, headers=fleet.viewer.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    nodes = {n["id"]: n for n in body["nodes"]}
    assert set(nodes) == {
        "agent:alpha", "agent:beta", "agent:gamma", "agent:idle",
        "service:openai-api", "service:postgres",
    }  # fmt: skip
    assert nodes["agent:alpha"]["kind"] == "agent" and nodes["agent:alpha"]["status"] == "running"
    assert nodes["service:openai-api"]["request_rate"] == approx(0.5)
    assert nodes["service:openai-api"]["health"] == "healthy"
    assert nodes["service:postgres"]["health"] == "unknown"  # declared, never reported
    edges = {e["id"]: e for e in body["edges"]}
    assert set(edges) == {
        "agent:alpha->agent:beta",
        "agent:alpha->service:openai-api",
        "agent:gamma->agent:beta",
        "agent:gamma->service:postgres",
    }
    reported = edges["agent:alpha->agent:beta"]
    assert reported["sources"] == ["declared", "telemetry"]
    assert reported["request_rate"] == approx(1.0)
    assert reported["error_rate"] == approx(0.1)
    assert reported["health"] == "unhealthy"
    assert edges["agent:alpha->service:openai-api"]["sources"] == ["telemetry"]
    declared = edges["agent:gamma->service:postgres"]
    assert declared["sources"] == ["declared"]
    assert (declared["request_rate"], declared["health"]) == (None, "unknown")
    assert body["truncated"] is False

    focused = await fleet.client.get(
        "/api/v1/monitoring/topology",
        params={"window": WINDOW, "agent": "postgres"},
        headers=fleet.viewer.headers,
    )
    focus = focused.json()
    assert [e["id"] for e in focus["edges"]] == ["agent:gamma->service:postgres"]
    assert {n["id"] for n in focus["nodes"]} == {"agent:gamma", "service:postgres"}
    small = await fleet.client.get(
        "/api/v1/monitoring/topology", params={"limit": 2}, headers=fleet.viewer.headers
    )
    assert small.json()["truncated"] is True and len(small.json()["nodes"]) == 2


async def test_trends_compare_windows_and_overlay_the_series(fleet: Fleet) -> None:
    url = "/api/v1/monitoring/performance/trends"
    response = await fleet.client.get(
        url, params={"metric": "request_rate", "window": WINDOW}, headers=fleet.viewer.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["current"] == approx(7.0) and body["previous"] == approx(3.5)
    assert body["change_percent"] == approx(100.0) and body["direction"] == "up"
    assert body["step_seconds"] == 10 and body["unit"] == "requests/s"
    assert len(body["current_series"]) == len(body["previous_series"]) == 60
    assert body["current_series"][-1]["t"] == body["previous_series"][-1]["t"]
    assert body["current_series"][-1]["v"] == approx(7.0)

    one = await fleet.client.get(
        url,
        params={"metric": "cpu_percent", "window": WINDOW, "agent": "gamma"},
        headers=fleet.viewer.headers,
    )
    assert one.json()["agent"] == "gamma"
    assert one.json()["current"] == approx(75.0) and one.json()["direction"] == "flat"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("performance/trends", {"metric": "happiness"}, "metric"),
        ("performance/trends", {"metric": "cpu_percent", "window": "soon"}, "window"),
        ("overview", {"window": "10s"}, "window"),
        ("overview", {"window": "30d"}, "window"),
        ("agents", {"sort": "-mood"}, "sort"),
        ("agents", {"cursor": "not-a-cursor"}, "cursor"),
        ("topology", {"window": "-5m"}, "window"),
    ],
)
async def test_bad_parameters_are_400_naming_the_field(
    app_factory: AppFactory, factory: Factory, path: str, params: dict[str, str], field: str
) -> None:
    client = await app_factory(loops={"enabled": False})
    viewer = await factory.user(Role.viewer)
    response = await client.get(f"/api/v1/monitoring/{path}", params=params, headers=viewer.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["query", field]


async def test_a_cursor_of_another_sort_is_refused(fleet: Fleet) -> None:
    url = "/api/v1/monitoring/agents"
    page = await fleet.client.get(
        url, params={"sort": "name", "limit": 1}, headers=fleet.viewer.headers
    )
    cursor = page.json()["next_cursor"]
    response = await fleet.client.get(
        url, params={"sort": "cpu", "cursor": cursor}, headers=fleet.viewer.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_another_tenant_sees_none_of_it(fleet: Fleet, factory: Factory) -> None:
    stranger = await factory.user(Role.admin)
    get = fleet.client.get
    overview = (await get("/api/v1/monitoring/overview", headers=stranger.headers)).json()
    assert overview["agents"]["total"] == 0
    assert overview["request_rate"]["value"] is None
    assert overview["tokens"]["value"] is None
    agents = (await get("/api/v1/monitoring/agents", headers=stranger.headers)).json()
    assert agents["items"] == []
    topology = (await get("/api/v1/monitoring/topology", headers=stranger.headers)).json()
    assert topology["nodes"] == [] and topology["edges"] == []
    trend = await get(
        "/api/v1/monitoring/performance/trends",
        params={"metric": "request_rate", "agent": "alpha"},
        headers=stranger.headers,
    )
    assert trend.json()["current"] is None


async def test_open_alerts_are_counted_by_severity_newest_first(
    fleet: Fleet, factory: Factory, session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    other = await factory.tenant()

    def alert(tenant: uuid.UUID, name: str, severity: str, status: str, ago: int) -> Alert:
        labels = {"alertname": name, "agent": "alpha"}
        return Alert(
            tenant_id=tenant,
            rule_name=name,
            fingerprint=fingerprint(labels),
            labels=labels,
            severity=severity,
            status=status,
            starts_at=now - timedelta(minutes=ago),
        )

    tenant = fleet.dev.tenant_id
    session.add_all(
        [
            alert(tenant, "HighErrorRate", "critical", "active", 5),
            alert(tenant, "SlowAgent", "warning", "acknowledged", 2),
            alert(tenant, "Noisy", "warning", "active", 9),
            alert(tenant, "Old", "error", "resolved", 1),
            alert(other.id, "Theirs", "critical", "active", 1),
        ]
    )
    await session.commit()
    body = (
        await fleet.client.get("/api/v1/monitoring/overview", headers=fleet.viewer.headers)
    ).json()["alerts"]
    assert body["active"] == 3
    assert body["by_severity"] == {"info": 0, "warning": 2, "error": 0, "critical": 1}
    assert [a["alertname"] for a in body["recent"]] == ["SlowAgent", "HighErrorRate", "Noisy"]
    assert body["recent"][0]["status"] == "acknowledged"
    assert body["recent"][0]["agent"] == "alpha"


async def test_suppressed_alerts_are_marked_and_counted(
    fleet: Fleet, session: AsyncSession
) -> None:
    """An inhibited or silenced alert is still open, but the strip says its notifications are
    held (Alertmanager's `suppressed` state) instead of showing it as plainly active."""
    now = datetime.now(UTC)
    tenant = fleet.dev.tenant_id

    def alert(name: str, severity: str, ago: int, **muting: list[str]) -> Alert:
        labels = {"alertname": name, "agent": "alpha"}
        return Alert(
            tenant_id=tenant,
            rule_name=name,
            fingerprint=fingerprint(labels),
            labels=labels,
            severity=severity,
            status="active",
            starts_at=now - timedelta(minutes=ago),
            **muting,
        )

    critical = alert("ErrorRateCritical", "critical", 3)
    session.add(critical)
    await session.flush()
    session.add_all(
        [
            alert("ErrorRateWarning", "warning", 4, inhibited_by=[str(critical.id)]),
            alert("Noisy", "info", 5, silenced_by=[str(uuid.uuid4())], inhibited_by=["x"]),
        ]
    )
    await session.commit()
    body = (
        await fleet.client.get("/api/v1/monitoring/overview", headers=fleet.viewer.headers)
    ).json()["alerts"]
    assert body["active"] == 3 and body["suppressed"] == 2
    assert [(a["alertname"], a["suppressed"]) for a in body["recent"]] == [
        ("ErrorRateCritical", None),
        ("ErrorRateWarning", "inhibited"),
        ("Noisy", "silenced"),
    ]
