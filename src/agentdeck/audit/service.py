"""Audit log writes (called by every mutating service) and queries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.context import request_context
from agentdeck.identity.principal import Principal

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
