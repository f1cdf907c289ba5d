"""HTTP route of the autoscaler's record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agentdeck.fleet.autoscaler import service
from agentdeck.fleet.autoscaler.schemas import AutoscalerDecisionPublic, Outcome
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import SessionDep, Viewer, parse_uuid

router = APIRouter(prefix="/api/v1", tags=["autoscaler"])


@router.get(
    "/agents/{agent_id}/autoscaler/decisions",
    response_model=Page[AutoscalerDecisionPublic],
    operation_id="list_autoscaler_decisions",
)
async def list_autoscaler_decisions(
    principal: Viewer,
    session: SessionDep,
    agent_id: str,
    outcome: Annotated[list[Outcome] | None, Query(description="Repeatable.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AutoscalerDecisionPublic]:
    """What the autoscaler decided about the agent and why, newest first: every scale, every
    time it would have scaled but the agent was at its bounds or in its cooldown, and the
    evaluations that changed nothing (repeats of one decision are counted on it)."""
    rows, next_cursor = await service.list_decisions(
        session,
        tenant_id=principal.tenant_id,
        agent_id=parse_uuid(agent_id, "agent"),
        outcomes=outcome,
        limit=limit,
        cursor=cursor,
    )
    return Page[AutoscalerDecisionPublic](
        items=[AutoscalerDecisionPublic.of(r) for r in rows], next_cursor=next_cursor, limit=limit
    )
