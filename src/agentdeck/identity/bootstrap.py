"""First start: a default tenant and an admin whose password is printed once."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.db.locks import StartupLock, hold
from agentdeck.identity.hooks import tenant_created
from agentdeck.identity.models import Membership, Tenant, User
from agentdeck.identity.roles import Role
from agentdeck.identity.security import hash_password

DEFAULT_TENANT_SLUG = "default"


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    username: str
    password: str


async def default_tenant(session: AsyncSession) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEFAULT_TENANT_SLUG))
    if tenant is None:
        tenant = Tenant(slug=DEFAULT_TENANT_SLUG, name="Default")
        session.add(tenant)
        await session.flush()
        await tenant_created(session, tenant.id)
    return tenant


async def first_admin_id(session: AsyncSession, tenant_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant's earliest admin (the owner of seeded agents), or None."""
    return await session.scalar(
        select(Membership.user_id)
        .where(Membership.tenant_id == tenant_id, Membership.role == Role.admin)
        .order_by(Membership.created_at)
        .limit(1)
    )


async def ensure_first_admin(session: AsyncSession, username: str = "admin") -> FirstAdmin | None:
    """Create the default tenant and an admin when there are no users yet.

    Replicas starting together take turns (a lock held until the caller's commit), so exactly
    one of them creates the admin and the others see it.
    """
    await hold(await session.connection(), StartupLock.bootstrap)
    if await session.scalar(select(func.count()).select_from(User)):
        return None
    tenant = await default_tenant(session)
    password = secrets.token_urlsafe(12)
    user = User(
        username=username,
        email=f"{username}@localhost",
        display_name="Administrator",
        password_hash=hash_password(password),
    )
    session.add(user)
    await session.flush()
    session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=Role.admin))
    await session.flush()
    return FirstAdmin(username=username, password=password)
