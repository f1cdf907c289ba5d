"""Every field rule of the agent registry: 422 naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.models import Tenant
from tests.agents.helpers import AGENTS, assert_problem, audit, body, count_agents, create, load
from tests.conftest import Caller

TOO_MANY_LABELS = {f"k{i}": "v" for i in range(65)}

INVALID: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("name-uppercase", {"name": "Support"}, ["body", "name"]),
    ("name-underscore", {"name": "bad_name"}, ["body", "name"]),
    ("name-space", {"name": "has space"}, ["body", "name"]),
    ("name-leading-dash", {"name": "-lead"}, ["body", "name"]),
    ("name-trailing-dash", {"name": "trail-"}, ["body", "name"]),
    ("name-too-long", {"name": "a" * 64}, ["body", "name"]),
    ("name-empty", {"name": ""}, ["body", "name"]),
    ("name-sql", {"name": "x'; DROP TABLE agents; --"}, ["body", "name"]),
    ("type-unknown", {"type": "robot"}, ["body", "type"]),
    ("replicas-21", {"replica_count": 21}, ["body", "replica_count"]),
    ("replicas-negative", {"replica_count": -1}, ["body", "replica_count"]),
    ("cpu-word", {"cpu_limit": "lots"}, ["body", "cpu_limit"]),
    ("cpu-zero", {"cpu_limit": "0"}, ["body", "cpu_limit"]),
    ("cpu-zero-milli", {"cpu_limit": "0m"}, ["body", "cpu_limit"]),
    ("cpu-bad-unit", {"cpu_limit": "250x"}, ["body", "cpu_limit"]),
    ("cpu-fractional-milli", {"cpu_limit": "1.5m"}, ["body", "cpu_limit"]),
    ("cpu-negative", {"cpu_limit": "-1"}, ["body", "cpu_limit"]),
    ("memory-megabytes-word", {"memory_limit": "512MB"}, ["body", "memory_limit"]),
    ("memory-gb", {"memory_limit": "1Gb"}, ["body", "memory_limit"]),
    ("memory-zero", {"memory_limit": "0Mi"}, ["body", "memory_limit"]),
    ("memory-word", {"memory_limit": "plenty"}, ["body", "memory_limit"]),
    (
        "autoscaling-min-above-max",
        {"config": {"auto_scaling": {"enabled": True, "min_replicas": 5, "max_replicas": 2}}},
        ["body", "config", "auto_scaling"],
    ),
    (
        "autoscaling-max-21",
        {"config": {"auto_scaling": {"max_replicas": 21}}},
        ["body", "config", "auto_scaling", "max_replicas"],
    ),
    (
        "autoscaling-min-negative",
        {"config": {"auto_scaling": {"min_replicas": -1}}},
        ["body", "config", "auto_scaling", "min_replicas"],
    ),
    ("labels-too-many", {"labels": TOO_MANY_LABELS}, ["body", "labels"]),
    ("label-key-space", {"labels": {"bad key": "v"}}, ["body", "labels"]),
    ("label-key-too-long", {"labels": {"k" * 64: "v"}}, ["body", "labels"]),
    ("label-value-too-long", {"labels": {"team": "v" * 64}}, ["body", "labels"]),
    ("label-value-slash", {"labels": {"team": "a/b"}}, ["body", "labels"]),
    ("label-value-not-string", {"labels": {"team": 3}}, ["body", "labels", "team"]),
    ("unknown-field", {"colour": "blue"}, ["body", "colour"]),
    ("description-too-long", {"description": "d" * 2001}, ["body", "description"]),
]


@pytest.mark.parametrize(
    ("fields", "loc"), [(f, loc) for _, f, loc in INVALID], ids=[c for c, _, _ in INVALID]
)
async def test_invalid_create_is_422_with_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    dev: Caller,
    fields: dict[str, Any],
    loc: list[str | int],
) -> None:
    response = await client.post(AGENTS, json={**body("valid-name"), **fields}, headers=dev.headers)
    problem = assert_problem(response, 422, "validation-error", loc)
    assert all(e["message"] for e in problem["errors"])
    assert await count_agents(session, dev.tenant_id) == 0
    assert await audit(session, dev.tenant_id, "agent.create") == []


PATCH_INVALID = [
    (f, loc)
    for case, f, loc in INVALID
    if case
    in {
        "name-uppercase",
        "replicas-21",
        "cpu-word",
        "memory-gb",
        "autoscaling-min-above-max",
        "labels-too-many",
        "unknown-field",
    }
] + [({"status": "exploded"}, ["body", "status"])]


@pytest.mark.parametrize(("fields", "loc"), PATCH_INVALID)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    dev: Caller,
    fields: dict[str, Any],
    loc: list[str | int],
) -> None:
    agent = await create(client, dev, "target", labels={"team": "a"})
    response = await client.patch(
        f"{AGENTS}/{agent['id']}", json={"description": "new", **fields}, headers=dev.headers
    )
    assert_problem(response, 422, "validation-error", loc)
    row = await load(session, agent["id"])
    assert row is not None
    assert (row.revision, row.description, row.labels) == (1, "", {"team": "a"})
    assert await audit(session, dev.tenant_id, "agent.update") == []


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "a"},
        {"name": "a" * 63},
        {"name": "0-agent-9"},
        {"replica_count": 0},
        {"replica_count": 20},
        {"cpu_limit": "250m"},
        {"cpu_limit": "1"},
        {"cpu_limit": "2.5"},
        {"memory_limit": "256Mi"},
        {"memory_limit": "1Gi"},
        {"memory_limit": "1.5Gi"},
        {"config": {"auto_scaling": {"enabled": True, "min_replicas": 0, "max_replicas": 20}}},
        {"config": {"auto_scaling": {"enabled": True, "min_replicas": 3, "max_replicas": 3}}},
        {"labels": {f"k{i}": "v" for i in range(64)}},
        {"labels": {"example.com/team": "Support_Team.1", "empty": ""}},
        {"labels": {"k" * 63: "v" * 63}},
    ],
)
async def test_boundary_values_are_accepted(
    client: httpx.AsyncClient, dev: Caller, fields: dict[str, Any]
) -> None:
    payload = {**body("edge"), **fields}
    agent = await create(client, dev, payload.pop("name"), **payload)
    for key, value in fields.items():
        assert agent[key] == value


async def test_malformed_json_is_400_and_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, dev: Caller, tenant: Tenant
) -> None:
    response = await client.post(
        AGENTS,
        content=b'{"name": "broken", "type": ',
        headers={**dev.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed-json")
    assert await count_agents(session, tenant.id) == 0
