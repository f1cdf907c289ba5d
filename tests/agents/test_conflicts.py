"""Name uniqueness, the per-user quota and optimistic concurrency (ETag / If-Match)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.agents.helpers import (
    AGENTS,
    assert_problem,
    audit,
    body,
    count_agents,
    create,
    load,
)
from tests.conftest import Caller, Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


async def test_duplicate_name_is_409_naming_the_field(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory, dev: Caller
) -> None:
    await create(client, dev, "unique-one")
    response = await client.post(AGENTS, json=body("unique-one"), headers=dev.headers)
    problem = assert_problem(response, 409, "conflict", ["body", "name"])
    assert "unique-one" in problem["detail"]
    assert await count_agents(session, dev.tenant_id) == 1
    assert len(await audit(session, dev.tenant_id, "agent.create")) == 1

    other = await factory.user(Role.developer)  # another tenant may reuse the name
    await create(client, other, "unique-one")


async def test_quota_from_the_tenant_is_409_naming_the_limit(
    client: httpx.AsyncClient,
    session: AsyncSession,
    factory: Factory,
    tenant: Tenant,
    dev: Caller,
) -> None:
    tenant.agent_quota_per_user = 2
    await session.commit()
    await create(client, dev, "mine-1")
    await create(client, dev, "mine-2")

    response = await client.post(AGENTS, json=body("mine-3"), headers=dev.headers)
    problem = assert_problem(response, 409, "agent-quota-exceeded")
    assert problem["limit"] == 2
    assert "the limit is 2 per user" in problem["detail"]
    assert "you own 2 agents" in problem["detail"]
    assert await count_agents(session, tenant.id) == 2

    colleague = await factory.user(Role.developer, tenant)  # the quota is per user
    await create(client, colleague, "theirs-1")
    key = await factory.api_key(Role.developer, tenant)  # keys own nothing, so no quota
    await create(client, key, "keyed-1")

    # Deleting one of mine frees a slot.
    page = await client.get(AGENTS, params={"owner": "me"}, headers=dev.headers)
    first = page.json()["items"][0]["id"]
    assert (await client.delete(f"{AGENTS}/{first}", headers=dev.headers)).status_code == 204
    await create(client, dev, "mine-3")


async def test_default_quota_comes_from_settings(
    app_factory: AppFactory, session: AsyncSession, dev: Caller
) -> None:
    client = await app_factory(default_agent_quota=1)
    await create(client, dev, "only-one")
    response = await client.post(AGENTS, json=body("one-too-many"), headers=dev.headers)
    problem = assert_problem(response, 409, "agent-quota-exceeded")
    assert problem["limit"] == 1
    assert await count_agents(session, dev.tenant_id) == 1


async def test_tenant_quota_of_zero_forbids_creating(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, dev: Caller
) -> None:
    tenant.agent_quota_per_user = 0
    await session.commit()
    response = await client.post(AGENTS, json=body("none-allowed"), headers=dev.headers)
    assert assert_problem(response, 409, "agent-quota-exceeded")["limit"] == 0
    assert await count_agents(session, tenant.id) == 0


async def test_stale_if_match_on_patch_is_412_and_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "contended")
    url = f"{AGENTS}/{agent['id']}"
    first = await client.patch(
        url, json={"description": "first"}, headers={**dev.headers, "If-Match": '"1"'}
    )
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'

    stale = await client.patch(
        url, json={"description": "second"}, headers={**dev.headers, "If-Match": '"1"'}
    )
    assert_problem(stale, 412, "precondition-failed")
    row = await load(session, agent["id"])
    assert row is not None and (row.description, row.revision) == ("first", 2)
    assert len(await audit(session, dev.tenant_id, "agent.update")) == 1

    current = await client.patch(
        url, json={"description": "third"}, headers={**dev.headers, "If-Match": '"9", "2"'}
    )
    assert current.status_code == 200
    assert current.headers["etag"] == '"3"'


@pytest.mark.parametrize("tag", ['W/"1"', "1", "garbage", '""'])
async def test_weak_or_malformed_if_match_never_matches(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller, tag: str
) -> None:
    agent = await create(client, dev, "strict")
    response = await client.patch(
        f"{AGENTS}/{agent['id']}",
        json={"description": "x"},
        headers={**dev.headers, "If-Match": tag},
    )
    assert_problem(response, 412, "precondition-failed")
    row = await load(session, agent["id"])
    assert row is not None and row.revision == 1


async def test_if_match_star_and_no_if_match_both_write(
    client: httpx.AsyncClient, dev: Caller
) -> None:
    agent = await create(client, dev, "relaxed")
    url = f"{AGENTS}/{agent['id']}"
    star = await client.patch(url, json={"version": "2"}, headers={**dev.headers, "If-Match": "*"})
    assert star.status_code == 200
    plain = await client.patch(url, json={"version": "3"}, headers=dev.headers)
    assert plain.status_code == 200
    assert plain.json()["revision"] == 3


async def test_stale_if_match_on_delete_is_412_and_keeps_the_agent(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "survivor", labels={"team": "a"})
    url = f"{AGENTS}/{agent['id']}"
    await client.patch(url, json={"description": "moved on"}, headers=dev.headers)

    stale = await client.delete(url, headers={**dev.headers, "If-Match": '"1"'})
    assert_problem(stale, 412, "precondition-failed")
    assert await load(session, agent["id"]) is not None
    assert await audit(session, dev.tenant_id, "agent.delete") == []

    fresh = await client.delete(url, headers={**dev.headers, "If-Match": '"2"'})
    assert fresh.status_code == 204
    assert await load(session, agent["id"]) is None


async def test_concurrent_writers_with_the_same_etag_one_wins(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "raced")
    url = f"{AGENTS}/{agent['id']}"
    headers = {**dev.headers, "If-Match": '"1"'}
    responses = await asyncio.gather(
        client.patch(url, json={"description": "a"}, headers=headers),
        client.patch(url, json={"description": "b"}, headers=headers),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412]
    winner = next(r for r in responses if r.status_code == 200).json()
    row = await load(session, agent["id"])
    assert row is not None
    assert (row.revision, row.description) == (2, winner["description"])


async def test_concurrent_writers_without_etag_both_apply(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "merged")
    url = f"{AGENTS}/{agent['id']}"
    responses = await asyncio.gather(
        client.patch(url, json={"description": "described"}, headers=dev.headers),
        client.patch(url, json={"version": "2.0.0"}, headers=dev.headers),
    )
    assert [r.status_code for r in responses] == [200, 200]
    row = await load(session, agent["id"])
    assert row is not None
    assert (row.revision, row.description, row.version) == (3, "described", "2.0.0")
    assert len(await audit(session, dev.tenant_id, "agent.update")) == 2
