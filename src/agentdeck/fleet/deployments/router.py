"""HTTP routes of deployments: roll a version out, follow it, compare, roll back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import AgentStatus
from agentdeck.agents.service import get_agent
from agentdeck.bus.base import Bus
from agentdeck.fleet.deployments import service
from agentdeck.fleet.deployments.schemas import (
    DeploymentCreate,
    DeploymentDiff,
    DeploymentPublic,
    DeploymentSummary,
    SpecChange,
    TriggerKind,
)
from agentdeck.fleet.events import publish_agent, publish_deployment
from agentdeck.fleet.models import Deployment, DeploymentStatus
from agentdeck.fleet.runtime import Fleet
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import (
    BusDep,
    Developer,
    FleetDep,
    SessionDep,
    SettingsDep,
    Viewer,
    parse_uuid,
)

router = APIRouter(prefix="/api/v1", tags=["deployments"])

_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"headers": {"Location": {"description": "The deployment."}}}
}


@router.post(
    "/agents/{agent_id}/deployments",
    response_model=DeploymentPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_deployment",
    responses=_CREATED,
)
async def create_deployment(
    principal: Developer,
    session: SessionDep,
    settings: SettingsDep,
    fleet: FleetDep,
    bus: BusDep,
    agent_id: str,
    body: DeploymentCreate,
    response: Response,
) -> DeploymentPublic:
    """Roll a new version out (starting the agent when stopped): `rolling` brings one new
    replica up and ready before each old one stops; `recreate` stops them all first. If the
    new replicas are not ready within the deadline it is rolled back automatically. 409 while
    another deployment of the agent rolls out. Progress goes to the `deployments` channel."""
    ident = parse_uuid(agent_id, "agent")
    previous = (await get_agent(session, tenant_id=principal.tenant_id, agent_id=ident)).status
    row = await service.create_deployment(
        session,
        actor=principal,
        agent_id=ident,
        data=body,
        driver=fleet.driver,
        default_deadline=settings.fleet.readiness_deadline_seconds,
    )
    return await _rolled_out(session, fleet, bus, row, response, agent_status_before=previous)


async def _rolled_out(
    session: AsyncSession,
    fleet: Fleet,
    bus: Bus,
    row: Deployment,
    response: Response,
    *,
    agent_status_before: AgentStatus | None,
) -> DeploymentPublic:
    """Commit a new deployment, wake the fleet loop, announce it and answer it (201 with its
    ``Location``). ``agent_status_before``: None for the agent's status as it is now."""
    agent = await service.agent_of(session, row)
    previous = agent.status if agent_status_before is None else agent_status_before
    await session.commit()
    fleet.wake()
    summary = DeploymentSummary.of(row).model_dump(mode="json")
    publish_deployment(bus, row, action="created", summary=summary)
    publish_agent(bus, agent, action="deploy", previous_status=previous)
    response.headers["Location"] = f"{router.prefix}/deployments/{row.id}"
    return DeploymentPublic.of(row)


@router.get(
    "/agents/{agent_id}/deployments",
    response_model=Page[DeploymentSummary],
    operation_id="list_agent_deployments",
)
async def list_agent_deployments(
    principal: Viewer,
    session: SessionDep,
    agent_id: str,
    deployment_status: Annotated[
        list[DeploymentStatus] | None, Query(alias="status", description="Repeatable.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[DeploymentSummary]:
    """The agent's deployment history, newest first."""
    rows, next_cursor = await service.list_deployments(
        session,
        tenant_id=principal.tenant_id,
        agent_id=parse_uuid(agent_id, "agent"),
        statuses=deployment_status,
        limit=limit,
        cursor=cursor,
    )
    return Page[DeploymentSummary](
        items=[DeploymentSummary.of(r) for r in rows], next_cursor=next_cursor, limit=limit
    )


@router.get("/deployments", response_model=Page[DeploymentSummary], operation_id="list_deployments")
async def list_deployments(
    principal: Viewer,
    session: SessionDep,
    agent_id: Annotated[str | None, Query(description="One agent's deployments.")] = None,
    deployment_status: Annotated[
        list[DeploymentStatus] | None, Query(alias="status", description="Repeatable.")
    ] = None,
    version: Annotated[str | None, Query(max_length=64)] = None,
    triggered_by: Annotated[
        list[TriggerKind] | None, Query(description="user, api_key, github, system; repeatable.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[DeploymentSummary]:
    """Every deployment of the tenant, newest first, filtered."""
    rows, next_cursor = await service.list_deployments(
        session,
        tenant_id=principal.tenant_id,
        agent_id=parse_uuid(agent_id, "agent") if agent_id else None,
        statuses=deployment_status,
        version=version,
        triggered_by=triggered_by,
        limit=limit,
        cursor=cursor,
    )
    return Page[DeploymentSummary](
        items=[DeploymentSummary.of(r) for r in rows], next_cursor=next_cursor, limit=limit
    )


@router.get(
    "/deployments/{deployment_id}",
    response_model=DeploymentPublic,
    operation_id="get_deployment",
)
async def get_deployment(
    principal: Viewer, session: SessionDep, deployment_id: str
) -> DeploymentPublic:
    """One deployment with its spec and events (replicas started, ready, stopped, ...)."""
    row = await service.get_deployment(
        session,
        tenant_id=principal.tenant_id,
        deployment_id=parse_uuid(deployment_id, "deployment"),
    )
    return DeploymentPublic.of(row)


@router.get(
    "/deployments/{deployment_id}/diff",
    response_model=DeploymentDiff,
    operation_id="diff_deployment",
)
async def diff_deployment(
    principal: Viewer,
    session: SessionDep,
    deployment_id: str,
    base: Annotated[
        str | None,
        Query(description="Another deployment of the agent; default: what this one replaced."),
    ] = None,
) -> DeploymentDiff:
    """What changed (version, replicas, strategy, spec fields) from the base to this one."""
    base_row, row, changes = await service.diff_deployments(
        session,
        tenant_id=principal.tenant_id,
        deployment_id=parse_uuid(deployment_id, "deployment"),
        base_id=parse_uuid(base, "base") if base else None,
    )
    return DeploymentDiff(
        base=base_row.id if base_row else None,
        deployment=row.id,
        changes=[SpecChange.model_validate(c) for c in changes],
    )


@router.post(
    "/deployments/{deployment_id}/rollback",
    response_model=DeploymentPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="rollback_deployment",
    responses=_CREATED,
)
async def rollback_deployment(
    principal: Developer,
    session: SessionDep,
    fleet: FleetDep,
    bus: BusDep,
    deployment_id: str,
    response: Response,
) -> DeploymentPublic:
    """Roll the agent back to what this deployment replaced, as a new deployment (answered).
    Allowed for the deployment under way and for the agent's latest completed one (409
    otherwise, or when it replaced nothing)."""
    row = await service.rollback_deployment(
        session,
        actor=principal,
        deployment_id=parse_uuid(deployment_id, "deployment"),
        driver=fleet.driver,
    )
    return await _rolled_out(session, fleet, bus, row, response, agent_status_before=None)
