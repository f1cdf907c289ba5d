"""HTTP routes of the agent lifecycle: start, stop, restart, scale; replicas, logs, driver.

Lifecycle calls answer at once with the agent (status ``deploying``, ``scaling`` or
``stopped``); the fleet loop then converges and the status follows on the ``agent:<id>`` and
``fleet`` WebSocket channels. Developers and admins act; viewers read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.agents.schemas import AgentPublic
from agentdeck.agents.service import get_agent
from agentdeck.bus.base import Bus
from agentdeck.fleet import service
from agentdeck.fleet.events import publish_agent
from agentdeck.fleet.runtime import Fleet
from agentdeck.fleet.schemas import (
    DriverInfo,
    LogLinePublic,
    ReplicaLogs,
    ReplicaPublic,
    ScaleRequest,
)
from agentdeck.identity.principal import Principal
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import BusDep, Developer, FleetDep, SessionDep, Viewer, parse_uuid

router = APIRouter(prefix="/api/v1", tags=["fleet"])

_ETAG: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": "The agent's new revision."}}}
}


@dataclass(frozen=True, slots=True)
class _Acting:
    """What every lifecycle call needs: who acts, the session, the fleet, the bus and the
    response (for the ETag)."""

    principal: Principal
    session: AsyncSession
    fleet: Fleet
    bus: Bus
    response: Response

    async def __call__(
        self, action: str, agent_id: str, change: Callable[[uuid.UUID], Awaitable[Agent]]
    ) -> AgentPublic:
        """Load the agent (404 before anything changes), ``change`` it, commit, wake the fleet
        loop, publish the change and answer the agent with its ETag."""
        ident = parse_uuid(agent_id, "agent")
        agent = await get_agent(self.session, tenant_id=self.principal.tenant_id, agent_id=ident)
        previous = agent.status
        changed = await change(ident)
        await self.session.commit()
        self.fleet.wake()
        publish_agent(self.bus, changed, action=action, previous_status=previous)
        self.response.headers["ETag"] = f'"{changed.revision}"'
        return AgentPublic.of(changed)


async def _acting(
    principal: Developer, session: SessionDep, fleet: FleetDep, bus: BusDep, response: Response
) -> _Acting:
    return _Acting(principal, session, fleet, bus, response)


Acting = Annotated[_Acting, Depends(_acting)]


@router.post(
    "/agents/{agent_id}/start",
    response_model=AgentPublic,
    operation_id="start_agent",
    responses=_ETAG,
)
async def start_agent(act: Acting, agent_id: str) -> AgentPublic:
    """Run the agent's replicas (its replica count, at least one); 422 when its config names
    nothing runnable (the field is named), 409 when the host has no room. A running agent is
    answered as it is."""
    return await act(
        "start",
        agent_id,
        lambda ident: service.start_agent(
            act.session, actor=act.principal, agent_id=ident, driver=act.fleet.driver
        ),
    )


@router.post(
    "/agents/{agent_id}/stop",
    response_model=AgentPublic,
    operation_id="stop_agent",
    responses=_ETAG,
)
async def stop_agent(act: Acting, agent_id: str) -> AgentPublic:
    """Stop every replica (SIGTERM, then SIGKILL after the grace period). A rollout under way
    ends as failed. The spec and replica count are kept for the next start."""
    return await act(
        "stop",
        agent_id,
        lambda ident: service.stop_agent(act.session, actor=act.principal, agent_id=ident),
    )


@router.post(
    "/agents/{agent_id}/restart",
    response_model=AgentPublic,
    operation_id="restart_agent",
    responses=_ETAG,
)
async def restart_agent(act: Acting, agent_id: str) -> AgentPublic:
    """Replace every replica by the agent's strategy, with the spec rebuilt from its current
    config; 409 when it is not running or a deployment is rolling out."""
    return await act(
        "restart",
        agent_id,
        lambda ident: service.restart_agent(
            act.session, actor=act.principal, agent_id=ident, driver=act.fleet.driver
        ),
    )


@router.post(
    "/agents/{agent_id}/scale",
    response_model=AgentPublic,
    operation_id="scale_agent",
    responses=_ETAG,
)
async def scale_agent(act: Acting, agent_id: str, body: ScaleRequest) -> AgentPublic:
    """Set the replica count, 0 to 20 (422 "Replica count must be between 0 and 20" naming
    `replicas` otherwise): 0 stops the agent, more starts a stopped one. 409 while a
    deployment rolls out."""
    return await act(
        "scale",
        agent_id,
        lambda ident: service.scale_agent(
            act.session,
            actor=act.principal,
            agent_id=ident,
            replicas=body.replicas,
            driver=act.fleet.driver,
        ),
    )


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
