"""Declared dependencies: set on create, replaced on update, audited, and validated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.agents.helpers import AGENTS, assert_problem, audit, body, create, load
from tests.conftest import Caller


async def test_dependencies_are_kept_replaced_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller
) -> None:
    agent = await create(
        client, dev, "router", dependencies=[" support-bot ", "openai-api", "support-bot"]
    )
    assert agent["dependencies"] == ["support-bot", "openai-api"]  # trimmed, repeat dropped
    plain = await create(client, dev, "plain")
    assert plain["dependencies"] == []

    response = await client.patch(
        f"{AGENTS}/{agent['id']}", json={"dependencies": ["billing-bot"]}, headers=dev.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["dependencies"] == ["billing-bot"]
    assert response.json()["revision"] == 2
    row = await load(session, agent["id"])
    assert row is not None and row.dependencies == ["billing-bot"]
    fetched = await client.get(f"{AGENTS}/{agent['id']}", headers=dev.headers)
    assert fetched.json()["dependencies"] == ["billing-bot"]

    (entry,) = await audit(session, dev.tenant_id, "agent.update")
    assert entry.changes["before"]["dependencies"] == ["support-bot", "openai-api"]
    assert entry.changes["after"]["dependencies"] == ["billing-bot"]

    cleared = await client.patch(
        f"{AGENTS}/{agent['id']}", json={"dependencies": []}, headers=dev.headers
    )
    assert cleared.json()["dependencies"] == []


INVALID: list[tuple[str, Any]] = [
    ("too-many", [f"svc-{i}" for i in range(101)]),
    ("empty-name", ["ok", ""]),
    ("blank-name", ["   "]),
    ("too-long", ["x" * 254]),
    ("not-a-list", "openai-api"),
    ("not-strings", [3]),
]


@pytest.mark.parametrize("value", [v for _, v in INVALID], ids=[c for c, _ in INVALID])
async def test_bad_dependencies_are_422_naming_the_field(
    client: httpx.AsyncClient, dev: Caller, value: Any
) -> None:
    response = await client.post(AGENTS, json=body("deps", dependencies=value), headers=dev.headers)
    problem = assert_problem(response, 422, "validation-error", None)
    assert problem["errors"][0]["loc"][:2] == ["body", "dependencies"]

    agent = await create(client, dev, "deps-ok")
    patched = await client.patch(
        f"{AGENTS}/{agent['id']}", json={"dependencies": value}, headers=dev.headers
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["loc"][:2] == ["body", "dependencies"]


async def test_a_full_list_of_one_hundred_is_accepted(
    client: httpx.AsyncClient, dev: Caller
) -> None:
    names = [f"svc-{i}" for i in range(100)]
    agent = await create(client, dev, "wide", dependencies=names)
    assert agent["dependencies"] == names
