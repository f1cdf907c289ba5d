"""Lifecycle of agents on the fleet: start, stop, restart, scale; replicas; stop before delete.

These record what should run (``fleet_workloads``) and the agent's new status, with an audit
entry, in the caller's transaction; they flush and never commit. The fleet loop then drives the
driver to it and records what it observes. The spec a start or restart freezes comes from the
agent's config at that moment (``fleet.spec``); editing the config later changes nothing that
runs until the next restart or deployment.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.agents.service import get_agent
from agentdeck.audit.service import record
from agentdeck.db.base import utcnow
from agentdeck.errors import Conflict
from agentdeck.fleet.deployments.progress import finish
from agentdeck.fleet.driver import Driver, WorkloadSpec
from agentdeck.fleet.models import (
    ACTIVE_DEPLOYMENT,
    Deployment,
    DeploymentStatus,
    ReplicaRow,
    Transition,
    Workload,
)
from agentdeck.fleet.spec import build_spec, runtime_of_config
from agentdeck.identity.principal import Principal
from agentdeck.pagination import fetch_page

RESOURCE = "agent"
CONFIG_LOC = ("config",)


# --- reads ----------------------------------------------------------------------------------


async def get_workload(session: AsyncSession, agent_id: uuid.UUID) -> Workload | None:
    return await session.scalar(
        select(Workload)
        .where(Workload.agent_id == agent_id)
        .execution_options(populate_existing=True)
    )


async def active_deployment(session: AsyncSession, agent_id: uuid.UUID) -> Deployment | None:
    return await session.scalar(
        select(Deployment).where(
            Deployment.agent_id == agent_id, Deployment.status.in_(ACTIVE_DEPLOYMENT)
        )
    )


async def list_replicas(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReplicaRow], str | None]:
    """The agent's replicas as last observed, by name; another tenant's agent is not found."""
    await get_agent(session, tenant_id=tenant_id, agent_id=agent_id)
    stmt = select(ReplicaRow).where(
        ReplicaRow.tenant_id == tenant_id, ReplicaRow.agent_id == agent_id
    )
    return await fetch_page(
        session,
        stmt,
        order=(ReplicaRow.name, ReplicaRow.agent_id),
        cursor=cursor,
        limit=limit,
        descending=False,
    )


# --- helpers --------------------------------------------------------------------------------


def snapshot(agent: Agent, workload: Workload | None) -> dict[str, Any]:
    return {
        "status": agent.status,
        "replica_count": agent.replica_count,
        "version": agent.version,
        "running": workload.running if workload else False,
        "spec_hash": workload.spec_hash if workload else None,
    }


def set_status(agent: Agent, status: AgentStatus, detail: str | None = None) -> None:
    """Change the agent's status, bumping its revision (its ETag) when anything changed."""
    if agent.status == status and agent.status_detail == detail:
        return
    agent.status = status
    agent.status_detail = detail
    agent.revision += 1
    agent.updated_at = utcnow()


def deployment_in_progress(deployment: Deployment) -> Conflict:
    return Conflict(
        f"deployment {deployment.id} of this agent is {deployment.status.value}; wait for it "
        "to finish or roll it back",
        kind="deployment-in-progress",
        extra={"deployment_id": str(deployment.id)},
    )


async def workload_for(session: AsyncSession, agent: Agent) -> Workload:
    workload = await get_workload(session, agent.id)
    if workload is None:
        workload = Workload(
            agent_id=agent.id,
            tenant_id=agent.tenant_id,
            running=False,
            spec={},
            spec_hash="",
            restart_generation=0,
        )
        session.add(workload)
    return workload


def freeze(workload: Workload, spec: WorkloadSpec) -> None:
    workload.spec = spec.to_json()
    workload.spec_hash = spec.spec_hash
    workload.updated_at = utcnow()


async def _audit(
    session: AsyncSession,
    actor: Principal,
    action: str,
    agent: Agent,
    before: dict[str, Any],
    workload: Workload | None,
) -> None:
    await record(
        session,
        actor=actor,
        action=action,
        resource_type=RESOURCE,
        resource_id=agent.id,
        before=before,
        after=snapshot(agent, workload),
    )


async def _roll_out(
    session: AsyncSession,
    actor: Principal,
    action: str,
    agent: Agent,
    before: dict[str, Any],
    workload: Workload,
    spec: WorkloadSpec,
) -> Agent:
    """Give the workload ``spec`` to roll out (the agent deploying) and audit ``action``."""
    workload.transition = Transition.deploying
    freeze(workload, spec)
    set_status(agent, AgentStatus.deploying)
    await session.flush()
    await _audit(session, actor, action, agent, before, workload)
    return agent


def build(
    agent: Agent, driver: Driver, *, replicas: int, generation: int, loc: Sequence[str]
) -> WorkloadSpec:
    """The agent's spec from its config, checked by the driver (422/409 when it cannot run)."""
    runtime = runtime_of_config(agent.config or {}, loc=loc)
    spec = build_spec(agent, runtime, restart_generation=generation, loc=loc)
    driver.validate(spec, replicas, loc=loc)
    return spec


# --- lifecycle ------------------------------------------------------------------------------


async def start_agent(
    session: AsyncSession, *, actor: Principal, agent_id: uuid.UUID, driver: Driver
) -> Agent:
    """Run the agent (its replica count, at least one); a running agent is left as it is."""
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=agent_id)
    workload = await workload_for(session, agent)
    if workload.running:
        return agent
    before = snapshot(agent, workload)
    replicas = max(agent.replica_count, 1)
    spec = build(
        agent, driver, replicas=replicas, generation=workload.restart_generation, loc=CONFIG_LOC
    )
    agent.replica_count = replicas
    workload.running = True
    return await _roll_out(session, actor, "agent.start", agent, before, workload, spec)


async def stop_agent(
    session: AsyncSession, *, actor: Principal, agent_id: uuid.UUID, reason: str | None = None
) -> Agent:
    """Stop every replica (SIGTERM, then SIGKILL after the grace period); a rollout under way
    ends as failed. The spec and replica count are kept for the next start."""
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=agent_id)
    workload = await get_workload(session, agent.id)
    before = snapshot(agent, workload)
    if workload is not None:
        workload.running = False
        workload.transition = None
        workload.updated_at = utcnow()
        deployment = await active_deployment(session, agent.id)
        if deployment is not None:
            end_deployment(deployment, reason or "the agent was stopped during the rollout")
            workload.deployment_id = None
    set_status(agent, AgentStatus.stopped)
    await session.flush()
    if before != snapshot(agent, workload):
        await _audit(session, actor, "agent.stop", agent, before, workload)
    return agent


def end_deployment(deployment: Deployment, error: str) -> None:
    finish(deployment, DeploymentStatus.failed, kind="cancelled", message=error, error=error)


async def restart_agent(
    session: AsyncSession, *, actor: Principal, agent_id: uuid.UUID, driver: Driver
) -> Agent:
    """Replace every replica by the workload's strategy, with the spec rebuilt from the
    agent's current config (so config edits take effect)."""
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=agent_id)
    workload = await get_workload(session, agent.id)
    if workload is None or not workload.running:
        raise Conflict("the agent is not running; start it instead", kind="agent-not-running")
    deployment = await active_deployment(session, agent.id)
    if deployment is not None:
        raise deployment_in_progress(deployment)
    before = snapshot(agent, workload)
    generation = workload.restart_generation + 1
    spec = build(agent, driver, replicas=agent.replica_count, generation=generation, loc=CONFIG_LOC)
    workload.restart_generation = generation
    return await _roll_out(session, actor, "agent.restart", agent, before, workload, spec)


async def scale_agent(
    session: AsyncSession,
    *,
    actor: Principal,
    agent_id: uuid.UUID,
    replicas: int,
    driver: Driver,
) -> Agent:
    """Set the replica count: 0 stops the agent, more starts a stopped one; refused (409)
    while a deployment is rolling out."""
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=agent_id)
    deployment = await active_deployment(session, agent.id)
    if deployment is not None:
        raise deployment_in_progress(deployment)
    workload = await get_workload(session, agent.id)
    if replicas == 0:
        if agent.replica_count != 0:
            before = snapshot(agent, workload)
            agent.replica_count = 0
            agent.revision += 1
            await session.flush()
            await _audit(session, actor, "agent.scale", agent, before, workload)
        return await stop_agent(session, actor=actor, agent_id=agent.id)
    if workload is None or not workload.running:
        agent.replica_count = replicas
        await session.flush()
        return await start_agent(session, actor=actor, agent_id=agent.id, driver=driver)
    if replicas == agent.replica_count:
        return agent
    before = snapshot(agent, workload)
    spec = WorkloadSpec.from_json(workload.spec)
    driver.validate(spec, replicas, loc=("body",))
    agent.replica_count = replicas
    workload.transition = Transition.scaling
    workload.updated_at = utcnow()
    set_status(agent, AgentStatus.scaling)
    await session.flush()
    await _audit(session, actor, "agent.scale", agent, before, workload)
    return agent


async def stop_before_delete(session: AsyncSession, *, actor: Principal, agent: Agent) -> bool:
    """Before the agent is deleted: mark its workload stopped and audit the stop, leaving the
    agent's revision alone (an If-Match on the delete still holds). True when it ran."""
    workload = await get_workload(session, agent.id)
    if workload is None or not workload.running:
        return False
    before = snapshot(agent, workload)
    workload.running = False
    workload.transition = None
    deployment = await active_deployment(session, agent.id)
    if deployment is not None:
        end_deployment(deployment, "the agent was deleted during the rollout")
    await session.flush()
    after = {**snapshot(agent, workload), "status": AgentStatus.stopped}
    await record(
        session,
        actor=actor,
        action="agent.stop",
        resource_type=RESOURCE,
        resource_id=agent.id,
        before=before,
        after=after,
    )
    return True
