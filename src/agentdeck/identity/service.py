"""Tenant settings and the lookups other domains use (agent quota, tenant by slug).

Logins and tokens live in ``auth_service``, users in ``users_service``, API keys in
``keys_service``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck import crud
from agentdeck.errors import invalid, not_found
from agentdeck.identity.hooks import tenant_created
from agentdeck.identity.models import ApiKey, Membership, Tenant, User
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.identity.schemas import TENANT_SLUG_PATTERN, TenantUpdate

_SLUG = re.compile(TENANT_SLUG_PATTERN)
_T = TypeVar("_T")
_IN_CHUNK = 1000  # ids per IN list


def tenant_snapshot(tenant: Tenant) -> dict[str, object]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "agent_quota_per_user": tenant.agent_quota_per_user,
        "retention_days": tenant.retention_days,
        "logs_retention_days": tenant.logs_retention_days,
    }


async def get_tenant(session: AsyncSession, *, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise not_found("tenant", tenant_id)
    return tenant


async def update_tenant(
    session: AsyncSession, *, actor: Principal, tenant_id: uuid.UUID, data: TenantUpdate
) -> Tenant:
    """Change the caller's tenant; only the fields sent are changed."""
    tenant = await get_tenant(session, tenant_id=tenant_id)
    before = tenant_snapshot(tenant)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(tenant, name, value)
    if tenant_snapshot(tenant) != before:
        await crud.save(
            session, actor=actor, row=tenant, kind="tenant", before=before, snapshot=tenant_snapshot
        )
    return tenant


async def effective_agent_quota(session: AsyncSession, tenant_id: uuid.UUID, default: int) -> int:
    """Agents each user may own in the tenant: its own setting, else the server default."""
    quota = await session.scalar(select(Tenant.agent_quota_per_user).where(Tenant.id == tenant_id))
    return default if quota is None else quota


async def effective_retention_days(
    session: AsyncSession, tenant_id: uuid.UUID, default: int
) -> int:
    """Days the tenant's metric samples are kept: its own setting, else the server default."""
    days = await session.scalar(select(Tenant.retention_days).where(Tenant.id == tenant_id))
    return default if days is None else days


async def retention_days_by_tenant(session: AsyncSession, default: int) -> dict[uuid.UUID, int]:
    """Every tenant's effective metrics retention in days (for the retention loop)."""
    rows = await session.execute(select(Tenant.id, Tenant.retention_days).order_by(Tenant.id))
    return {tenant_id: default if days is None else days for tenant_id, days in rows}


def retention_days_source(
    sessions: async_sessionmaker[AsyncSession], default: int
) -> Callable[[], Awaitable[dict[uuid.UUID, int]]]:
    """What the metrics retention loop calls each tick: every tenant's retention in days."""

    async def read() -> dict[uuid.UUID, int]:
        async with sessions() as session:
            return await retention_days_by_tenant(session, default)

    return read


async def effective_logs_retention_days(
    session: AsyncSession, tenant_id: uuid.UUID, default: int
) -> int:
    """Days the tenant's log lines are kept: its own setting, else the server default."""
    days = await session.scalar(select(Tenant.logs_retention_days).where(Tenant.id == tenant_id))
    return default if days is None else days


def logs_retention_lookup(
    sessions: async_sessionmaker[AsyncSession], default: int
) -> Callable[[uuid.UUID], Awaitable[int]]:
    """What log ingest calls to bound a tenant's oldest timestamp: its retention in days."""

    async def read(tenant_id: uuid.UUID) -> int:
        async with sessions() as session:
            return await effective_logs_retention_days(session, tenant_id, default)

    return read


def logs_retention_days_source(
    sessions: async_sessionmaker[AsyncSession], default: int
) -> Callable[[], Awaitable[dict[uuid.UUID, int]]]:
    """What the log retention loop calls each tick: every tenant's log retention in days."""

    async def read() -> dict[uuid.UUID, int]:
        async with sessions() as session:
            rows = await session.execute(
                select(Tenant.id, Tenant.logs_retention_days).order_by(Tenant.id)
            )
            return {tenant_id: default if days is None else days for tenant_id, days in rows}

    return read


def check_tenant_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise invalid(
            "validation-error",
            ["tenant"],
            f"tenant slug {slug!r} must be a DNS label: 1–63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
        )
    return slug


async def tenant_by_slug(session: AsyncSession, *, slug: str) -> Tenant | None:
    tenant: Tenant | None = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    return tenant


async def ensure_tenant(
    session: AsyncSession, *, slug: str, actor_name: str = "cli"
) -> tuple[Tenant, bool]:
    """The tenant with this slug, created (and audited) when missing; ``(tenant, created)``."""
    check_tenant_slug(slug)
    tenant = await tenant_by_slug(session, slug=slug)
    if tenant is not None:
        return tenant, False
    tenant = Tenant(id=uuid.uuid4(), slug=slug, name=slug.replace("-", " ").title())
    await crud.insert(
        session,
        actor=system_principal(tenant.id, actor_name),
        row=tenant,
        kind="tenant",
        snapshot=tenant_snapshot,
    )
    await tenant_created(session, tenant.id)
    return tenant, True


def system_principal(tenant_id: uuid.UUID, name: str = "cli") -> Principal:
    """The actor for changes made by the server itself or the command line."""
    return Principal(kind="system", id=None, name=name, tenant_id=tenant_id, role=Role.admin)


@dataclass(frozen=True, slots=True)
class Access:
    """What a principal may do now: ``principal`` with its current role, or None and why
    (``reason``) when its access was withdrawn."""

    principal: Principal | None
    reason: str = ""


async def current_access(
    session: AsyncSession, principals: Collection[Principal]
) -> dict[Principal, Access]:
    """Check principals that authenticated earlier against the database as it is now: a
    revoked or expired API key, a deactivated user or one no longer a member of the tenant has
    lost access; a member whose role changed comes back with the new role. A few queries for
    any number of principals (the WebSocket hub re-checks its open connections with it)."""
    now = datetime.now(UTC)
    result: dict[Principal, Access] = {}
    key_ids = {p.id for p in principals if p.kind == "api_key" and p.id is not None}
    user_ids = {p.id for p in principals if p.kind == "user" and p.id is not None}
    keys: dict[uuid.UUID, ApiKey] = {}
    for ids in _chunks(key_ids):
        keys.update(
            (k.id, k) for k in await session.scalars(select(ApiKey).where(ApiKey.id.in_(ids)))
        )
    active: dict[uuid.UUID, bool] = {}
    roles: dict[tuple[uuid.UUID, uuid.UUID], Role] = {}
    for ids in _chunks(user_ids):
        rows = await session.execute(select(User.id, User.is_active).where(User.id.in_(ids)))
        active.update((user_id, is_active) for user_id, is_active in rows)
        members = await session.execute(
            select(Membership.user_id, Membership.tenant_id, Membership.role).where(
                Membership.user_id.in_(ids)
            )
        )
        roles.update(((user_id, tenant_id), role) for user_id, tenant_id, role in members)
    for principal in principals:
        if principal.kind == "api_key":
            key = keys.get(principal.id) if principal.id is not None else None
            if key is None or key.tenant_id != principal.tenant_id:
                result[principal] = Access(None, "the API key no longer exists")
            elif key.revoked_at is not None:
                result[principal] = Access(None, "the API key was revoked")
            elif key.expires_at is not None and key.expires_at <= now:
                result[principal] = Access(None, "the API key has expired")
            else:
                result[principal] = Access(principal)
        elif principal.kind == "user" and principal.id is not None:
            role = roles.get((principal.id, principal.tenant_id))
            if not active.get(principal.id, False):
                result[principal] = Access(None, "the account was deactivated")
            elif role is None:
                result[principal] = Access(None, "the account is no longer a member of the tenant")
            elif role != principal.role:
                result[principal] = Access(_with_role(principal, role))
            else:
                result[principal] = Access(principal)
        else:
            result[principal] = Access(principal)  # the server itself
    return result


def _with_role(principal: Principal, role: Role) -> Principal:
    return Principal(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        tenant_id=principal.tenant_id,
        role=role,
    )


def _chunks(items: Collection[_T]) -> Iterator[Sequence[_T]]:
    it = iter(items)
    while chunk := list(islice(it, _IN_CHUNK)):
        yield chunk
