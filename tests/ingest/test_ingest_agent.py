"""``POST /api/v1/agents/{agent_id}/metrics``: the simple per-agent report."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.identity.roles import Role
from agentdeck.ingest.models import MetricMetadata, MetricType
from tests.conftest import Factory
from tests.ingest.ingest_support import make_agent, now_ms, stored


def url(agent_id: object) -> str:
    return f"/api/v1/agents/{agent_id}/metrics"


async def test_report_maps_fields_to_standard_metrics(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    agent = await make_agent(session, key.tenant_id, "writer")
    t = now_ms() - 1000
    report = {
        "timestamp": t,
        "cpu_percent": 41.5,
        "memory_percent": 63,
        "requests": 120,
        "errors": 3,
        "latency_ms": 250,
        "tokens_in": 1000,
        "tokens_out": 400,
        "cost_usd": 0.25,
        "extra": {"queue_depth": 7},
        "labels": {"zone": "a"},
    }
    response = await client.post(url(agent.id), json=report, headers=key.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 9, "rejected": 0, "errors": []}
    base = {"agent": "writer", "zone": "a"}
    assert await stored(client, key.tenant_id) == [
        ("agent_cost_usd_total", base, [(t, 0.25)]),
        ("agent_cpu_percent", base, [(t, 41.5)]),
        ("agent_errors_total", base, [(t, 3.0)]),
        ("agent_memory_percent", base, [(t, 63.0)]),
        ("agent_request_latency_seconds", base, [(t, 0.25)]),
        ("agent_requests_total", base, [(t, 120.0)]),
        ("agent_tokens_total", {**base, "type": "input"}, [(t, 1000.0)]),
        ("agent_tokens_total", {**base, "type": "output"}, [(t, 400.0)]),
        ("queue_depth", base, [(t, 7.0)]),
    ]
    meta = {
        m.name: (m.type, m.unit)
        for m in (
            await session.scalars(
                select(MetricMetadata).where(MetricMetadata.tenant_id == key.tenant_id)
            )
        ).all()
    }
    assert meta["agent_requests_total"] == (MetricType.counter, "")
    assert meta["agent_request_latency_seconds"] == (MetricType.gauge, "seconds")
    assert meta["agent_cpu_percent"] == (MetricType.gauge, "percent")
    row = await session.scalar(
        select(Agent).where(Agent.id == agent.id).execution_options(populate_existing=True)
    )
    assert row is not None and row.last_seen_at is not None


async def test_bad_extra_names_are_refused_and_the_rest_kept(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    agent = await make_agent(session, key.tenant_id, "a1")
    response = await client.post(
        url(agent.id),
        json={"cpu_percent": 5, "extra": {"bad-name": 1}},
        headers=key.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "extra.bad-name",
            "message": "metric name 'bad-name' does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
        }
    ]
    assert [name for name, _, _ in await stored(client, key.tenant_id)] == ["agent_cpu_percent"]


async def test_bad_reports(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    agent = await make_agent(session, key.tenant_id, "a1")
    cases = [
        ({"cpu_percent": "lots"}, 422, "validation-error"),
        ({"requests": -1}, 422, "validation-error"),
        ({"unknown_field": 1}, 422, "validation-error"),
        ({}, 400, "no-valid-samples"),
        ({"cpu_percent": 1, "timestamp": 1}, 400, "no-valid-samples"),
    ]
    for body, status, kind in cases:
        response = await client.post(url(agent.id), json=body, headers=key.headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["type"] == f"/problems/{kind}"
    response = await client.post(
        url(agent.id),
        content=b"{nope",
        headers={**key.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-json"
    assert await stored(client, key.tenant_id) == []


async def test_unknown_and_other_tenants_agents_are_404(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key_a = await factory.api_key(Role.developer)
    key_b = await factory.api_key(Role.developer)
    agent_a = await make_agent(session, key_a.tenant_id, "a1")
    for target in (agent_a.id, uuid.uuid4(), "not-a-uuid"):
        response = await client.post(url(target), json={"cpu_percent": 1}, headers=key_b.headers)
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/not-found"
    assert await stored(client, key_a.tenant_id) == []
    assert await stored(client, key_b.tenant_id) == []


async def test_viewer_is_403(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.viewer)
    agent = await make_agent(session, key.tenant_id, "a1")
    response = await client.post(url(agent.id), json={"cpu_percent": 1}, headers=key.headers)
    assert response.status_code == 403
    assert await stored(client, key.tenant_id) == []
