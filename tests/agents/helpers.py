"""Small helpers shared by the agent registry tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentLabel
from agentdeck.audit.models import AuditEntry
from tests.conftest import Caller

AGENTS = "/api/v1/agents"


def body(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "llm", **fields}


async def create(
    client: httpx.AsyncClient, caller: Caller, name: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(AGENTS, json=body(name, **fields), headers=caller.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def count_agents(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    await session.commit()  # end any open read so the next query sees the app's commits
    return int(
        await session.scalar(
            select(func.count()).select_from(Agent).where(Agent.tenant_id == tenant_id)
        )
        or 0
    )


async def load(session: AsyncSession, agent_id: str | uuid.UUID) -> Agent | None:
    await session.commit()
    return await session.scalar(
        select(Agent)
        .where(Agent.id == uuid.UUID(str(agent_id)))
        .execution_options(populate_existing=True)
    )


async def label_rows(session: AsyncSession, agent_id: str | uuid.UUID) -> dict[str, str]:
    await session.commit()
    rows = await session.scalars(
        select(AgentLabel).where(AgentLabel.agent_id == uuid.UUID(str(agent_id)))
    )
    return {row.key: row.value for row in rows}


async def audit(session: AsyncSession, tenant_id: uuid.UUID, action: str) -> list[AuditEntry]:
    await session.commit()
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.action == action)
        .order_by(AuditEntry.at)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def assert_problem(
    response: httpx.Response, status: int, kind: str, loc: list[str | int] | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{kind}"
    if loc is not None:
        locs = [e["loc"] for e in problem.get("errors") or []]
        assert any(found[: len(loc)] == loc for found in locs), locs
    return problem
