"""Scrape targets API: CRUD, validation (nothing written on bad input), filters, paging,
audit entries and tenant isolation, on the real state database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentType
from agentdeck.audit.models import AuditEntry
from agentdeck.identity.roles import Role
from agentdeck.scrape.models import ScrapeHealth, ScrapeTarget
from tests.conftest import Caller, Factory

TARGETS = "/api/v1/scrape-targets"
PROBLEM = "/problems/"


@pytest.fixture
async def api(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> httpx.AsyncClient:
    return await app_factory(loops={"enabled": False}, rate_limit={"enabled": False})


@pytest.fixture
async def dev(factory: Factory) -> Caller:
    return await factory.user(Role.developer)


async def count_targets(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    await session.commit()
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ScrapeTarget)
            .where(ScrapeTarget.tenant_id == tenant_id)
        )
        or 0
    )


async def add_agent(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> uuid.UUID:
    agent = Agent(tenant_id=tenant_id, name=name, type=AgentType.llm)
    session.add(agent)
    await session.commit()
    return agent.id


async def create(api: httpx.AsyncClient, caller: Caller, **fields: Any) -> dict[str, Any]:
    body = {"url": f"http://127.0.0.1:9/{uuid.uuid4().hex[:6]}/metrics", **fields}
    response = await api.post(TARGETS, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_create_read_update_delete_with_audit(
    api: httpx.AsyncClient, dev: Caller, session: AsyncSession
) -> None:
    agent_id = await add_agent(session, dev.tenant_id, "worker-1")
    response = await api.post(
        TARGETS,
        json={
            "url": "http://127.0.0.1:9100/metrics",
            "job": "node",
            "agent_id": str(agent_id),
            "interval_seconds": 30,
            "timeout_seconds": 5,
            "labels": {"env": "prod"},
        },
        headers=dev.headers,
    )
    assert response.status_code == 201, response.text
    target = response.json()
    assert response.headers["location"] == f"{TARGETS}/{target['id']}"
    assert target["job"] == "node"
    assert target["agent_id"] == str(agent_id)
    assert target["labels"] == {"env": "prod"}
    assert target["enabled"] is True
    assert target["health"] == "unknown"
    assert target["last_scrape_at"] is None

    got = await api.get(f"{TARGETS}/{target['id']}", headers=dev.headers)
    assert got.status_code == 200
    assert got.json() == target

    patched = await api.patch(
        f"{TARGETS}/{target['id']}",
        json={"enabled": False, "interval_seconds": 60, "agent_id": None},
        headers=dev.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["interval_seconds"] == 60
    assert patched.json()["agent_id"] is None
    assert patched.json()["timeout_seconds"] == 5

    deleted = await api.delete(f"{TARGETS}/{target['id']}", headers=dev.headers)
    assert deleted.status_code == 204
    assert (await api.get(f"{TARGETS}/{target['id']}", headers=dev.headers)).status_code == 404
    assert await count_targets(session, dev.tenant_id) == 0

    actions = (
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.resource_id == target["id"])
            .order_by(AuditEntry.at)
        )
    ).all()
    assert list(actions) == [
        "scrape_target.create",
        "scrape_target.update",
        "scrape_target.delete",
    ]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": "ftp://127.0.0.1/metrics"}, ["body", "url"]),
        ({"url": "not a url"}, ["body", "url"]),
        ({"url": "http:///metrics"}, ["body", "url"]),
        ({"url": "http://127.0.0.1:9100/m", "interval_seconds": 0.5}, ["body", "interval_seconds"]),
        (
            {"url": "http://127.0.0.1:9100/m", "interval_seconds": 3601},
            ["body", "interval_seconds"],
        ),
        (
            {"url": "http://127.0.0.1:9100/m", "interval_seconds": 10, "timeout_seconds": 11},
            ["body", "timeout_seconds"],
        ),
        ({"url": "http://127.0.0.1:9100/m", "timeout_seconds": 0}, ["body", "timeout_seconds"]),
        ({"url": "http://127.0.0.1:9100/m", "labels": {"__x": "1"}}, ["body", "labels"]),
        ({"url": "http://127.0.0.1:9100/m", "labels": {"job": "x"}}, ["body", "labels"]),
        ({"url": "http://127.0.0.1:9100/m", "job": "has space"}, ["body", "job"]),
        ({"url": "http://127.0.0.1:9100/m", "agent_id": str(uuid.uuid4())}, ["body", "agent_id"]),
        ({"url": "http://127.0.0.1:9100/m", "colour": "red"}, ["body", "colour"]),
        ({}, ["body", "url"]),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    api: httpx.AsyncClient,
    dev: Caller,
    session: AsyncSession,
    body: dict[str, Any],
    loc: list[str],
) -> None:
    response = await api.post(TARGETS, json=body, headers=dev.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == PROBLEM + "validation-error"
    assert any(error["loc"][:2] == loc for error in problem["errors"]), problem["errors"]
    assert await count_targets(session, dev.tenant_id) == 0


async def test_malformed_json_is_400(
    api: httpx.AsyncClient, dev: Caller, session: AsyncSession
) -> None:
    response = await api.post(
        TARGETS, content=b"{", headers={**dev.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == PROBLEM + "malformed-json"
    assert await count_targets(session, dev.tenant_id) == 0


async def test_duplicate_url_is_409_and_bad_updates_change_nothing(
    api: httpx.AsyncClient, dev: Caller, session: AsyncSession
) -> None:
    first = await create(api, dev, url="http://127.0.0.1:9100/metrics", interval_seconds=20)
    second = await create(api, dev, url="http://127.0.0.1:9101/metrics")
    again = await api.post(TARGETS, json={"url": first["url"]}, headers=dev.headers)
    assert again.status_code == 409
    assert again.json()["errors"][0]["loc"] == ["body", "url"]
    assert await count_targets(session, dev.tenant_id) == 2

    path = f"{TARGETS}/{second['id']}"
    cases: list[tuple[dict[str, Any], int, list[str]]] = [
        ({"url": first["url"]}, 409, ["body", "url"]),
        ({"timeout_seconds": 20}, 422, ["body", "timeout_seconds"]),  # interval is 15
        ({"interval_seconds": 5}, 422, ["body", "timeout_seconds"]),  # timeout is 10
        ({"url": "gopher://x"}, 422, ["body", "url"]),
        ({"enabled": None}, 422, ["body", "enabled"]),
        ({"agent_id": str(uuid.uuid4())}, 422, ["body", "agent_id"]),
    ]
    for body, status, loc in cases:
        response = await api.patch(path, json=body, headers=dev.headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["errors"][0]["loc"][:2] == loc, body
    unchanged = (await api.get(path, headers=dev.headers)).json()
    assert unchanged == second


async def test_list_filters_and_pages(
    api: httpx.AsyncClient, dev: Caller, session: AsyncSession
) -> None:
    agent_id = await add_agent(session, dev.tenant_id, "scraped")
    linked = await create(api, dev, agent_id=str(agent_id))
    disabled = await create(api, dev, enabled=False)
    others = [await create(api, dev) for _ in range(3)]
    await session.execute(
        update(ScrapeTarget)
        .where(ScrapeTarget.id == uuid.UUID(others[0]["id"]))
        .values(health=ScrapeHealth.down)
    )
    await session.commit()

    async def ids(**params: Any) -> list[str]:
        response = await api.get(TARGETS, params=params, headers=dev.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(agent_id=str(agent_id)) == [linked["id"]]
    assert await ids(enabled="false") == [disabled["id"]]
    assert await ids(health="down") == [others[0]["id"]]
    assert len(await ids(health="unknown")) == 4

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get(TARGETS, params=params, headers=dev.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([linked["id"], disabled["id"], *(o["id"] for o in others)])
    assert len(seen) == 5

    for params, status, kind in [
        ({"limit": 0}, 422, "validation-error"),
        ({"limit": 501}, 422, "validation-error"),
        ({"health": "sideways"}, 422, "validation-error"),
        ({"agent_id": "nope"}, 422, "validation-error"),
        ({"cursor": "garbage"}, 400, "invalid-cursor"),
    ]:
        response = await api.get(TARGETS, params=params, headers=dev.headers)
        assert response.status_code == status, params
        assert response.json()["type"] == PROBLEM + kind


async def test_tenants_cannot_see_or_change_each_others_targets(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    alice = await factory.user(Role.developer)
    mallory = await factory.user(Role.admin)
    target = await create(api, alice)
    alice_agent = await add_agent(session, alice.tenant_id, "alices")
    path = f"{TARGETS}/{target['id']}"

    assert (await api.get(TARGETS, headers=mallory.headers)).json()["items"] == []
    assert (await api.get(path, headers=mallory.headers)).status_code == 404
    assert (
        await api.patch(path, json={"enabled": False}, headers=mallory.headers)
    ).status_code == 404
    assert (await api.delete(path, headers=mallory.headers)).status_code == 404
    # linking another tenant's agent is refused; the same URL is free in another tenant
    response = await api.post(
        TARGETS, json={"url": target["url"], "agent_id": str(alice_agent)}, headers=mallory.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "agent_id"]
    assert (
        await api.post(TARGETS, json={"url": target["url"]}, headers=mallory.headers)
    ).status_code == 201
    assert (await api.get(path, headers=alice.headers)).json() == target
    assert await count_targets(session, alice.tenant_id) == 1


async def test_viewers_read_but_cannot_write(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    dev = await factory.api_key(Role.developer, tenant)
    target = await create(api, dev)
    assert (await api.get(f"{TARGETS}/{target['id']}", headers=viewer.headers)).status_code == 200
    refused = await api.post(TARGETS, json={"url": "http://127.0.0.1:1/m"}, headers=viewer.headers)
    assert refused.status_code == 403
    assert await count_targets(session, tenant.id) == 1
