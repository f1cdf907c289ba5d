"""Backtest on ingested samples, and the default rule pack (new tenants, the explicit call,
the startup backfill, inclusive thresholds)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import AlertRule
from agentdeck.identity import service as identity_service
from agentdeck.identity.roles import Role
from tests.alerting.rules_support import RULES, T0, ingest, threshold_rule
from tests.conftest import Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
MINUTE = 60_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


async def test_backtest_pending_firing_resolved(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    start = T0 - 30 * MINUTE
    # cpu of agent x: 50 for 10 minutes, 80 for 10 minutes, 50 again; agent y stays at 10.
    samples = [
        ("agent_cpu_percent", {"agent": "x"}, start + k * MINUTE, 80.0 if 10 <= k < 20 else 50.0)
        for k in range(31)
    ] + [("agent_cpu_percent", {"agent": "y"}, start + k * MINUTE, 10.0) for k in range(31)]
    await ingest(client, dev, samples)
    rule = threshold_rule(for_seconds=120, interval_seconds=60)
    rule["threshold"].update(aggregation="last", window="1m")

    response = await client.post(
        f"{RULES}/test",
        json={"rule": rule, "start": iso(start), "end": iso(T0)},
        headers=dev.headers,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["step_seconds"] == 60 and len(result["timestamps"]) == 31
    assert (result["operator"], result["threshold"]) == (">=", 70)
    assert [(t["state"], t["labels"]) for t in result["transitions"]] == [
        ("pending", {"agent": "x"}),
        ("firing", {"agent": "x"}),
        ("resolved", {"agent": "x"}),
    ]
    times = [datetime.fromisoformat(t["at"]) for t in result["transitions"]]
    assert times == [at(start + 10 * MINUTE), at(start + 12 * MINUTE), at(start + 20 * MINUTE)]
    [alert] = result["alerts"]
    assert alert["labels"] == {"agent": "x", "alertname": "HighCPU", "severity": "warning"}
    assert alert["annotations"] == {"summary": "CPU of x is 80"}
    assert datetime.fromisoformat(alert["fired_at"]) == at(start + 12 * MINUTE)
    # The chart gets the series expression for both agents, without the comparison.
    chart = {s["labels"]["agent"]: s["values"] for s in result["series"]}
    assert chart["y"] == [10.0] * 31
    assert chart["x"][9:11] == [50.0, 80.0]


async def test_backtest_no_data_fires_only_when_asked(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    start = T0 - 10 * MINUTE
    # Data until T0 (below the threshold), then silence for 5 minutes.
    await ingest(
        client,
        dev,
        [("agent_cpu_percent", {"agent": "x"}, start + k * MINUTE, 20.0) for k in range(11)],
    )
    window = {"start": iso(start), "end": iso(T0 + 5 * MINUTE)}

    async def transitions(no_data_state: str) -> list[tuple[str, datetime]]:
        rule = threshold_rule(no_data_state=no_data_state)
        rule["threshold"].update(aggregation="last", window="1m")
        response = await client.post(
            f"{RULES}/test", json={"rule": rule, **window}, headers=dev.headers
        )
        assert response.status_code == 200, response.text
        return [
            (t["state"], datetime.fromisoformat(t["at"]))
            for t in response.json()["transitions"]
            if t["labels"] == {}
        ]

    # Below the threshold is not "no data", and without asking no data fires nothing.
    assert await transitions("ok") == []
    assert await transitions("alerting") == [("firing", at(T0 + MINUTE))]
    assert await transitions("nodata") == [("nodata", at(T0 + MINUTE))]


async def test_backtest_bad_input(client: httpx.AsyncClient, factory: Factory) -> None:
    viewer = await factory.user(Role.viewer)

    async def post(body: dict[str, Any]) -> httpx.Response:
        return await client.post(f"{RULES}/test", json=body, headers=viewer.headers)

    window = {"start": iso(T0 - MINUTE), "end": iso(T0)}
    bad_expr = await post({"rule": {"name": "x", "expr": "sum(("}, **window})
    assert bad_expr.status_code == 400 and bad_expr.json()["errors"][0]["loc"][-1] == "expr"
    backwards = await post({"rule": threshold_rule(), "start": iso(T0), "end": iso(T0 - MINUTE)})
    assert backwards.status_code == 422
    unsupported = await post(
        {"rule": {"name": "x", "expr": 'label_replace(up, "a", "b", "c", "d")'}, **window}
    )
    assert unsupported.status_code == 400


async def test_default_pack_is_idempotent_and_inclusive(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    first = await client.post(f"{RULES}/default-pack", headers=dev.headers)
    assert first.status_code == 200, first.text
    assert len(first.json()["created"]) == 8
    again = (await client.post(f"{RULES}/default-pack", headers=dev.headers)).json()
    assert again["created"] == [] and len(again["existing"]) == 8

    rules = {r["name"]: r for r in (await client.get(RULES, headers=dev.headers)).json()["items"]}
    expected = {
        "AgentCPUWarning": ("warning", 70),
        "AgentCPUCritical": ("critical", 90),
        "AgentMemoryWarning": ("warning", 80),
        "AgentMemoryCritical": ("critical", 95),
        "AgentErrorRateWarning": ("warning", 5),
        "AgentErrorRateCritical": ("critical", 10),
        "AgentLatencyP95Warning": ("warning", 1000),
        "AgentLatencyP95Critical": ("critical", 3000),
    }
    for name, (severity, threshold) in expected.items():
        assert rules[name]["severity"] == severity
        assert rules[name]["expr"].endswith(f" >= {threshold}"), rules[name]["expr"]
    assert rules["AgentCPUCritical"]["expr"] == "avg_over_time(agent_cpu_percent[5m]) >= 90"

    # Exactly at the critical threshold breaches (inclusive), 89.9 does not.
    await ingest(
        client,
        dev,
        [("agent_cpu_percent", {"agent": "hot"}, T0 - k * MINUTE, 90.0) for k in range(5)]
        + [("agent_cpu_percent", {"agent": "warm"}, T0 - k * MINUTE, 89.9) for k in range(5)],
    )
    result = await client.get(
        "/api/v1/query",
        params={"query": rules["AgentCPUCritical"]["expr"], "time": T0 / 1000},
        headers=dev.headers,
    )
    assert [r["metric"]["agent"] for r in result.json()["data"]["result"]] == ["hot"]

    # A deleted pack rule comes back only when asked for.
    await client.delete(f"{RULES}/{rules['AgentCPUWarning']['id']}", headers=dev.headers)
    restored = (await client.post(f"{RULES}/default-pack", headers=dev.headers)).json()
    assert restored["created"] == ["AgentCPUWarning"]


async def _rule_count(session: AsyncSession, tenant_id: Any) -> int:
    count = await session.scalar(
        select(func.count()).select_from(AlertRule).where(AlertRule.tenant_id == tenant_id)
    )
    return int(count or 0)


async def test_new_tenants_get_the_pack(session: AsyncSession) -> None:
    tenant, created = await identity_service.ensure_tenant(session, slug="fresh-tenant")
    await session.commit()
    assert created
    assert await _rule_count(session, tenant.id) == 8


async def test_startup_backfills_existing_tenants_once(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()  # created before the pack existed: no rules
    assert await _rule_count(session, tenant.id) == 0
    dev = await factory.user(Role.developer, tenant)
    client = await app_factory()
    assert await _rule_count(session, tenant.id) == 8
    first = (await client.get(RULES, params={"limit": 1}, headers=dev.headers)).json()
    await client.delete(f"{RULES}/{first['items'][0]['id']}", headers=dev.headers)
    await app_factory()  # a restart does not bring deleted rules back
    assert await _rule_count(session, tenant.id) == 7
