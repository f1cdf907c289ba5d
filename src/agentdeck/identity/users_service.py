"""Users, seen through their membership in one tenant: list, create, read, change.

A user row is shared by every tenant they belong to; each query here goes through the
membership in the caller's tenant, so another tenant's user is simply not found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.service import record
from agentdeck.errors import conflict, not_found
from agentdeck.identity.auth_service import new_password_hash, revoke_user_tokens
from agentdeck.identity.models import Membership, User
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.identity.schemas import UserCreate, UserUpdate
from agentdeck.pagination import fetch_row_page


@dataclass(frozen=True, slots=True)
class Member:
    """A user together with their membership in the tenant being looked at."""

    user: User
    membership: Membership

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def created_at(self) -> datetime:
        return self.user.created_at

    def snapshot(self) -> dict[str, Any]:
        return {
            "username": self.user.username,
            "email": self.user.email,
            "display_name": self.user.display_name,
            "role": self.membership.role,
            "is_active": self.user.is_active,
        }


def _members(tenant_id: uuid.UUID) -> Select[Any]:
    # Typed loosely: the pagination helpers take one-entity selects' common type.
    stmt: Select[Any] = cast(
        "Select[Any]",
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id),
    )
    return stmt


async def list_users(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    q: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
    descending: bool = False,
) -> tuple[list[Member], str | None]:
    """One page of the tenant's users by creation time; ``q`` matches as plain text."""
    stmt = _members(tenant_id)
    if q:
        stmt = stmt.where(
            User.username.icontains(q, autoescape=True)
            | User.email.icontains(q, autoescape=True)
            | User.display_name.icontains(q, autoescape=True)
        )
    if role is not None:
        stmt = stmt.where(Membership.role == role)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    rows, next_cursor = await fetch_row_page(
        session,
        stmt,
        order=(User.created_at, User.id),
        cursor=cursor,
        limit=limit,
        descending=descending,
    )
    return [Member(row[0], row[1]) for row in rows], next_cursor


async def get_member(
    session: AsyncSession, *, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> Member | None:
    row = (await session.execute(_members(tenant_id).where(User.id == user_id))).first()
    return Member(row[0], row[1]) if row else None


async def _require_member(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> Member:
    member = await get_member(session, tenant_id=tenant_id, user_id=user_id)
    if member is None:
        raise not_found("user", user_id)
    return member


async def _check_unique(
    session: AsyncSession,
    *,
    username: str | None = None,
    email: str | None = None,
    exclude: uuid.UUID | None = None,
) -> None:
    """Usernames and emails are unique across all tenants."""
    for field, column, value in (
        ("username", User.username, username),
        ("email", User.email, email),
    ):
        if value is None:
            continue
        stmt = select(User.id).where(column == value)
        if exclude is not None:
            stmt = stmt.where(User.id != exclude)
        if await session.scalar(stmt.limit(1)) is not None:
            raise conflict(f"the {field} {value!r} is already taken", field=field)


async def _flush_unique(session: AsyncSession) -> None:
    """Flush, turning a lost race on a unique column into the same 409 as the pre-check."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict("the username or email is already taken") from exc


async def create_user(
    session: AsyncSession, *, actor: Principal, tenant_id: uuid.UUID, data: UserCreate
) -> Member:
    """A new user with a membership in the tenant."""
    await _check_unique(session, username=data.username, email=data.email)
    user = User(
        username=data.username,
        email=data.email,
        display_name=data.display_name,
        password_hash=await new_password_hash(data.password),
    )
    session.add(user)
    await _flush_unique(session)
    return await _join(session, actor, tenant_id, user, data.role, action="user.create")


async def add_member(
    session: AsyncSession, *, actor: Principal, tenant_id: uuid.UUID, user: User, role: Role
) -> Member:
    """Give an existing user a role in one more tenant (used by the CLI)."""
    existing = await get_member(session, tenant_id=tenant_id, user_id=user.id)
    if existing is not None:
        raise conflict(f"{user.username} is already a member of this tenant", field="username")
    return await _join(session, actor, tenant_id, user, role, action="user.add_membership")


async def _join(
    session: AsyncSession,
    actor: Principal,
    tenant_id: uuid.UUID,
    user: User,
    role: Role,
    *,
    action: str,
) -> Member:
    """Make ``user`` a member of the tenant with ``role``, audited as ``action``."""
    membership = Membership(tenant_id=tenant_id, user_id=user.id, role=role)
    session.add(membership)
    await session.flush()
    member = Member(user, membership)
    await record(
        session,
        actor=actor,
        action=action,
        resource_type="user",
        resource_id=user.id,
        after=member.snapshot(),
    )
    return member


async def _active_admins_besides(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.role == Role.admin,
            User.is_active.is_(True),
            User.id != user_id,
        )
    )
    return int(count or 0)


async def _guard_last_admin(
    session: AsyncSession, member: Member, tenant_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """Refuse a change that would leave a tenant without an active admin."""
    if not member.user.is_active:
        return
    demoted = (
        member.membership.role is Role.admin
        and "role" in changes
        and changes["role"] is not Role.admin
    )
    deactivated = changes.get("is_active") is False
    if demoted and not await _active_admins_besides(session, tenant_id, member.id):
        raise conflict(
            f"{member.user.username} is the last active admin of this tenant; "
            "make another user admin first",
            kind="last-admin",
            field="role",
        )
    if deactivated:
        # The user row is shared, so deactivating reaches every tenant they administer.
        admin_of = await session.scalars(
            select(Membership.tenant_id).where(
                Membership.user_id == member.id, Membership.role == Role.admin
            )
        )
        for other_tenant in admin_of:
            if not await _active_admins_besides(session, other_tenant, member.id):
                where = "this tenant" if other_tenant == tenant_id else "another tenant"
                raise conflict(
                    f"{member.user.username} is the last active admin of {where}; "
                    "make another user admin first",
                    kind="last-admin",
                    field="is_active",
                )


async def update_user(
    session: AsyncSession,
    *,
    actor: Principal,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    data: UserUpdate,
) -> Member:
    """Change a member of the tenant; only the fields sent are changed."""
    member = await _require_member(session, tenant_id, user_id)
    changes = data.model_dump(exclude_unset=True)
    await _guard_last_admin(session, member, tenant_id, changes)
    if "email" in changes and changes["email"] != member.user.email:
        await _check_unique(session, email=changes["email"], exclude=member.id)
    before = member.snapshot()
    user, membership = member.user, member.membership
    password_changed = "password" in changes
    if password_changed:
        user.password_hash = await new_password_hash(changes.pop("password"))
    for name, value in changes.items():
        if name == "role":
            membership.role = value
        else:
            setattr(user, name, value)
    after = member.snapshot()
    if after == before and not password_changed:
        return member
    await _flush_unique(session)
    if password_changed or not user.is_active:
        await revoke_user_tokens(session, user.id)
    if password_changed:
        before["password"], after["password"] = "old", "new"
    await record(
        session,
        actor=actor,
        action="user.update",
        resource_type="user",
        resource_id=user.id,
        before=before,
        after=after,
    )
    return member


async def user_by_username(session: AsyncSession, *, username: str) -> User | None:
    user: User | None = await session.scalar(select(User).where(User.username == username))
    return user
