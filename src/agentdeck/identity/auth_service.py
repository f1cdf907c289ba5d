"""Logins, rotating refresh tokens (with reuse detection), logout and password changes."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.service import record
from agentdeck.errors import DomainError, Forbidden, QuotaExceeded, Unauthenticated, malformed
from agentdeck.identity.models import Membership, RefreshToken, Tenant, User
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.identity.security import (
    create_access_token,
    dummy_verify,
    hash_password,
    new_opaque_token,
    sha256_hex,
    successor_token,
    verify_password,
)
from agentdeck.ratelimit import LimitClass, RateLimiter
from agentdeck.settings import AuthSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """What issuing tokens needs from the settings."""

    secret: str
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    reuse_grace_seconds: float = 0.0

    @classmethod
    def from_settings(cls, auth: AuthSettings, secret: str) -> TokenSettings:
        return cls(
            secret=secret,
            access_ttl_seconds=auth.access_token_ttl_seconds,
            refresh_ttl_seconds=auth.refresh_token_ttl_seconds,
            reuse_grace_seconds=auth.refresh_reuse_grace_seconds,
        )


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: User
    tenant: Tenant
    role: Role


def invalid_credentials() -> DomainError:
    return Unauthenticated(
        kind="invalid-credentials",
        detail="the username or password is wrong",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_refresh_token(detail: str) -> DomainError:
    return Unauthenticated(kind="invalid-refresh-token", detail=detail)


def user_principal(user: User, tenant_id: uuid.UUID, role: Role) -> Principal:
    return Principal(kind="user", id=user.id, name=user.username, tenant_id=tenant_id, role=role)


async def check_password(password: str, password_hash: str) -> bool:
    """Verify off the event loop (argon2 is deliberately slow)."""
    return await asyncio.to_thread(verify_password, password, password_hash)


async def new_password_hash(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def _failure_key(login: str, user: User | None, client_ip: str | None) -> str:
    """The bucket that counts failed password checks from ``client_ip``: the account's when
    ``login`` names one (its username and its email count together), else the identifier's
    as typed (so an unknown name is limited just the same, and answers alike)."""
    who = f"user:{user.id}" if user is not None else f"login:{login.strip().lower()}"
    return f"{who}|{client_ip or '-'}"


async def _throttle(limiter: RateLimiter, key: str, what: str) -> None:
    verdict = await limiter.test(LimitClass.login_failure, key)
    if not verdict.allowed:
        raise QuotaExceeded(
            f"too many failed {what} for this account from your address; "
            f"retry in {max(verdict.reset_seconds, 1)} s",
            headers=verdict.headers(),
        )


async def _find_user(session: AsyncSession, login: str) -> User | None:
    login = login.strip().lower()
    column = User.email if "@" in login else User.username
    user: User | None = await session.scalar(select(User).where(column == login))
    return user


async def _membership(
    session: AsyncSession, user_id: uuid.UUID, tenant_slug: str | None
) -> tuple[Membership, Tenant] | None:
    """The membership to log in with: the named tenant's, else the user's first."""
    stmt = (
        select(Membership, Tenant)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Membership.id)
        .limit(1)
    )
    if tenant_slug:
        stmt = stmt.where(Tenant.slug == tenant_slug.strip().lower())
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def _issue(
    session: AsyncSession,
    *,
    user: User,
    tenant: Tenant,
    role: Role,
    family_id: uuid.UUID,
    tokens: TokenSettings,
    refresh: str | None = None,
) -> IssuedTokens:
    now = datetime.now(UTC)
    refresh = refresh or new_opaque_token()
    session.add(
        RefreshToken(
            family_id=family_id,
            tenant_id=tenant.id,
            user_id=user.id,
            token_hash=sha256_hex(refresh),
            created_at=now,
            expires_at=now + timedelta(seconds=tokens.refresh_ttl_seconds),
        )
    )
    await session.flush()
    return _answer(user, tenant, role, tokens, refresh, tokens.refresh_ttl_seconds)


def _answer(
    user: User, tenant: Tenant, role: Role, tokens: TokenSettings, refresh: str, refresh_ttl: int
) -> IssuedTokens:
    """A fresh access token beside the refresh token ``refresh`` (valid ``refresh_ttl`` s)."""
    access, _ = create_access_token(
        user_id=user.id,
        tenant_id=tenant.id,
        role=role,
        secret=tokens.secret,
        ttl_seconds=tokens.access_ttl_seconds,
    )
    return IssuedTokens(
        access_token=access,
        expires_in=tokens.access_ttl_seconds,
        refresh_token=refresh,
        refresh_expires_in=refresh_ttl,
        user=user,
        tenant=tenant,
        role=role,
    )


async def login(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    tenant_slug: str | None,
    client_ip: str | None,
    limiter: RateLimiter,
    tokens: TokenSettings,
) -> IssuedTokens:
    """Check the password and open a new refresh-token family.

    Unknown users, wrong passwords, inactive users and a tenant the user is not a member of all
    give the same problem and cost the same hashing time. Failures count per account (its
    username and its email share one limit; an unknown login has its own) and client address;
    once over the limit, even the right password is refused with 429.
    """
    user = await _find_user(session, username)
    key = _failure_key(username, user, client_ip)
    await _throttle(limiter, key, "logins")
    if user is None:
        await asyncio.to_thread(dummy_verify)
        ok = False
    else:
        ok = await check_password(password, user.password_hash) and user.is_active
    found = await _membership(session, user.id, tenant_slug) if ok and user else None
    if user is None or found is None:
        await limiter.hit(LimitClass.login_failure, key)
        log.info("login_failed", username=username[:64], client=client_ip)
        raise invalid_credentials()
    membership, tenant = found
    user.last_login = datetime.now(UTC)
    issued = await _issue(
        session,
        user=user,
        tenant=tenant,
        role=membership.role,
        family_id=uuid.uuid4(),
        tokens=tokens,
    )
    await record(
        session,
        actor=user_principal(user, tenant.id, membership.role),
        action="auth.login",
        resource_type="user",
        resource_id=user.id,
    )
    return issued


async def _token_row(session: AsyncSession, token: str) -> RefreshToken | None:
    row: RefreshToken | None = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(token))
    )
    return row


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def revoke_user_tokens(
    session: AsyncSession, user_id: uuid.UUID, *, keep_family: uuid.UUID | None = None
) -> None:
    """Revoke every live refresh token of a user (except one family, e.g. the caller's)."""
    stmt = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if keep_family is not None:
        stmt = stmt.where(RefreshToken.family_id != keep_family)
    await session.execute(stmt.values(revoked_at=datetime.now(UTC)))


async def refresh(
    session: AsyncSession, *, token: str | None, tokens: TokenSettings
) -> IssuedTokens:
    """Rotate: mark the presented token used and issue its successor in the same family.

    A token presented a second time means it leaked: the whole family is revoked, so every
    holder has to log in again. Except inside the reuse grace (``tokens.reuse_grace_seconds``
    after the rotation, while the successor is unused and unrevoked): two tabs refreshing at
    once, or a reload that lost the rotation's answer, get the same successor again.
    Rejections may have revoked tokens, so the caller commits before answering with the problem.
    """
    if not token:
        raise invalid_refresh_token("no refresh token was sent; log in again")
    row = await _token_row(session, token)
    now = datetime.now(UTC)
    if row is None:
        raise invalid_refresh_token("the refresh token is unknown; log in again")
    if row.revoked_at is not None:
        raise invalid_refresh_token("the refresh token was revoked; log in again")
    if row.used_at is None and row.expires_at <= now:
        raise invalid_refresh_token("the refresh token has expired; log in again")
    claimed = None
    if row.used_at is None:
        # Atomic: of two concurrent presentations only one wins; the other is a second use.
        claimed = await session.scalar(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .returning(RefreshToken.id)
        )
    successor = successor_token(token, secret=tokens.secret)
    again = None if claimed is not None else await _in_grace(session, row, successor, tokens)
    if claimed is None and again is None:
        await _reused(session, row)
        raise Unauthenticated(
            kind="refresh-token-reused",
            detail="this refresh token was already used; all sessions of this login were ended",
        )
    found = (
        await session.execute(
            select(User, Membership, Tenant)
            .join(Membership, Membership.user_id == User.id)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(User.id == row.user_id, Membership.tenant_id == row.tenant_id)
        )
    ).first()
    if found is None or not found[0].is_active:
        await revoke_family(session, row.family_id)
        raise invalid_refresh_token("this account is inactive or no longer a member")
    user, membership, tenant = found
    if again is not None:
        left = int((again.expires_at - now).total_seconds())
        return _answer(user, tenant, membership.role, tokens, successor, max(left, 1))
    return await _issue(
        session,
        user=user,
        tenant=tenant,
        role=membership.role,
        family_id=row.family_id,
        tokens=tokens,
        refresh=successor,
    )


async def _in_grace(
    session: AsyncSession, row: RefreshToken, successor: str, tokens: TokenSettings
) -> RefreshToken | None:
    """The successor of the already-used ``row`` when a second presentation is still inside
    the reuse grace: minted that recently, in the same family, neither used nor revoked."""
    if tokens.reuse_grace_seconds <= 0:
        return None
    found: RefreshToken | None = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == sha256_hex(successor))
        .execution_options(populate_existing=True)
    )
    if found is None or found.family_id != row.family_id:
        return None
    if found.used_at is not None or found.revoked_at is not None:
        return None
    age = (datetime.now(UTC) - found.created_at).total_seconds()
    return found if age <= tokens.reuse_grace_seconds else None


async def _reused(session: AsyncSession, row: RefreshToken) -> None:
    log.warning("refresh_token_reused", user_id=str(row.user_id), family=str(row.family_id))
    await _revoke_and_audit(
        session, row, action="auth.refresh_reuse", after={"family_id": row.family_id}
    )


async def _revoke_and_audit(
    session: AsyncSession,
    row: RefreshToken,
    *,
    action: str,
    after: dict[str, object] | None = None,
) -> None:
    """Revoke the token's family and audit ``action`` as its user (with their role in the
    token's tenant; viewer once that membership is gone)."""
    await revoke_family(session, row.family_id)
    user = await session.get(User, row.user_id)
    if user is None:
        return
    membership = await session.scalar(
        select(Membership).where(
            Membership.user_id == row.user_id, Membership.tenant_id == row.tenant_id
        )
    )
    await record(
        session,
        actor=user_principal(user, row.tenant_id, membership.role if membership else Role.viewer),
        action=action,
        resource_type="user",
        resource_id=user.id,
        after=after,
    )


async def logout(session: AsyncSession, *, token: str | None) -> None:
    """Revoke the family of the presented refresh token (nothing to do without one)."""
    if not token:
        return
    row = await _token_row(session, token)
    if row is None or row.revoked_at is not None:
        return
    await _revoke_and_audit(session, row, action="auth.logout")


async def family_of(
    session: AsyncSession, *, token: str | None, user_id: uuid.UUID
) -> uuid.UUID | None:
    """The refresh-token family of the caller's cookie, when it is theirs."""
    if not token:
        return None
    row = await _token_row(session, token)
    return row.family_id if row is not None and row.user_id == user_id else None


async def change_password(
    session: AsyncSession,
    *,
    actor: Principal,
    current_password: str,
    new_password: str,
    keep_family: uuid.UUID | None,
    client_ip: str | None,
    limiter: RateLimiter,
) -> None:
    """Change the caller's own password; other sessions of the user are logged out."""
    if actor.kind != "user" or actor.id is None:
        raise Forbidden("only users have passwords; API keys cannot do this")
    user = await session.get(User, actor.id)
    if user is None:
        raise Unauthenticated("this account no longer exists")
    key = _failure_key(user.username, user, client_ip)
    await _throttle(limiter, key, "password checks")
    if not await check_password(current_password, user.password_hash):
        await limiter.hit(LimitClass.login_failure, key)
        raise malformed(
            "invalid-credentials",
            ["body", "current_password"],
            "the current password is wrong",
        )
    user.password_hash = await new_password_hash(new_password)
    await session.flush()
    await revoke_user_tokens(session, user.id, keep_family=keep_family)
    await record(
        session,
        actor=actor,
        action="auth.password_change",
        resource_type="user",
        resource_id=user.id,
        before={"password": "old"},
        after={"password": "new"},
    )
