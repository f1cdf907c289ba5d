"""Deployments: roll a new version out, list and read them, compare two, roll one back.

A deployment writes the new version and runtime fields into the agent (so its config says what
runs), freezes the workload spec, and records what it replaced for a rollback. One deployment
at a time per agent: ``active_agent_id`` holds the agent's id while a deployment is under way,
unique, so a second one is refused (409 naming the first, ``ROLLOUT``), also when two requests
race. The fleet loop moves it on (``progress.advance``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.agents.service import get_agent
from agentdeck.crud import require_time_cursor
from agentdeck.errors import Conflict
from agentdeck.fleet.deployments.progress import add_event, finish
from agentdeck.fleet.deployments.schemas import DeploymentCreate, TriggeredBy
from agentdeck.fleet.driver import Driver, Strategy, WorkloadSpec
from agentdeck.fleet.models import (
    ACTIVE_DEPLOYMENT,
    Deployment,
    DeploymentStatus,
    Transition,
    Workload,
)
from agentdeck.fleet.schemas import RuntimeSpec
from agentdeck.fleet.service import (
    deployment_in_progress,
    freeze,
    get_workload,
    set_status,
    workload_for,
)
from agentdeck.fleet.spec import build_spec, config_with, diff, runtime_of_config
from agentdeck.identity.principal import Principal
from agentdeck.pagination import fetch_page

RESOURCE = "deployment"
SPEC_LOC = ("body", "spec")
ROLLOUT = crud.Unique(
    Deployment,
    "agent {} has a deployment in progress already; one at a time",
    "active_agent_id",
    held=deployment_in_progress,
)


def trigger_of(actor: Principal) -> TriggeredBy:
    return TriggeredBy(kind=actor.kind, id=str(actor.id) if actor.id else None, name=actor.name)


def _replaced(agent: Agent, workload: Workload) -> dict[str, Any]:
    """What a new deployment replaces (kept on its row for a rollback): the workload's spec
    and the agent's version, config and replica count as they are now."""
    return {
        "previous_spec": dict(workload.spec) if workload.spec else None,
        "previous_version": agent.version,
        "previous_config": dict(agent.config or {}),
        "previous_replicas": agent.replica_count or None,
    }


def _pending(
    agent: Agent,
    runtime: RuntimeSpec,
    spec: WorkloadSpec,
    *,
    version: str,
    replicas: int,
    strategy: Strategy,
    previous: dict[str, Any],
    **fields: Any,
) -> Deployment:
    """A pending deployment of ``spec`` on the agent, replacing ``previous``."""
    return Deployment(
        id=uuid.uuid4(),
        tenant_id=agent.tenant_id,
        agent_id=agent.id,
        active_agent_id=agent.id,
        version=version,
        spec=runtime.model_dump(mode="json"),
        workload_spec=spec.to_json(),
        spec_hash=spec.spec_hash,
        replicas=replicas,
        strategy=strategy,
        status=DeploymentStatus.pending,
        events=[],
        progress={},
        **previous,
        **fields,
    )


def snapshot(row: Deployment) -> dict[str, Any]:
    return {
        "agent_id": row.agent_id,
        "version": row.version,
        "spec_hash": row.spec_hash,
        "replicas": row.replicas,
        "strategy": row.strategy,
        "status": row.status,
        "commit_sha": row.commit_sha,
        "rollback_of": row.rollback_of,
    }


# --- reads ----------------------------------------------------------------------------------


async def get_deployment(
    session: AsyncSession, *, tenant_id: uuid.UUID, deployment_id: uuid.UUID
) -> Deployment:
    return await crud.get_owned(
        session, Deployment, tenant_id=tenant_id, ident=deployment_id, what=RESOURCE, fresh=True
    )


async def list_deployments(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID | None = None,
    statuses: Collection[DeploymentStatus] | None = None,
    version: str | None = None,
    triggered_by: Collection[str] | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Deployment], str | None]:
    """The tenant's deployments, newest first, filtered; for one agent when given (404 when
    the agent is another tenant's)."""
    stmt = select(Deployment).where(Deployment.tenant_id == tenant_id)
    if agent_id is not None:
        await get_agent(session, tenant_id=tenant_id, agent_id=agent_id)
        stmt = stmt.where(Deployment.agent_id == agent_id)
    if statuses:
        stmt = stmt.where(Deployment.status.in_(list(statuses)))
    if version:
        stmt = stmt.where(Deployment.version == version)
    if triggered_by:
        stmt = stmt.where(Deployment.triggered_by_kind.in_(list(triggered_by)))
    require_time_cursor(cursor)
    return await fetch_page(
        session, stmt, order=(Deployment.created_at, Deployment.id), cursor=cursor, limit=limit
    )


def _compared(row: Deployment) -> dict[str, Any]:
    return {
        "version": row.version,
        "replicas": row.replicas,
        "strategy": row.strategy.value,
        "spec": row.spec,
    }


async def diff_deployments(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    deployment_id: uuid.UUID,
    base_id: uuid.UUID | None,
) -> tuple[Deployment | None, Deployment, list[dict[str, Any]]]:
    """What changed from ``base`` (default: what the deployment replaced) to the deployment."""
    row = await get_deployment(session, tenant_id=tenant_id, deployment_id=deployment_id)
    if base_id is not None:
        base = await get_deployment(session, tenant_id=tenant_id, deployment_id=base_id)
        if base.agent_id != row.agent_id:
            raise Conflict("the two deployments are of different agents", kind="different-agents")
        return base, row, diff(_compared(base), _compared(row))
    before: dict[str, Any] = {}
    if row.previous_config is not None:
        previous = runtime_of_config(row.previous_config)
        before = {
            "version": row.previous_version,
            "replicas": row.previous_replicas,
            "strategy": row.strategy.value,
            "spec": previous.model_dump(mode="json"),
        }
    return None, row, diff(before, _compared(row))


# --- writes ---------------------------------------------------------------------------------


async def create_deployment(
    session: AsyncSession,
    *,
    actor: Principal,
    agent_id: uuid.UUID,
    data: DeploymentCreate,
    driver: Driver,
    default_deadline: float,
    triggered_by: TriggeredBy | None = None,
    author: str | None = None,
) -> Deployment:
    """Roll ``data.version`` out to the agent's replicas (starting a stopped agent)."""
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=agent_id)
    await ROLLOUT.ensure_free(session, tenant_id=actor.tenant_id, value=agent.id)
    workload = await workload_for(session, agent)
    runtime = runtime_of_config(agent.config or {})
    if data.spec is not None:
        changes = {k: getattr(data.spec, k) for k in data.spec.model_fields_set}
        runtime = runtime.model_copy(update=changes)
    replicas = data.replicas or max(agent.replica_count, 1)
    previous = _replaced(agent, workload)
    agent.version = data.version
    agent.config = config_with(agent.config or {}, runtime)
    agent.replica_count = replicas
    spec = build_spec(agent, runtime, restart_generation=workload.restart_generation, loc=SPEC_LOC)
    driver.validate(spec, replicas, loc=SPEC_LOC)
    trigger = triggered_by or trigger_of(actor)
    row = _pending(
        agent,
        runtime,
        spec,
        version=data.version,
        replicas=replicas,
        strategy=data.strategy,
        previous=previous,
        deadline_seconds=data.progress_deadline_seconds or default_deadline,
        max_error_rate=data.max_error_rate,
        triggered_by_kind=trigger.kind,
        triggered_by_id=trigger.id,
        triggered_by_name=trigger.name,
        commit_sha=data.commit_sha,
        author=author,
        description=data.description,
    )
    add_event(
        row,
        "created",
        f"version {data.version} ({spec.spec_hash}) × {replicas}, {data.strategy.value}, by "
        f"{trigger.name}",
    )
    await crud.insert(
        session, actor=actor, row=row, kind=RESOURCE, snapshot=snapshot, unique=ROLLOUT
    )
    return await _roll_out(session, agent, workload, spec, row, data.strategy)


async def _roll_out(
    session: AsyncSession,
    agent: Agent,
    workload: Workload,
    spec: WorkloadSpec,
    row: Deployment,
    strategy: Strategy,
) -> Deployment:
    """Point the workload at the new (inserted) deployment and mark the agent deploying (its
    config and version changed as well: a new revision)."""
    _point_workload(workload, spec, row, strategy)
    set_status(agent, AgentStatus.deploying)
    agent.revision += 1
    await session.flush()
    return row


def _point_workload(workload: Any, spec: WorkloadSpec, row: Deployment, strategy: Strategy) -> None:
    workload.running = True
    workload.strategy = strategy
    workload.transition = Transition.deploying
    workload.deployment_id = row.id
    freeze(workload, spec)


async def rollback_deployment(
    session: AsyncSession, *, actor: Principal, deployment_id: uuid.UUID, driver: Driver
) -> Deployment:
    """Roll the agent back to what ``deployment`` replaced, as a new deployment.

    Allowed for the deployment under way (it ends as rolled back at once) and for the agent's
    latest completed one; 409 otherwise, or when it replaced nothing (the agent's first).
    """
    target = await get_deployment(session, tenant_id=actor.tenant_id, deployment_id=deployment_id)
    agent = await get_agent(session, tenant_id=actor.tenant_id, agent_id=target.agent_id)
    latest = await session.scalar(
        select(Deployment)
        .where(Deployment.agent_id == agent.id)
        .order_by(Deployment.created_at.desc(), Deployment.id.desc())
        .limit(1)
    )
    active = target.status in ACTIVE_DEPLOYMENT
    if not active and (latest is None or latest.id != target.id):
        raise Conflict(
            "only the agent's latest deployment, or the one under way, can be rolled back",
            kind="not-latest-deployment",
        )
    if not active and target.status is not DeploymentStatus.completed:
        raise Conflict(
            f"deployment {target.id} is {target.status.value}; nothing runs from it to roll back",
            kind="not-rollbackable",
        )
    if target.previous_spec is None or target.previous_version is None:
        raise Conflict(
            "this deployment replaced nothing (the agent's first spec); stop the agent instead",
            kind="nothing-to-roll-back",
        )
    before = snapshot(target)
    finish(
        target,
        DeploymentStatus.rolled_back,
        kind="rolled_back",
        message=f"rolled back by {actor.name}",
        error=target.error,
    )
    await crud.save(
        session,
        actor=actor,
        row=target,
        kind=RESOURCE,
        before=before,
        snapshot=snapshot,
        verb="rollback",
    )
    workload = await get_workload(session, agent.id)
    assert workload is not None
    spec = WorkloadSpec.from_json(target.previous_spec)
    runtime = runtime_of_config(target.previous_config or {})
    replicas = target.previous_replicas or target.replicas
    driver.validate(spec, replicas, loc=("body",))
    row = _pending(
        agent,
        runtime,
        spec,
        version=target.previous_version,
        replicas=replicas,
        strategy=target.strategy,
        previous=_replaced(agent, workload),
        deadline_seconds=target.deadline_seconds,
        max_error_rate=target.max_error_rate,
        triggered_by_kind=actor.kind,
        triggered_by_id=str(actor.id) if actor.id else None,
        triggered_by_name=actor.name,
        description=f"rollback of deployment {target.id}",
        rollback_of=target.id,
    )
    add_event(row, "created", f"rollback of {target.version} to {target.previous_version}")
    await crud.insert(
        session, actor=actor, row=row, kind=RESOURCE, snapshot=snapshot, unique=ROLLOUT
    )
    agent.version = target.previous_version
    agent.config = dict(target.previous_config or {})
    agent.replica_count = replicas
    workload.restart_generation = spec.restart_generation
    return await _roll_out(session, agent, workload, spec, row, target.strategy)


async def agent_of(session: AsyncSession, deployment: Deployment) -> Agent:
    return await get_agent(session, tenant_id=deployment.tenant_id, agent_id=deployment.agent_id)
