"""HTTP routes of the agent registry: `/api/v1/agents`.

Optimistic concurrency: every agent carries a `revision`; responses send it as a strong ETag
(`"<revision>"`). `GET` honours `If-None-Match` (304). `PATCH` and `DELETE` honour `If-Match`:
a stale tag is refused with 412 and nothing is written. Without `If-Match` the last writer wins.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from agentdeck.agents import service
from agentdeck.agents.models import AgentStatus, AgentType
from agentdeck.agents.schemas import AgentCreate, AgentPublic, AgentSort, AgentUpdate
from agentdeck.fleet.credentials import revoke_agent_keys
from agentdeck.fleet.service import stop_before_delete
from agentdeck.identity.principal import principal_key
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.realtime.publish import publish_agent_change
from agentdeck.server.deps import (
    BusDep,
    Developer,
    OptionalFleetDep,
    SessionDep,
    SettingsDep,
    StateDep,
    Viewer,
    access_changed,
    parse_uuid,
)
from agentdeck.server.errors import field_error
from agentdeck.server.etags import expected_revisions, tag, tag_or_not_modified

router = APIRouter(prefix="/api/v1", tags=["agents"])

_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The agent is unchanged since the ETag in If-None-Match."}
}
_ETAG_HEADER = {"ETag": {"description": 'The agent\'s revision as a strong ETag, e.g. "3".'}}


def _owner_filter(owner: str | None, caller_user_id: uuid.UUID | None) -> uuid.UUID | None:
    if owner is None:
        return None
    if owner == "me":
        if caller_user_id is None:
            raise field_error(
                422,
                "validation-error",
                ["query", "owner"],
                "owner=me needs a signed-in user; API keys own no agents",
            )
        return caller_user_id
    try:
        return uuid.UUID(owner)
    except ValueError as exc:
        raise field_error(
            422, "validation-error", ["query", "owner"], "owner must be a user id or 'me'"
        ) from exc


@router.get("/agents", response_model=Page[AgentPublic])
async def list_agents(
    principal: Viewer,
    session: SessionDep,
    agent_type: Annotated[
        list[AgentType] | None, Query(alias="type", description="Repeatable.")
    ] = None,
    agent_status: Annotated[
        list[AgentStatus] | None, Query(alias="status", description="Repeatable.")
    ] = None,
    owner: Annotated[str | None, Query(description="A user id, or `me`.")] = None,
    label: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Kubernetes label selector, comma-separated requirements: "
            "`k=v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`.",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Name or description contains (case-insensitive)."),
    ] = None,
    sort: AgentSort = AgentSort.created_at_desc,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AgentPublic]:
    """List the tenant's agents, filtered, sorted and paged (newest first by default)."""
    rows, next_cursor = await service.list_agents(
        session,
        tenant_id=principal.tenant_id,
        types=agent_type,
        statuses=agent_status,
        owner_id=_owner_filter(owner, principal.user_id),
        label_selector=label,
        q=q,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    return Page[AgentPublic](
        items=[AgentPublic.of(a) for a in rows], next_cursor=next_cursor, limit=limit
    )


@router.post(
    "/agents",
    response_model=AgentPublic,
    status_code=status.HTTP_201_CREATED,
    responses={201: {"headers": {**_ETAG_HEADER, "Location": {"description": "The agent."}}}},
)
async def create_agent(
    principal: Developer,
    session: SessionDep,
    settings: SettingsDep,
    body: AgentCreate,
    response: Response,
    bus: BusDep,
) -> AgentPublic:
    """Register an agent, owned by the calling user (409 on a taken name or a full quota)."""
    agent = await service.create_agent(
        session, actor=principal, data=body, default_quota=settings.default_agent_quota
    )
    await session.commit()
    publish_agent_change(bus, agent, action="created")
    tag(response, agent.revision)
    response.headers["Location"] = f"{router.prefix}/agents/{agent.id}"
    return AgentPublic.of(agent)


@router.get(
    "/agents/{agent_id}",
    response_model=AgentPublic,
    responses={200: {"headers": _ETAG_HEADER}, **_NOT_MODIFIED},
)
async def get_agent(
    principal: Viewer,
    session: SessionDep,
    agent_id: str,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> AgentPublic | Response:
    """One agent, with its ETag; 304 when `If-None-Match` names the current revision."""
    agent = await service.get_agent(
        session, tenant_id=principal.tenant_id, agent_id=parse_uuid(agent_id, "agent")
    )
    if (unchanged := tag_or_not_modified(response, agent.revision, if_none_match)) is not None:
        return unchanged
    return AgentPublic.of(agent)


@router.patch(
    "/agents/{agent_id}",
    response_model=AgentPublic,
    responses={200: {"headers": _ETAG_HEADER}},
)
async def update_agent(
    principal: Developer,
    session: SessionDep,
    agent_id: str,
    body: AgentUpdate,
    response: Response,
    bus: BusDep,
    if_match: Annotated[
        str | None,
        Header(description="The ETag you read; 412 if the agent changed since. Optional."),
    ] = None,
) -> AgentPublic:
    """Change some fields of an agent; returns it with its new ETag.

    With `If-Match` a stale ETag gets 412 and nothing is written; without it the last writer
    wins. `config`, `metadata` and `labels` are replaced as a whole when sent.
    """
    agent_uuid = parse_uuid(agent_id, "agent")
    current = await service.get_agent(session, tenant_id=principal.tenant_id, agent_id=agent_uuid)
    previous_status = current.status
    agent = await service.update_agent(
        session,
        actor=principal,
        agent_id=agent_uuid,
        data=body,
        expected_revisions=expected_revisions(if_match),
    )
    await session.commit()
    publish_agent_change(bus, agent, action="updated", previous_status=previous_status)
    tag(response, agent.revision)
    return AgentPublic.of(agent)


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(
    principal: Developer,
    session: SessionDep,
    agent_id: str,
    bus: BusDep,
    state: StateDep,
    fleet: OptionalFleetDep,
    if_match: Annotated[
        str | None,
        Header(description="The ETag you read; 412 if the agent changed since. Optional."),
    ] = None,
) -> None:
    """Delete an agent (and its labels); honours `If-Match` like PATCH. A running agent is
    stopped first: the answer comes once its replicas have exited."""
    agent_uuid = parse_uuid(agent_id, "agent")
    agent = await service.get_agent(session, tenant_id=principal.tenant_id, agent_id=agent_uuid)
    previous_status = agent.status
    # a running agent is stopped first (audited as such), its replicas gone before the answer
    ran = await stop_before_delete(session, actor=principal, agent=agent)
    # its telemetry key goes with it (refused from the next request, on every replica)
    revoked = await revoke_agent_keys(session, actor=principal, agent_id=agent_uuid)
    await service.delete_agent(
        session,
        actor=principal,
        agent_id=agent_uuid,
        expected_revisions=expected_revisions(if_match),
    )
    await session.commit()
    for key_id in revoked:
        await access_changed(state, principal_key("api_key", key_id))
    if fleet is not None:
        await fleet.driver.delete(agent_uuid, wait=ran)
        fleet.wake()
    publish_agent_change(bus, agent, action="deleted", previous_status=previous_status)
