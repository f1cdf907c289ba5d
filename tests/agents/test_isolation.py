"""Tenant isolation: tenant B can neither see nor change tenant A's agents."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.roles import Role
from tests.agents.helpers import AGENTS, assert_problem, audit, count_agents, create, load
from tests.conftest import Caller, Factory


async def test_tenant_b_cannot_read_list_patch_or_delete_tenant_a_agents(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory, dev: Caller
) -> None:
    mine = await create(client, dev, "shared-name", labels={"team": "a"}, description="secret")
    url = f"{AGENTS}/{mine['id']}"
    intruder = await factory.user(Role.admin)  # the strongest role, in another tenant
    intruder_key = await factory.api_key(Role.admin)

    for caller in (intruder, intruder_key):
        assert_problem(await client.get(url, headers=caller.headers), 404, "not-found")
        etagged = {**caller.headers, "If-None-Match": '"1"'}
        assert_problem(await client.get(url, headers=etagged), 404, "not-found")
        patched = await client.patch(
            url,
            json={"description": "owned", "name": "taken-over"},
            headers={**caller.headers, "If-Match": '"1"'},
        )
        assert_problem(patched, 404, "not-found")
        assert_problem(await client.delete(url, headers=caller.headers), 404, "not-found")
        for params in ({}, {"q": "shared"}, {"label": "team=a"}, {"label": "team"}):
            listed = await client.get(AGENTS, params=params, headers=caller.headers)
            assert listed.status_code == 200
            assert listed.json()["items"] == []

    row = await load(session, mine["id"])
    assert row is not None
    assert (row.name, row.description, row.revision) == ("shared-name", "secret", 1)
    assert await count_agents(session, dev.tenant_id) == 1
    assert await audit(session, intruder.tenant_id, "agent.update") == []
    assert await audit(session, intruder.tenant_id, "agent.delete") == []

    # Tenant B's own agent of the same name is independent of A's.
    theirs = await create(client, intruder, "shared-name")
    assert theirs["id"] != mine["id"]
    listed = await client.get(AGENTS, headers=dev.headers)
    assert [a["id"] for a in listed.json()["items"]] == [mine["id"]]


async def test_owner_filter_does_not_reach_into_another_tenant(
    client: httpx.AsyncClient, factory: Factory, dev: Caller
) -> None:
    await create(client, dev, "a-owned")
    other = await factory.user(Role.developer)
    response = await client.get(AGENTS, params={"owner": str(dev.user_id)}, headers=other.headers)
    assert response.status_code == 200
    assert response.json()["items"] == []
