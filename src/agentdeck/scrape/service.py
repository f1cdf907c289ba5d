"""Scrape targets: tenant-scoped CRUD with audit, and what the scraper loop reads and writes.

Services flush; the caller commits. Every query filters on the tenant.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.agents.models import Agent
from agentdeck.db.base import utcnow
from agentdeck.errors import invalid
from agentdeck.identity.principal import Principal
from agentdeck.pagination import fetch_page, where_given
from agentdeck.scrape.models import ScrapeHealth, ScrapeTarget
from agentdeck.scrape.schemas import ScrapeTargetCreate, ScrapeTargetUpdate

RESOURCE = "scrape target"
AUDIT_TYPE = "scrape_target"


def _tenant_targets(tenant_id: uuid.UUID) -> Select[ScrapeTarget]:
    return select(ScrapeTarget).where(ScrapeTarget.tenant_id == tenant_id)


async def get_target(
    session: AsyncSession, *, tenant_id: uuid.UUID, target_id: uuid.UUID
) -> ScrapeTarget:
    """The tenant's target; another tenant's id is not found."""
    return await crud.get_owned(
        session, ScrapeTarget, tenant_id=tenant_id, ident=target_id, what=RESOURCE, fresh=True
    )


async def list_targets(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID | None = None,
    health: ScrapeHealth | None = None,
    enabled: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[ScrapeTarget], str | None]:
    """One page of the tenant's targets (newest first) matching the filters, and a cursor."""
    stmt = where_given(
        _tenant_targets(tenant_id),
        (ScrapeTarget.agent_id, agent_id),
        (ScrapeTarget.health, health),
        (ScrapeTarget.enabled, enabled),
    )
    crud.require_time_cursor(cursor)
    return await fetch_page(
        session, stmt, order=(ScrapeTarget.created_at, ScrapeTarget.id), cursor=cursor, limit=limit
    )


def snapshot(target: ScrapeTarget) -> dict[str, Any]:
    """The audited fields of a target."""
    return {
        "url": target.url,
        "job": target.job,
        "agent_id": target.agent_id,
        "interval_seconds": target.interval_seconds,
        "timeout_seconds": target.timeout_seconds,
        "labels": target.labels,
        "enabled": target.enabled,
    }


async def _check_agent(session: AsyncSession, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    found = await session.scalar(
        select(Agent.id).where(Agent.id == agent_id, Agent.tenant_id == tenant_id)
    )
    if found is None:
        raise invalid(
            "validation-error", ["body", "agent_id"], "no agent with this id in your tenant"
        )


def _check_timeout(interval: float, timeout: float) -> None:
    if timeout > interval:
        raise invalid(
            "validation-error",
            ["body", "timeout_seconds"],
            f"timeout_seconds ({timeout:g}) must not exceed interval_seconds ({interval:g})",
        )


URL = crud.Unique(ScrapeTarget, "a scrape target for {} already exists in this tenant", "url")


async def create_target(
    session: AsyncSession, *, actor: Principal, data: ScrapeTargetCreate
) -> ScrapeTarget:
    """Add a target to the caller's tenant (409 when its URL is already a target there)."""
    _check_timeout(data.interval_seconds, data.timeout_seconds)
    if data.agent_id is not None:
        await _check_agent(session, actor.tenant_id, data.agent_id)
    await URL.ensure_free(session, tenant_id=actor.tenant_id, value=data.url)
    now = utcnow()
    target = ScrapeTarget(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        agent_id=data.agent_id,
        job=data.job,
        url=data.url,
        interval_seconds=data.interval_seconds,
        timeout_seconds=data.timeout_seconds,
        labels=dict(data.labels),
        enabled=data.enabled,
        health=ScrapeHealth.unknown,
        created_at=now,
        updated_at=now,
    )
    return await crud.insert(
        session, actor=actor, row=target, kind=AUDIT_TYPE, snapshot=snapshot, unique=URL
    )


async def update_target(
    session: AsyncSession, *, actor: Principal, target_id: uuid.UUID, data: ScrapeTargetUpdate
) -> ScrapeTarget:
    """Change the fields sent; `agent_id: null` unlinks the agent."""
    target = await get_target(session, tenant_id=actor.tenant_id, target_id=target_id)
    before = snapshot(target)
    changes = data.model_dump(exclude_unset=True)
    for name in ("url", "job", "interval_seconds", "timeout_seconds", "labels", "enabled"):
        if name in changes and changes[name] is None:
            raise invalid("validation-error", ["body", name], f"{name} cannot be null")
    _check_timeout(
        changes.get("interval_seconds", target.interval_seconds),
        changes.get("timeout_seconds", target.timeout_seconds),
    )
    if changes.get("agent_id") is not None:
        await _check_agent(session, actor.tenant_id, changes["agent_id"])
    if "url" in changes:
        await URL.ensure_free(
            session, tenant_id=actor.tenant_id, value=changes["url"], except_id=target.id
        )
    for name, value in changes.items():
        setattr(target, name, value)
    if {"url", "agent_id", "job", "labels"} & changes.keys():
        # a different endpoint or identity: its health is unknown until the next scrape
        target.health = ScrapeHealth.unknown
    target.updated_at = utcnow()
    return await crud.save(
        session,
        actor=actor,
        row=target,
        kind=AUDIT_TYPE,
        before=before,
        snapshot=snapshot,
        unique=URL,
    )


async def delete_target(session: AsyncSession, *, actor: Principal, target_id: uuid.UUID) -> None:
    target = await get_target(session, tenant_id=actor.tenant_id, target_id=target_id)
    await crud.delete_audited(
        session, actor=actor, row=target, what=RESOURCE, kind=AUDIT_TYPE, snapshot=snapshot
    )


# --- for the scraper loop (all tenants) ------------------------------------------------------


async def enabled_targets(session: AsyncSession) -> list[tuple[ScrapeTarget, str | None]]:
    """Every enabled target of every tenant, with the name of its linked agent."""
    rows = await session.execute(
        select(ScrapeTarget, Agent.name)
        .outerjoin(
            Agent, (Agent.id == ScrapeTarget.agent_id) & (Agent.tenant_id == ScrapeTarget.tenant_id)
        )
        .where(ScrapeTarget.enabled.is_(True))
        .execution_options(populate_existing=True)
    )
    return [(target, agent_name) for target, agent_name in rows]


async def record_scrape(
    session: AsyncSession,
    *,
    target_id: uuid.UUID,
    tenant_id: uuid.UUID,
    health: ScrapeHealth,
    at: datetime,
    duration_ms: float,
    error: str | None,
    samples: int | None,
    error_detail: str | None = None,
) -> None:
    """Store the outcome of one scrape on the target row (a deleted target is left alone)."""
    await session.execute(
        update(ScrapeTarget)
        .where(ScrapeTarget.id == target_id, ScrapeTarget.tenant_id == tenant_id)
        .values(
            health=health,
            last_scrape_at=at,
            last_duration_ms=duration_ms,
            last_error=error[:2000] if error else None,
            last_error_detail=error_detail[:1000] if error and error_detail else None,
            last_samples=samples,
            updated_at=ScrapeTarget.updated_at,  # a scrape is not a change of the target
        )
    )
