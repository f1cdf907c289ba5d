"""Agent registry logic: tenant-scoped queries, validation that needs the database, audit.

Services flush; the caller commits. Every query filters on the caller's tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.agents.models import Agent, AgentLabel, AgentStatus, AgentType
from agentdeck.agents.schemas import AgentCreate, AgentSort, AgentUpdate
from agentdeck.agents.selectors import label_condition, parse_label_selector
from agentdeck.audit.service import record
from agentdeck.db.base import utcnow
from agentdeck.errors import (
    Conflict,
    malformed,
)
from agentdeck.identity.principal import Principal
from agentdeck.identity.service import effective_agent_quota
from agentdeck.pagination import decode_cursor, fetch_page

RESOURCE = "agent"
UPDATE_ATTEMPTS = 5

# Columns an update may write, by API field name.
_COLUMNS: dict[str, Any] = {
    "name": Agent.name,
    "type": Agent.type,
    "description": Agent.description,
    "model": Agent.model,
    "version": Agent.version,
    "config": Agent.config,
    "metadata": Agent.metadata_,
    "labels": Agent.labels,
    "dependencies": Agent.dependencies,
    "replica_count": Agent.replica_count,
    "cpu_limit": Agent.cpu_limit,
    "memory_limit": Agent.memory_limit,
    "status": Agent.status,
}
_SORT_COLUMNS: dict[str, Any] = {
    "name": Agent.name,
    "created_at": Agent.created_at,
    "updated_at": Agent.updated_at,
    "status": Agent.status,
}


# --- reads ----------------------------------------------------------------------------------


def _tenant_agents(tenant_id: uuid.UUID) -> Select[Agent]:
    return select(Agent).where(Agent.tenant_id == tenant_id)


async def get_agent(session: AsyncSession, *, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
    """The tenant's agent, fresh from the database; another tenant's id is not found."""
    return await crud.get_owned(
        session, Agent, tenant_id=tenant_id, ident=agent_id, what=RESOURCE, fresh=True
    )


def _check_cursor(cursor: str, sort: AgentSort) -> None:
    value, _ = decode_cursor(cursor)
    wants_time = sort.field in ("created_at", "updated_at")
    fits = (
        isinstance(value, datetime) and value.tzinfo is not None
        if wants_time
        else isinstance(value, str)
    )
    if not fits:
        raise malformed(
            "invalid-cursor", ["query", "cursor"], "the cursor belongs to another sort order"
        )


async def list_agents(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    types: Collection[AgentType] | None = None,
    statuses: Collection[AgentStatus] | None = None,
    owner_id: uuid.UUID | None = None,
    label_selector: str | None = None,
    q: str | None = None,
    sort: AgentSort = AgentSort.created_at_desc,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Agent], str | None]:
    """One page of the tenant's agents matching every filter given, and the next cursor."""
    stmt = _tenant_agents(tenant_id)
    if types:
        stmt = stmt.where(Agent.type.in_(list(types)))
    if statuses:
        stmt = stmt.where(Agent.status.in_(list(statuses)))
    if owner_id is not None:
        stmt = stmt.where(Agent.owner_id == owner_id)
    if label_selector is not None and label_selector.strip():
        for requirement in parse_label_selector(label_selector):
            stmt = stmt.where(label_condition(requirement))
    if q:
        stmt = stmt.where(
            Agent.name.icontains(q, autoescape=True)
            | Agent.description.icontains(q, autoescape=True)
        )
    if cursor:
        _check_cursor(cursor, sort)
    return await fetch_page(
        session,
        stmt,
        order=(_SORT_COLUMNS[sort.field], Agent.id),
        cursor=cursor,
        limit=limit,
        descending=sort.descending,
    )


# --- writes ---------------------------------------------------------------------------------


def snapshot(agent: Agent) -> dict[str, Any]:
    """The audited fields of an agent."""
    return {
        "name": agent.name,
        "type": agent.type,
        "description": agent.description,
        "model": agent.model,
        "version": agent.version,
        "config": agent.config,
        "metadata": agent.metadata_,
        "labels": agent.labels,
        "dependencies": agent.dependencies,
        "replica_count": agent.replica_count,
        "cpu_limit": agent.cpu_limit,
        "memory_limit": agent.memory_limit,
        "status": agent.status,
        "owner_id": agent.owner_id,
        "revision": agent.revision,
    }


NAME = crud.Unique(Agent, "an agent named {!r} already exists in this tenant")


async def _ensure_quota(
    session: AsyncSession, *, tenant_id: uuid.UUID, owner_id: uuid.UUID, default_quota: int
) -> None:
    limit = await effective_agent_quota(session, tenant_id, default_quota)
    owned = await session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(Agent.tenant_id == tenant_id, Agent.owner_id == owner_id)
    )
    owned = owned or 0
    if owned >= limit:
        raise Conflict(
            kind="agent-quota-exceeded",
            detail=f"you own {owned} agents; the limit is {limit} per user",
            title="Agent quota exceeded",
            extra={"limit": limit},
        )


async def _write_labels(
    session: AsyncSession, agent: Agent, labels: dict[str, str], *, replace: bool
) -> None:
    if replace:
        await session.execute(delete(AgentLabel).where(AgentLabel.agent_id == agent.id))
    session.add_all(
        AgentLabel(agent_id=agent.id, key=key, value=value, tenant_id=agent.tenant_id)
        for key, value in labels.items()
    )
    await session.flush()


def new_agent(
    data: AgentCreate, *, tenant_id: uuid.UUID, owner_id: uuid.UUID | None
) -> tuple[Agent, dict[str, str]]:
    """An unsaved Agent row from a create request, and its labels (for `add_agent`)."""
    now = utcnow()
    labels = dict(data.labels)
    agent = Agent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        owner_id=owner_id,
        name=data.name,
        type=data.type,
        description=data.description,
        model=data.model,
        version=data.version,
        config=data.config.to_json(),
        metadata_=dict(data.metadata),
        labels=labels,
        dependencies=list(data.dependencies),
        replica_count=data.replica_count,
        cpu_limit=data.cpu_limit,
        memory_limit=data.memory_limit,
        status=AgentStatus.stopped,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    return agent, labels


async def add_agent(
    session: AsyncSession, agent: Agent, *, actor: Principal | None = None
) -> Agent:
    """Insert an agent row and its label rows (no checks: callers do those), audited as
    ``agent.create`` when an ``actor`` is given."""
    session.add(agent)
    await NAME.flush(session, agent)
    await _write_labels(session, agent, dict(agent.labels), replace=False)
    if actor is not None:
        await record(
            session,
            actor=actor,
            action="agent.create",
            resource_type=RESOURCE,
            resource_id=agent.id,
            after=snapshot(agent),
        )
    return agent


async def create_agent(
    session: AsyncSession, *, actor: Principal, data: AgentCreate, default_quota: int
) -> Agent:
    """Register an agent owned by the calling user (API keys create unowned agents).

    A user may own at most the tenant's per-user quota of agents.
    """
    tenant_id = actor.tenant_id
    await NAME.ensure_free(session, tenant_id=tenant_id, value=data.name)
    owner_id = actor.user_id
    if owner_id is not None:
        await _ensure_quota(
            session, tenant_id=tenant_id, owner_id=owner_id, default_quota=default_quota
        )
    agent, _ = new_agent(data, tenant_id=tenant_id, owner_id=owner_id)
    return await add_agent(session, agent, actor=actor)


async def update_agent(
    session: AsyncSession,
    *,
    actor: Principal,
    agent_id: uuid.UUID,
    data: AgentUpdate,
    expected_revisions: Collection[int] | None = None,
) -> Agent:
    """Apply a partial update; bumps the revision when anything changed.

    ``expected_revisions`` (from If-Match) must contain the current revision, else 412 and
    nothing is written. Without it the last writer wins; the write is still atomic, so a
    concurrent change is re-read and the update re-applied on top of it.
    """

    async def write_labels(agent: Agent, changes: dict[str, Any]) -> None:
        if "labels" in changes:
            await _write_labels(session, agent, changes["labels"], replace=True)

    return await crud.update_revised(
        session,
        actor=actor,
        model=Agent,
        ident=agent_id,
        expected=expected_revisions,
        what=RESOURCE,
        kind=RESOURCE,
        snapshot=snapshot,
        columns=_COLUMNS,
        wanted=lambda _: data.changes(),
        unique=NAME,
        then=write_labels,
        attempts=UPDATE_ATTEMPTS,
    )


async def delete_agent(
    session: AsyncSession,
    *,
    actor: Principal,
    agent_id: uuid.UUID,
    expected_revisions: Collection[int] | None = None,
) -> None:
    """Delete the tenant's agent (and its labels); If-Match revisions are honoured."""
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=agent_id)
    crud.check_revision(agent, expected_revisions, what=RESOURCE)
    await session.execute(delete(AgentLabel).where(AgentLabel.agent_id == agent.id))
    await crud.delete_audited(
        session,
        actor=actor,
        row=agent,
        expected=expected_revisions,
        what=RESOURCE,
        kind=RESOURCE,
        snapshot=snapshot,
    )
