"""Audit log writes (called by every mutating service) and queries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.audit.schemas import AuditFilter
from agentdeck.context import request_context
from agentdeck.identity.principal import Principal
from agentdeck.pagination import fetch_page

REDACTED = "[redacted]"
SECRET_MARKERS = ("password", "secret", "token", "api_key", "key_hash", "authorization")


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if _is_secret(str(k)) else _jsonable(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """Before/after of the fields that changed (all fields on create and delete), redacted."""
    before = dict(before or {})
    after = dict(after or {})
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    out: dict[str, Any] = {}
    if before:
        out["before"] = _jsonable({k: before.get(k) for k in changed if k in before})
    if after:
        out["after"] = _jsonable({k: after.get(k) for k in changed if k in after})
    return out


async def record(
    session: AsyncSession,
    *,
    actor: Principal,
    action: str,
    resource_type: str,
    resource_id: object | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Add an audit entry in the caller's transaction (it commits with the change it records)."""
    ctx = request_context()
    entry = AuditEntry(
        tenant_id=tenant_id or actor.tenant_id,
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        changes=diff(before, after),
        ip=ctx.ip if ctx else None,
        user_agent=(ctx.user_agent or "")[:512] if ctx else None,
        request_id=ctx.request_id if ctx else None,
    )
    session.add(entry)
    await session.flush()
    return entry


# --- queries -------------------------------------------------------------------------------


def _action_clause(action: str) -> ColumnElement[bool]:
    """``agent.create`` matches exactly; ``agent.*`` (or ``agent*``) matches the prefix."""
    if action.endswith("*"):
        return AuditEntry.action.startswith(action.rstrip("*"), autoescape=True)
    return AuditEntry.action == action


def _actor_clause(actor: str) -> ColumnElement[bool]:
    """An actor id (user or API key) or an actor name."""
    try:
        actor_id = uuid.UUID(actor)
    except ValueError:
        return AuditEntry.actor_name == actor
    return or_(AuditEntry.actor_id == actor_id, AuditEntry.actor_name == actor)


def _filtered(stmt: Select[Any], filters: AuditFilter) -> Select[Any]:
    if filters.actor:
        stmt = stmt.where(_actor_clause(filters.actor))
    if filters.actor_type:
        stmt = stmt.where(AuditEntry.actor_type == filters.actor_type)
    if filters.resource_type:
        stmt = stmt.where(AuditEntry.resource_type == filters.resource_type)
    if filters.resource_id:
        stmt = stmt.where(AuditEntry.resource_id == filters.resource_id)
    if filters.action:
        stmt = stmt.where(_action_clause(filters.action))
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.at < filters.until)
    return stmt


async def list_entries(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    filters: AuditFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditEntry], str | None]:
    """One page of a tenant's audit entries, newest first; returns (entries, next cursor)."""
    stmt = _filtered(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id), filters)
    return await fetch_page(
        session, stmt, order=(AuditEntry.at, AuditEntry.id), cursor=cursor, limit=limit
    )


async def get_entry(
    session: AsyncSession, *, tenant_id: uuid.UUID, entry_id: uuid.UUID
) -> AuditEntry | None:
    """One of the tenant's audit entries; None for unknown ids and other tenants' entries."""
    return await session.scalar(
        select(AuditEntry).where(AuditEntry.id == entry_id, AuditEntry.tenant_id == tenant_id)
    )


def redacted_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The stored changes with secret-named fields masked again (entries are redacted on write;
    this guards rows written some other way)."""
    out = _jsonable(changes)
    return out if isinstance(out, dict) else {}
