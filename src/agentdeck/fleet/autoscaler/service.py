"""Recording and reading the autoscaler's decisions.

A decision repeated (the same outcome at the same replica count and bounds, evaluation after
evaluation, such as ``hold`` while the CPU stays between 30 and 70 %) is counted on its row
(``repeats``, ``last_at``) rather than written again, so the record keeps what changed; each
agent keeps its newest ``fleet.autoscaler.decisions_kept_per_agent`` rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.agents.service import get_agent
from agentdeck.crud import require_time_cursor
from agentdeck.fleet.autoscaler.models import AutoscalerDecision
from agentdeck.fleet.autoscaler.rule import Bounds
from agentdeck.fleet.autoscaler.schemas import Outcome
from agentdeck.pagination import fetch_page

SCALED = (Outcome.scaled_up.value, Outcome.scaled_down.value)


async def latest_decision(session: AsyncSession, agent_id: uuid.UUID) -> AutoscalerDecision | None:
    return await session.scalar(
        select(AutoscalerDecision)
        .where(AutoscalerDecision.agent_id == agent_id)
        .order_by(AutoscalerDecision.at.desc(), AutoscalerDecision.id.desc())
        .limit(1)
    )


async def last_scale_at(session: AsyncSession, agent_id: uuid.UUID) -> datetime | None:
    """When the autoscaler last scaled the agent."""
    return await session.scalar(
        select(AutoscalerDecision.at)
        .where(AutoscalerDecision.agent_id == agent_id, AutoscalerDecision.outcome.in_(SCALED))
        .order_by(AutoscalerDecision.at.desc())
        .limit(1)
    )


async def record_decision(
    session: AsyncSession,
    *,
    agent: Agent,
    outcome: Outcome,
    cpu: float | None,
    replicas: int,
    target: int,
    bounds: Bounds,
    reason: str,
    now: datetime,
    keep: int,
) -> tuple[AutoscalerDecision, bool]:
    """The decision's row, and whether it is new (False: a repeat counted on the last one)."""
    last = await latest_decision(session, agent.id)
    same = (
        last is not None
        and last.outcome == outcome.value
        and outcome.value not in SCALED
        and last.replicas == replicas
        and last.target_replicas == target
        and last.min_replicas == bounds.min_replicas
        and last.max_replicas == bounds.max_replicas
    )
    if last is not None and same:
        last.last_at = now
        last.repeats += 1
        last.cpu_percent = cpu
        last.reason = reason[:500]
        await session.flush()
        return last, False
    row = AutoscalerDecision(
        id=uuid.uuid4(),
        tenant_id=agent.tenant_id,
        agent_id=agent.id,
        at=now,
        last_at=now,
        repeats=1,
        outcome=outcome.value,
        cpu_percent=cpu,
        replicas=replicas,
        target_replicas=target,
        min_replicas=bounds.min_replicas,
        max_replicas=bounds.max_replicas,
        reason=reason[:500],
    )
    session.add(row)
    await session.flush()
    await _prune(session, agent.id, keep)
    return row, True


async def _prune(session: AsyncSession, agent_id: uuid.UUID, keep: int) -> None:
    cutoff = await session.scalar(
        select(AutoscalerDecision.at)
        .where(AutoscalerDecision.agent_id == agent_id)
        .order_by(AutoscalerDecision.at.desc())
        .offset(keep)
        .limit(1)
    )
    if cutoff is not None:
        await session.execute(
            delete(AutoscalerDecision).where(
                AutoscalerDecision.agent_id == agent_id, AutoscalerDecision.at <= cutoff
            )
        )


async def list_decisions(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    outcomes: Collection[Outcome] | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AutoscalerDecision], str | None]:
    """The agent's decisions, newest first (404 for another tenant's agent)."""
    await get_agent(session, tenant_id=tenant_id, agent_id=agent_id)
    stmt = select(AutoscalerDecision).where(
        AutoscalerDecision.tenant_id == tenant_id, AutoscalerDecision.agent_id == agent_id
    )
    if outcomes:
        stmt = stmt.where(AutoscalerDecision.outcome.in_([o.value for o in outcomes]))
    require_time_cursor(cursor)
    return await fetch_page(
        session,
        stmt,
        order=(AutoscalerDecision.at, AutoscalerDecision.id),
        cursor=cursor,
        limit=limit,
    )
