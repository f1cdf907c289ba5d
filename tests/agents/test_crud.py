"""Agent registry CRUD: create, read, update, delete, audit and role checks."""

from __future__ import annotations

import uuid

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
    label_rows,
    load,
)
from tests.conftest import Caller, Factory


async def test_create_returns_201_with_etag_location_and_defaults(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    response = await client.post(
        AGENTS,
        json=body(
            "support-triage",
            description="Tags tickets",
            model="gpt-4o-mini",
            config={"auto_scaling": {"enabled": True, "min_replicas": 1, "max_replicas": 4}},
            metadata={"repo": "example/triage"},
            labels={"team": "support", "env": "prod"},
        ),
        headers=dev.headers,
    )
    assert response.status_code == 201, response.text
    agent = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"{AGENTS}/{agent['id']}"
    assert agent["owner_id"] == str(dev.user_id)
    assert agent["tenant_id"] == str(dev.tenant_id)
    assert agent["status"] == "stopped"
    assert agent["replica_count"] == 1
    assert agent["cpu_limit"] == "500m"
    assert agent["memory_limit"] == "512Mi"
    assert agent["version"] == "1.0.0"
    assert agent["revision"] == 1
    assert agent["metadata"] == {"repo": "example/triage"}
    assert agent["config"] == {
        "auto_scaling": {"enabled": True, "min_replicas": 1, "max_replicas": 4}
    }
    assert agent["last_seen_at"] is None
    assert agent["created_at"].endswith(("Z", "+00:00"))

    fetched = await client.get(response.headers["location"], headers=dev.headers)
    assert fetched.status_code == 200
    assert fetched.json() == agent
    assert await label_rows(session, agent["id"]) == {"team": "support", "env": "prod"}


async def test_api_key_creates_unowned_agent(
    client: httpx.AsyncClient, factory: Factory, tenant: Tenant
) -> None:
    key = await factory.api_key(Role.developer, tenant)
    agent = await create(client, key, "from-ci")
    assert agent["owner_id"] is None


async def test_get_honours_if_none_match(client: httpx.AsyncClient, dev: Caller) -> None:
    agent = await create(client, dev, "cached")
    url = f"{AGENTS}/{agent['id']}"
    for tag in ('"1"', 'W/"1"', '"7", "1"', "*"):
        response = await client.get(url, headers={**dev.headers, "If-None-Match": tag})
        assert response.status_code == 304, tag
        assert response.headers["etag"] == '"1"'
        assert response.content == b""
    stale = await client.get(url, headers={**dev.headers, "If-None-Match": '"2"'})
    assert stale.status_code == 200
    assert stale.headers["etag"] == '"1"'


async def test_patch_updates_fields_bumps_revision_and_syncs_labels(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "editable", labels={"team": "a", "env": "dev"})
    response = await client.patch(
        f"{AGENTS}/{agent['id']}",
        json={
            "description": "now described",
            "labels": {"team": "b", "tier": "gold"},
            "status": "running",
            "replica_count": 3,
            "model": None,
        },
        headers=dev.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert response.headers["etag"] == '"2"'
    assert updated["revision"] == 2
    assert updated["description"] == "now described"
    assert updated["labels"] == {"team": "b", "tier": "gold"}
    assert updated["status"] == "running"
    assert updated["replica_count"] == 3
    assert updated["name"] == "editable"
    assert updated["updated_at"] >= agent["updated_at"]
    assert updated["created_at"] == agent["created_at"]
    assert await label_rows(session, agent["id"]) == {"team": "b", "tier": "gold"}


async def test_patch_that_changes_nothing_keeps_the_revision(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "steady", description="same")
    for payload in ({}, {"description": "same", "type": "llm"}):
        response = await client.patch(f"{AGENTS}/{agent['id']}", json=payload, headers=dev.headers)
        assert response.status_code == 200
        assert response.json()["revision"] == 1
        assert response.headers["etag"] == '"1"'
    assert await audit(session, dev.tenant_id, "agent.update") == []


async def test_patch_replaces_config_as_a_whole(client: httpx.AsyncClient, dev: Caller) -> None:
    agent = await create(
        client, dev, "configured", config={"temperature": 0.3, "auto_scaling": {"enabled": True}}
    )
    response = await client.patch(
        f"{AGENTS}/{agent['id']}", json={"config": {"max_tokens": 100}}, headers=dev.headers
    )
    assert response.status_code == 200
    assert response.json()["config"] == {"max_tokens": 100}


async def test_rename_to_a_taken_name_is_409_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    await create(client, dev, "first")
    second = await create(client, dev, "second")
    response = await client.patch(
        f"{AGENTS}/{second['id']}", json={"name": "first", "version": "9"}, headers=dev.headers
    )
    assert_problem(response, 409, "conflict", ["body", "name"])
    row = await load(session, second["id"])
    assert row is not None
    assert (row.name, row.version, row.revision) == ("second", "1.0.0", 1)

    renamed = await client.patch(
        f"{AGENTS}/{second['id']}", json={"name": "third"}, headers=dev.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "third"


@pytest.mark.parametrize("field", ["name", "type", "labels", "replica_count", "status"])
async def test_patch_null_for_a_required_field_is_422(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller, field: str
) -> None:
    agent = await create(client, dev, "nonnull")
    response = await client.patch(
        f"{AGENTS}/{agent['id']}", json={field: None}, headers=dev.headers
    )
    assert_problem(response, 422, "validation-error", ["body", field])
    row = await load(session, agent["id"])
    assert row is not None and row.revision == 1


async def test_delete_removes_agent_and_labels(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "doomed", labels={"team": "x"})
    url = f"{AGENTS}/{agent['id']}"
    response = await client.delete(url, headers=dev.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(url, headers=dev.headers), 404, "not-found")
    assert_problem(await client.delete(url, headers=dev.headers), 404, "not-found")
    assert await load(session, agent["id"]) is None
    assert await label_rows(session, agent["id"]) == {}


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", str(uuid.uuid4())])
async def test_malformed_or_unknown_id_is_404_for_every_verb(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller, bad_id: str
) -> None:
    await create(client, dev, "bystander")
    url = f"{AGENTS}/{bad_id}"
    assert_problem(await client.get(url, headers=dev.headers), 404, "not-found")
    patched = await client.patch(url, json={"description": "x"}, headers=dev.headers)
    assert_problem(patched, 404, "not-found")
    assert_problem(await client.delete(url, headers=dev.headers), 404, "not-found")
    assert await count_agents(session, dev.tenant_id) == 1


async def test_every_mutation_is_audited(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(client, dev, "audited", labels={"env": "dev"})
    url = f"{AGENTS}/{agent['id']}"
    await client.patch(url, json={"labels": {"env": "prod"}, "version": "2.0"}, headers=dev.headers)
    await client.delete(url, headers=dev.headers)

    [created] = await audit(session, dev.tenant_id, "agent.create")
    assert created.resource_type == "agent"
    assert created.resource_id == agent["id"]
    assert created.actor_type == "user"
    assert created.actor_id == dev.user_id
    assert created.changes["after"]["name"] == "audited"
    assert created.changes["after"]["labels"] == {"env": "dev"}

    [updated] = await audit(session, dev.tenant_id, "agent.update")
    assert updated.resource_id == agent["id"]
    assert updated.changes["before"] == {
        "labels": {"env": "dev"},
        "version": "1.0.0",
        "revision": 1,
    }
    assert updated.changes["after"] == {"labels": {"env": "prod"}, "version": "2.0", "revision": 2}

    [deleted] = await audit(session, dev.tenant_id, "agent.delete")
    assert deleted.resource_id == agent["id"]
    assert deleted.changes["before"]["name"] == "audited"
    assert "after" not in deleted.changes


@pytest.mark.parametrize("kind", ["user", "api_key"])
async def test_viewer_can_read_but_not_write(
    client: httpx.AsyncClient,
    session: AsyncSession,
    factory: Factory,
    tenant: Tenant,
    dev: Caller,
    kind: str,
) -> None:
    agent = await create(client, dev, "read-only")
    viewer = (
        await factory.user(Role.viewer, tenant)
        if kind == "user"
        else await factory.api_key(Role.viewer, tenant)
    )
    url = f"{AGENTS}/{agent['id']}"
    assert (await client.get(url, headers=viewer.headers)).status_code == 200
    assert (await client.get(AGENTS, headers=viewer.headers)).status_code == 200

    posted = await client.post(AGENTS, json=body("sneaky"), headers=viewer.headers)
    assert_problem(posted, 403, "forbidden")
    patched = await client.patch(url, json={"description": "x"}, headers=viewer.headers)
    assert_problem(patched, 403, "forbidden")
    assert_problem(await client.delete(url, headers=viewer.headers), 403, "forbidden")

    assert await count_agents(session, tenant.id) == 1
    row = await load(session, agent["id"])
    assert row is not None and row.revision == 1 and row.description == ""


async def test_anonymous_calls_are_401(client: httpx.AsyncClient, dev: Caller) -> None:
    agent = await create(client, dev, "private")
    assert_problem(await client.get(AGENTS), 401, "unauthorized")
    assert_problem(await client.get(f"{AGENTS}/{agent['id']}"), 401, "unauthorized")
    assert_problem(await client.post(AGENTS, json=body("anon")), 401, "unauthorized")
