"""The demo fleet seeded by `serve --demo`."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.demo import seed_demo_agents
from agentdeck.identity.models import Tenant
from tests.agents.helpers import AGENTS, count_agents, create, label_rows
from tests.conftest import Caller


async def test_seed_creates_a_mixed_fleet_once(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, dev: Caller
) -> None:
    created = await seed_demo_agents(session, tenant.id, dev.user_id)
    await session.commit()
    assert 10 <= created <= 15
    assert await count_agents(session, tenant.id) == created

    assert await seed_demo_agents(session, tenant.id, dev.user_id) == 0
    await session.commit()
    assert await count_agents(session, tenant.id) == created

    response = await client.get(AGENTS, params={"limit": 500}, headers=dev.headers)
    agents = response.json()["items"]
    assert len(agents) == created
    assert {a["type"] for a in agents} == {"llm", "classifier", "extractor", "custom"}
    assert {a["status"] for a in agents} == {"stopped", "deploying", "running", "scaling", "error"}
    assert all(a["labels"].get("team") and a["labels"].get("env") for a in agents)
    for agent in agents:
        assert await label_rows(session, agent["id"]) == agent["labels"]
        scaling = agent["config"].get("auto_scaling")
        if scaling:
            assert scaling["min_replicas"] <= scaling["max_replicas"]

    # The owner keeps room under the default quota of 10 to create their own.
    owned = [a for a in agents if a["owner_id"] == str(dev.user_id)]
    assert 0 < len(owned) < 10
    await create(client, dev, "my-own-agent")

    selected = await client.get(AGENTS, params={"label": "env=prod"}, headers=dev.headers)
    assert len(selected.json()["items"]) >= 3


async def test_seed_leaves_a_tenant_with_agents_alone(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, dev: Caller
) -> None:
    await create(client, dev, "pre-existing")
    assert await seed_demo_agents(session, tenant.id, dev.user_id) == 0
    await session.commit()
    assert await count_agents(session, tenant.id) == 1


async def test_simulated_agents_report_health_that_matches_their_status(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, dev: Caller
) -> None:
    """No process runs for a demo agent, but its health must not call a reporting agent down:
    up (running, scaling) means all its replicas ready, error and stopped mean none."""
    await seed_demo_agents(session, tenant.id, dev.user_id)
    await session.commit()
    agents = (await client.get(AGENTS, params={"limit": 500}, headers=dev.headers)).json()["items"]
    for agent in agents:
        health = agent["health"]
        desired = health["replicas"]["desired"]
        if agent["status"] in ("running", "scaling"):
            assert health["healthy"] is True, agent["name"]
            assert health["replicas"]["ready"] == desired == agent["replica_count"]
        elif agent["status"] in ("error", "stopped"):
            assert health["healthy"] is False, agent["name"]
            assert health["replicas"]["ready"] == 0
