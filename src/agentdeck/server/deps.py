"""Annotated dependencies: the session, the caller, and the one authorization dependency.

``requires(role, limit)`` authenticates the caller, checks the role, applies the rate limit for
the call's class and returns the ``Principal``. Every API route depends on it (or is listed as
public in ``PUBLIC_ROUTES``); a test walks the routes to keep it so.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.bus.base import Bus
from agentdeck.errors import QuotaExceeded, Unauthenticated, Unavailable
from agentdeck.fleet.runtime import Fleet
from agentdeck.identity.models import ApiKey, Membership, User
from agentdeck.identity.principal import Principal
from agentdeck.identity.principal_cache import credential_digest
from agentdeck.identity.roles import Role
from agentdeck.identity.security import (
    API_KEY_PREFIX,
    InvalidToken,
    decode_access_token,
    sha256_hex,
)
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.logstore.base import LogStore
from agentdeck.ratelimit import LimitClass
from agentdeck.secret_key import secret_key
from agentdeck.server.errors import ProblemError
from agentdeck.server.proxies import trusted_proxies
from agentdeck.server.state import AppState
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Store

POLICY_ATTR = "__agentdeck_policy__"
LAST_USED_RESOLUTION = timedelta(seconds=60)

# Routes reachable without credentials: (method, path template).
PUBLIC_ROUTES: set[tuple[str, str]] = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/info"),
    # authenticated by its X-Hub-Signature-256 (the tenant's secret), not by a credential
    ("POST", "/api/v1/webhooks/github/{tenant_slug}"),
    # authenticated by an operator token made from the server's secret key (agentdeck backup)
    ("POST", "/api/v1/ops/backup"),
}


# The dependencies below are coroutines on purpose: FastAPI runs a plain ``def`` dependency in
# the thread pool, a thread hand-off per dependency per request.


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.deck
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_store(state: StateDep) -> Store:
    return state.store


StoreDep = Annotated[Store, Depends(get_store)]


async def get_log_store(state: StateDep) -> LogStore:
    return state.log_store


LogStoreDep = Annotated[LogStore, Depends(get_log_store)]


async def get_log_ingestor(state: StateDep) -> LogIngestor:
    return state.logs


LogIngestorDep = Annotated[LogIngestor, Depends(get_log_ingestor)]


async def get_bus(state: StateDep) -> Bus:
    return state.bus


BusDep = Annotated[Bus, Depends(get_bus)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """A session per request. Services flush; routers commit when they mutate."""
    async with state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_fleet(state: StateDep) -> Fleet:
    """The fleet runtime (its driver); 503 in a process that runs none."""
    if state.fleet is None:
        raise Unavailable("the fleet runtime is not running in this process", retry_after=5)
    return state.fleet


FleetDep = Annotated[Fleet, Depends(get_fleet)]


async def get_optional_fleet(state: StateDep) -> Fleet | None:
    return state.fleet


OptionalFleetDep = Annotated[Fleet | None, Depends(get_optional_fleet)]


# One answer for every credential that does not authenticate (malformed, forged, expired,
# revoked, unknown, or its user gone): which of these it was is not the caller's to learn.
# Different texts would tell an outsider, for one, whether a forged signature checked out.
BAD_CREDENTIAL = "the credential is invalid, expired or revoked"


def _unauthorized(detail: str = BAD_CREDENTIAL) -> Unauthenticated:
    # A domain error: the WebSocket hub authenticates through the same functions.
    return Unauthenticated(detail, headers={"WWW-Authenticate": "Bearer"})


def _basic_api_key(value: str) -> str | None:
    """The API key of ``Basic base64(user:adk_...)`` (log shippers such as Promtail and Fluent
    Bit send credentials this way; the user part is not read), else None."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    password = decoded.partition(":")[2].strip()
    return password if password.startswith(API_KEY_PREFIX) else None


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            key = _basic_api_key(value)
            if key is not None:
                return key
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorized(
                "the Authorization header must be 'Bearer <token>' (or Basic with an API key "
                "as the password)"
            )
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


async def _principal_from_api_key(
    session: AsyncSession, plaintext: str
) -> tuple[Principal, datetime | None]:
    """The key's principal and its expiry (an agent's telemetry key names its agent)."""
    row = (
        await session.execute(
            select(ApiKey, Agent.name)
            .outerjoin(Agent, Agent.id == ApiKey.agent_id)
            .where(ApiKey.key_hash == sha256_hex(plaintext))
        )
    ).first()
    key, agent_name = (row[0], row[1]) if row is not None else (None, None)
    now = datetime.now(UTC)
    if (
        key is None
        or key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= now)
        or (key.agent_id is not None and agent_name is None)
    ):
        raise _unauthorized()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        await session.commit()
    principal = Principal(
        kind="api_key",
        id=key.id,
        name=key.name,
        tenant_id=key.tenant_id,
        role=key.role,
        agent_id=key.agent_id,
        agent=agent_name,
    )
    return principal, key.expires_at


async def _principal_from_jwt(
    session: AsyncSession, token: str, secret: str
) -> tuple[Principal, datetime | None]:
    """The token's user in its tenant (with the current role) and the token's expiry."""
    try:
        claims = decode_access_token(token, secret=secret)
    except InvalidToken as exc:
        raise _unauthorized() from exc
    row = (
        await session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(User.id == claims.user_id, Membership.tenant_id == claims.tenant_id)
        )
    ).first()
    if row is None or not row[0].is_active:
        raise _unauthorized()
    user, membership = row
    principal = Principal(
        kind="user",
        id=user.id,
        name=user.username,
        tenant_id=membership.tenant_id,
        role=membership.role,  # the current role, not the one in the token
    )
    return principal, claims.expires_at


async def principal_from_credential(
    state: AppState, session: AsyncSession, credential: str
) -> Principal:
    """The principal of a JWT or an ``adk_`` API key; raises Unauthenticated (401).

    API keys come from a short-lived cache when known (``auth.principal_cache_seconds``), so a
    busy key costs no database round trip; see ``identity.principal_cache``. Access tokens are
    checked against the database every time (the user's current role and active flag).
    """
    if not credential.startswith(API_KEY_PREFIX):
        principal, _ = await _principal_from_jwt(session, credential, secret_key(state.settings))
        return principal
    cache = state.principals
    digest = credential_digest(credential)
    cached = cache.get(digest)
    if cached is not None:
        return cached
    generation = cache.generation
    principal, expires_at = await _principal_from_api_key(session, credential)
    cache.put(digest, principal, generation=generation, expires_at=expires_at)
    return principal


async def principal_until(
    state: AppState, session: AsyncSession, credential: str
) -> tuple[Principal, datetime | None]:
    """The principal of a JWT or an API key and when the credential expires (None: never),
    always read from the database (a WebSocket authenticates once and then keeps both). An
    agent's telemetry key opens no WebSocket: it may only send telemetry."""
    if credential.startswith(API_KEY_PREFIX):
        principal, until = await _principal_from_api_key(session, credential)
        if principal.agent_id is not None:
            raise _unauthorized()
        return principal, until
    return await _principal_from_jwt(session, credential, secret_key(state.settings))


async def authenticate(request: Request, state: AppState) -> Principal:
    """The caller. A cached API key needs no database session; otherwise a short one of its
    own (closed before the route runs, so the request never holds two connections)."""
    credential = _credential(request)
    if credential is None:
        raise _unauthorized("authentication required: send a Bearer token or an X-API-Key")
    principal = None
    if credential.startswith(API_KEY_PREFIX):
        principal = state.principals.get(credential_digest(credential))
    if principal is None:
        async with state.sessions() as session:
            principal = await principal_from_credential(state, session, credential)
    request.state.principal = principal
    return principal


async def access_changed(state: AppState, subject: str | None = None) -> None:
    """Call after committing a change that may withdraw access (a revoked key, a deactivated
    user, a changed role): cached principals are dropped here and on every other replica, and
    the WebSocket connections of ``subject`` (``principal_key``; None: anyone) are re-checked."""
    await state.invalidations.announce(subject)


def requires(
    role: Role, limit: LimitClass | None = None, *, agent_keys: bool = False
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency factory: authenticate, require at least ``role``, apply the rate limit.

    ``limit`` defaults to ``read`` for safe methods and ``write`` for the others. An agent's
    telemetry key (``Principal.agent_id``) is refused (403) unless ``agent_keys``: only the
    telemetry ingest routes take it, and they keep it to its agent's series and lines.
    """

    # No session here: a route that needs one asks for it (SessionDep), one that does not
    # (a cache hit on a cheap route) costs no session at all.
    async def dependency(request: Request, state: StateDep) -> Principal:
        principal = await authenticate(request, state)
        if principal.agent_id is not None and not agent_keys:
            raise ProblemError(
                403,
                "agent-key-scope",
                "this is an agent's telemetry key: it may only send that agent's metrics and logs",
            )
        if not principal.role.allows(role):
            raise ProblemError(
                403,
                "forbidden",
                f"this action needs the {role.value} role; you have {principal.role.value}",
            )
        cls = limit or (
            LimitClass.read if request.method in ("GET", "HEAD", "OPTIONS") else LimitClass.write
        )
        try:
            verdict = await state.limiter.enforce(cls, principal.rate_key)
        except QuotaExceeded:  # not an Unavailable (limits that could not be checked)
            state.metrics.rate_limited.labels(limit=cls.value).inc()
            raise
        request.state.rate_limit_headers = verdict.headers() if verdict.limit else {}
        return principal

    setattr(dependency, POLICY_ATTR, role)
    return dependency


Viewer = Annotated[Principal, Depends(requires(Role.viewer))]
Developer = Annotated[Principal, Depends(requires(Role.developer))]
Admin = Annotated[Principal, Depends(requires(Role.admin))]


def client_ip(request: Request, trusted: list[str]) -> str | None:
    """The client's address (behind trusted proxies, see ``server.proxies``)."""
    peer = request.client.host if request.client else None
    return trusted_proxies(tuple(trusted)).client(peer, request.headers.get("x-forwarded-for"))


def reached_over_https(request: Request, trusted: list[str]) -> bool:
    """Whether the client reached the server over HTTPS: the request's own scheme (which an
    ASGI server applying proxy headers has set already), or the ``X-Forwarded-Proto`` of a
    trusted proxy that terminated TLS in front of it."""
    if request.url.scheme in ("https", "wss"):
        return True
    peer = request.client.host if request.client else None
    proto = trusted_proxies(tuple(trusted)).forwarded_value(
        peer, request.headers.get("x-forwarded-proto")
    )
    return proto is not None and proto.lower() == "https"


def parse_uuid(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ProblemError(404, "not-found", f"{field} {value!r} was not found") from exc
