"""Tenant settings and the lookups other domains use (agent quota, tenant by slug).

Logins and tokens live in ``auth_service``, users in ``users_service``, API keys in
``keys_service``.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.service import record
from agentdeck.identity.models import Tenant
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.identity.schemas import TENANT_SLUG_PATTERN, TenantUpdate
from agentdeck.server.errors import field_error, not_found

_SLUG = re.compile(TENANT_SLUG_PATTERN)


def tenant_snapshot(tenant: Tenant) -> dict[str, object]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "agent_quota_per_user": tenant.agent_quota_per_user,
        "retention_days": tenant.retention_days,
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
    after = tenant_snapshot(tenant)
    if after != before:
        await session.flush()
        await record(
            session,
            actor=actor,
            action="tenant.update",
            resource_type="tenant",
            resource_id=tenant.id,
            before=before,
            after=after,
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


def check_tenant_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise field_error(
            422,
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
    tenant = Tenant(slug=slug, name=slug.replace("-", " ").title())
    session.add(tenant)
    await session.flush()
    await record(
        session,
        actor=system_principal(tenant.id, actor_name),
        action="tenant.create",
        resource_type="tenant",
        resource_id=tenant.id,
        after=tenant_snapshot(tenant),
    )
    from agentdeck.alerting.defaults import install_default_pack

    await install_default_pack(session, tenant_id=tenant.id)
    return tenant, True


def system_principal(tenant_id: uuid.UUID, name: str = "cli") -> Principal:
    """The actor for changes made by the server itself or the command line."""
    return Principal(kind="system", id=None, name=name, tenant_id=tenant_id, role=Role.admin)
