"""HTTP routes of the agent lifecycle: start, stop, restart, scale; replicas, logs, driver.

Lifecycle calls answer at once with the agent (status ``deploying``, ``scaling`` or
``stopped``); the fleet loop then converges and the status follows on the ``agent:<id>`` and
``fleet`` WebSocket channels. Developers and admins act; viewers read.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.agents.schemas import AgentPublic
from agentdeck.agents.service import get_agent
from agentdeck.fleet import service
from agentdeck.fleet.events import publish_agent
from agentdeck.fleet.schemas import (
    DriverInfo,
    LogLinePublic,
    ReplicaLogs,
    ReplicaPublic,
    ScaleRequest,
)
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import BusDep, Developer, FleetDep, SessionDep, Viewer, parse_uuid

router = APIRouter(prefix="/api/v1", tags=["fleet"])

_ETAG: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": "The agent's new revision."}}}
}


async def _status_of(session: SessionDep, principal: Viewer, agent_id: uuid.UUID) -> AgentStatus:
    agent = await get_agent(session, tenant_id=principal.tenant_id, agent_id=agent_id)
    return agent.status


def _answer(agent: Agent, response: Response) -> AgentPublic:
    response.headers["ETag"] = f'"{agent.revision}"'
    return AgentPublic.of(agent)


@router.post(
    "/agents/{agent_id}/start",
    response_model=AgentPublic,
    operation_id="start_agent",
    responses=_ETAG,
)
async def start_agent(
    principal: Developer,
    session: SessionDep,
    fleet: FleetDep,
    bus: BusDep,
    agent_id: str,
    response: Response,
) -> AgentPublic:
    """Run the agent's replicas (its replica count, at least one); 422 when its config names
    nothing runnable (the field is named), 409 when the host has no room. A running agent is
    answered as it is."""
    ident = parse_uuid(agent_id, "agent")
    previous = await _status_of(session, principal, ident)
    agent = await service.start_agent(session, actor=principal, agent_id=ident, driver=fleet.driver)
    await session.commit()
    fleet.wake()
    publish_agent(bus, agent, action="start", previous_status=previous)
    return _answer(agent, response)


@router.post(
    "/agents/{agent_id}/stop",
    response_model=AgentPublic,
    operation_id="stop_agent",
    responses=_ETAG,
)
async def stop_agent(
    principal: Developer,
    session: SessionDep,
    fleet: FleetDep,
    bus: BusDep,
    agent_id: str,
    response: Response,
) -> AgentPublic:
    """Stop every replica (SIGTERM, then SIGKILL after the grace period). A rollout under way
    ends as failed. The spec and replica count are kept for the next start."""
    ident = parse_uuid(agent_id, "agent")
    previous = await _status_of(session, principal, ident)
    agent = await service.stop_agent(session, actor=principal, agent_id=ident)
    await session.commit()
    fleet.wake()
    publish_agent(bus, agent, action="stop", previous_status=previous)
    return _answer(agent, response)


@router.post(
    "/agents/{agent_id}/restart",
    response_model=AgentPublic,
    operation_id="restart_agent",
    responses=_ETAG,
)
async def restart_agent(
    principal: Developer,
    session: SessionDep,
    fleet: FleetDep,
    bus: BusDep,
    agent_id: str,
    response: Response,
) -> AgentPublic:
    """Replace every replica by the agent's strategy, with the spec rebuilt from its current
    config; 409 when it is not running or a deployment is rolling out."""
    ident = parse_uuid(agent_id, "agent")
    previous = await _status_of(session, principal, ident)
    agent = await service.restart_agent(
        session, actor=principal, agent_id=ident, driver=fleet.driver
    )
    await session.commit()
    fleet.wake()
    publish_agent(bus, agent, action="restart", previous_status=previous)
    return _answer(agent, response)


@router.post(
    "/agents/{agent_id}/scale",
    response_model=AgentPublic,
    operation_id="scale_agent",
    responses=_ETAG,
)
async def scale_agent(
    principal: Developer,
    session: SessionDep,
    fleet: FleetDep,
    bus: BusDep,
    agent_id: str,
    body: ScaleRequest,
    response: Response,
) -> AgentPublic:
    """Set the replica count, 0 to 20 (422 "Replica count must be between 0 and 20" naming
    `replicas` otherwise): 0 stops the agent, more starts a stopped one. 409 while a
    deployment rolls out."""
    ident = parse_uuid(agent_id, "agent")
    previous = await _status_of(session, principal, ident)
    agent = await service.scale_agent(
        session, actor=principal, agent_id=ident, replicas=body.replicas, driver=fleet.driver
    )
    await session.commit()
    fleet.wake()
    publish_agent(bus, agent, action="scale", previous_status=previous)
    return _answer(agent, response)


@router.get(
    "/agents/{agent_id}/replicas",
    response_model=Page[ReplicaPublic],
    operation_id="list_agent_replicas",
)
async def list_agent_replicas(
    principal: Viewer,
    session: SessionDep,
    agent_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ReplicaPublic]:
    """The agent's replicas as the fleet last observed them (pid or pod, port, start, restarts,
    last exit, health), by name."""
    rows, next_cursor = await service.list_replicas(
        session,
        tenant_id=principal.tenant_id,
        agent_id=parse_uuid(agent_id, "agent"),
        limit=limit,
        cursor=cursor,
    )
    return Page[ReplicaPublic](
        items=[ReplicaPublic.of(r) for r in rows], next_cursor=next_cursor, limit=limit
    )


@router.get(
    "/agents/{agent_id}/output", response_model=ReplicaLogs, operation_id="get_agent_output"
)
async def get_agent_output(
    principal: Viewer,
    session: SessionDep,
    fleet: FleetDep,
    agent_id: str,
    replica: Annotated[str | None, Query(max_length=128, description="One replica.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReplicaLogs:
    """The last lines the agent's replicas wrote (stdout and stderr), oldest first, from the
    driver's memory in the process that runs it (503 elsewhere). The logs pipeline keeps
    them longer and searchable."""
    ident = parse_uuid(agent_id, "agent")
    await get_agent(session, tenant_id=principal.tenant_id, agent_id=ident)
    lines = await fleet.driver.logs(ident, replica=replica, limit=limit)
    return ReplicaLogs(
        items=[
            LogLinePublic(at=line.at, replica=line.replica, stream=line.stream, line=line.line)
            for line in lines
        ],
        limit=limit,
    )


@router.get("/fleet/driver", response_model=DriverInfo, operation_id="get_fleet_driver")
async def get_fleet_driver(principal: Viewer, fleet: FleetDep) -> DriverInfo:
    """Which driver runs the agents here, and how it enforces CPU and memory limits."""
    caps = fleet.driver.capabilities()
    return DriverInfo(
        driver=caps.driver,
        active=caps.active,
        limits=caps.limits,
        cpu_limit=caps.cpu_limit,
        memory_limit=caps.memory_limit,
        detail=caps.detail,
        replicas=caps.replicas,
    )
