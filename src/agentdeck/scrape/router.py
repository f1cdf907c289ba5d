"""HTTP routes of scrape targets: `/api/v1/scrape-targets`.

Viewers read targets (with their last scrape's health, time, duration, sample count and
error); developers add, change and delete them. The scraper loop collects them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.scrape import service
from agentdeck.scrape.models import ScrapeHealth
from agentdeck.scrape.schemas import (
    ScrapeTargetCreate,
    ScrapeTargetPublic,
    ScrapeTargetUpdate,
)
from agentdeck.server.deps import Developer, SessionDep, Viewer, parse_uuid

router = APIRouter(prefix="/api/v1", tags=["scraping"])


def _admin(principal: Principal) -> bool:
    """Admins see the cause of a failed scrape (`last_error_detail`)."""
    return principal.role.allows(Role.admin)


@router.get("/scrape-targets", response_model=Page[ScrapeTargetPublic])
async def list_scrape_targets(
    principal: Viewer,
    session: SessionDep,
    agent_id: Annotated[uuid.UUID | None, Query(description="Targets of this agent.")] = None,
    health: Annotated[ScrapeHealth | None, Query(description="up, down or unknown.")] = None,
    enabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ScrapeTargetPublic]:
    """List the tenant's scrape targets, newest first, filtered and paged."""
    rows, next_cursor = await service.list_targets(
        session,
        tenant_id=principal.tenant_id,
        agent_id=agent_id,
        health=health,
        enabled=enabled,
        limit=limit,
        cursor=cursor,
    )
    return Page[ScrapeTargetPublic](
        items=[ScrapeTargetPublic.of(t, admin=_admin(principal)) for t in rows],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.post(
    "/scrape-targets", response_model=ScrapeTargetPublic, status_code=status.HTTP_201_CREATED
)
async def create_scrape_target(
    principal: Developer, session: SessionDep, body: ScrapeTargetCreate, response: Response
) -> ScrapeTargetPublic:
    """Add a scrape target (409 when the tenant already scrapes this URL)."""
    target = await service.create_target(session, actor=principal, data=body)
    await session.commit()
    response.headers["Location"] = f"{router.prefix}/scrape-targets/{target.id}"
    return ScrapeTargetPublic.of(target, admin=_admin(principal))


@router.get("/scrape-targets/{target_id}", response_model=ScrapeTargetPublic)
async def get_scrape_target(
    principal: Viewer, session: SessionDep, target_id: str
) -> ScrapeTargetPublic:
    """One scrape target with the outcome of its last scrape."""
    target = await service.get_target(
        session, tenant_id=principal.tenant_id, target_id=parse_uuid(target_id, "scrape target")
    )
    return ScrapeTargetPublic.of(target, admin=_admin(principal))


@router.patch("/scrape-targets/{target_id}", response_model=ScrapeTargetPublic)
async def update_scrape_target(
    principal: Developer, session: SessionDep, target_id: str, body: ScrapeTargetUpdate
) -> ScrapeTargetPublic:
    """Change some fields of a scrape target; `labels` is replaced as a whole when sent."""
    target = await service.update_target(
        session,
        actor=principal,
        target_id=parse_uuid(target_id, "scrape target"),
        data=body,
    )
    await session.commit()
    return ScrapeTargetPublic.of(target, admin=_admin(principal))


@router.delete("/scrape-targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_scrape_target(principal: Developer, session: SessionDep, target_id: str) -> None:
    """Stop scraping a target and forget it (its samples stay in the metrics store)."""
    await service.delete_target(
        session, actor=principal, target_id=parse_uuid(target_id, "scrape target")
    )
    await session.commit()
