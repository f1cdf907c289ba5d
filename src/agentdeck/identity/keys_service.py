"""API keys of a tenant: list, create (the plaintext is returned once), read, revoke."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.service import record
from agentdeck.errors import not_found
from agentdeck.identity.models import ApiKey
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.identity.schemas import ApiKeyCreate
from agentdeck.identity.security import new_api_key
from agentdeck.pagination import fetch_page


def key_snapshot(key: ApiKey) -> dict[str, Any]:
    """What the audit log records of a key (never its secret or hash)."""
    snapshot: dict[str, Any] = {
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }
    if key.agent_id is not None:  # an agent's telemetry key (made by the fleet)
        snapshot["agent_id"] = key.agent_id
    return snapshot


async def list_keys(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    role: Role | None = None,
    revoked: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    descending: bool = True,
) -> tuple[list[ApiKey], str | None]:
    """One page of the tenant's keys by creation time (newest first by default)."""
    stmt = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if role is not None:
        stmt = stmt.where(ApiKey.role == role)
    if revoked is True:
        stmt = stmt.where(ApiKey.revoked_at.is_not(None))
    elif revoked is False:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    if q:
        stmt = stmt.where(ApiKey.name.icontains(q, autoescape=True))
    return await fetch_page(
        session,
        stmt,
        order=(ApiKey.created_at, ApiKey.id),
        cursor=cursor,
        limit=limit,
        descending=descending,
    )


async def get_key(
    session: AsyncSession, *, tenant_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    key: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id)
    )
    return key


async def create_key(
    session: AsyncSession, *, actor: Principal, tenant_id: uuid.UUID, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    """A new key; returns the row and the plaintext, which is not stored anywhere."""
    expires_at = data.expires_at
    if data.expires_in_days is not None:
        expires_at = datetime.now(UTC) + timedelta(days=data.expires_in_days)
    secret = new_api_key()
    key = ApiKey(
        tenant_id=tenant_id,
        name=data.name,
        prefix=secret.prefix,
        key_hash=secret.key_hash,
        role=data.role,
        created_by=actor.user_id,
        expires_at=expires_at,
    )
    return await add_key(session, actor=actor, key=key), secret.plaintext


async def add_key(session: AsyncSession, *, actor: Principal, key: ApiKey) -> ApiKey:
    """Insert a new key row and audit it as ``apikey.create`` (hand-made and fleet-made keys
    alike); flushes, never commits."""
    session.add(key)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="apikey.create",
        resource_type="api_key",
        resource_id=key.id,
        after=key_snapshot(key),
    )
    return key


async def revoke_key(
    session: AsyncSession, *, actor: Principal, tenant_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey:
    """Revoke a key; revoking an already revoked key changes nothing."""
    key = await get_key(session, tenant_id=tenant_id, key_id=key_id)
    if key is None:
        raise not_found("API key", key_id)
    if key.revoked_at is not None:
        return key
    await revoke_row(session, actor=actor, key=key)
    return key


async def revoke_row(session: AsyncSession, *, actor: Principal, key: ApiKey) -> None:
    """Mark a live key revoked and audit it (the callers announce it to the principal caches)."""
    before = key_snapshot(key)
    key.revoked_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="apikey.revoke",
        resource_type="api_key",
        resource_id=key.id,
        before=before,
        after=key_snapshot(key),
    )
