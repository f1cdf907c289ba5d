"""Audit log routes (admin only): list with filters and cursor paging, and one entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from agentdeck.audit import service
from agentdeck.audit.models import AuditEntry
from agentdeck.audit.schemas import ActorPublic, ActorType, AuditEntryPublic, AuditFilter
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Admin, SessionDep, parse_uuid
from agentdeck.server.errors import field_error, not_found

router = APIRouter(prefix="/api/v1", tags=["audit"])


def _public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(
        id=entry.id,
        actor=ActorPublic(type=entry.actor_type, id=entry.actor_id, name=entry.actor_name),
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        changes=service.redacted_changes(entry.changes or {}),
        ip=entry.ip,
        user_agent=entry.user_agent,
        request_id=entry.request_id,
        at=entry.at,
    )


@router.get("/audit-log", response_model=Page[AuditEntryPublic])
async def list_audit_entries(
    principal: Admin,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=200, description="Actor id or name.")] = None,
    actor_type: Annotated[ActorType | None, Query(description="user, api_key or system.")] = None,
    resource_type: Annotated[
        str | None, Query(max_length=64, description="e.g. agent, user, api_key.")
    ] = None,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Exact action (agent.create) or a prefix ending in * (agent.*).",
        ),
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Entries at or after this time (RFC 3339 with offset)."),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(description="Entries before this time (RFC 3339 with offset)."),
    ] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditEntryPublic]:
    """List the tenant's audit log, newest first."""
    if since is not None and until is not None and until <= since:
        raise field_error(
            422, "validation-error", ["query", "until"], "until must be later than since"
        )
    entries, next_cursor = await service.list_entries(
        session,
        tenant_id=principal.tenant_id,
        filters=AuditFilter(
            actor=actor,
            actor_type=actor_type,
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            since=since,
            until=until,
        ),
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[_public(e) for e in entries], next_cursor=next_cursor, limit=limit)


@router.get("/audit-log/{entry_id}", response_model=AuditEntryPublic)
async def get_audit_entry(entry_id: str, principal: Admin, session: SessionDep) -> AuditEntryPublic:
    """One audit entry of the tenant."""
    ident = parse_uuid(entry_id, "audit entry")
    entry = await service.get_entry(session, tenant_id=principal.tenant_id, entry_id=ident)
    if entry is None:
        raise not_found("audit entry", entry_id)
    return _public(entry)
