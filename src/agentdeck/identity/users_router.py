"""Users and API keys of the caller's tenant (admin only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from agentdeck.identity import keys_service, users_service
from agentdeck.identity.models import ApiKey
from agentdeck.identity.principal import principal_key
from agentdeck.identity.roles import Role
from agentdeck.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from agentdeck.identity.users_service import Member
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Admin, SessionDep, StateDep, access_changed, parse_uuid
from agentdeck.server.errors import not_found

router = APIRouter()

Sort = Literal["created_at", "-created_at"]
SortQuery = Annotated[
    Sort, Query(description="created_at (oldest first) or -created_at (newest first).")
]
CursorQuery = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _user_public(member: Member) -> UserPublic:
    user = member.user
    return UserPublic(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        role=member.membership.role,
        is_active=user.is_active,
        last_login=user.last_login,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def _key_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        created_by=key.created_by,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        agent_id=key.agent_id,
    )


# --- users ----------------------------------------------------------------------------------


@router.get("/users", response_model=Page[UserPublic], tags=["users"])
async def list_users(
    principal: Admin,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in the username, email or display name."),
    ] = None,
    role: Annotated[Role | None, Query(description="Role in this tenant.")] = None,
    active: Annotated[bool | None, Query(description="Active (true) or deactivated.")] = None,
    sort: SortQuery = "-created_at",
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> Page[UserPublic]:
    """List the tenant's users."""
    members, next_cursor = await users_service.list_users(
        session,
        tenant_id=principal.tenant_id,
        q=q,
        role=role,
        active=active,
        cursor=cursor,
        limit=limit,
        descending=sort.startswith("-"),
    )
    return Page(items=[_user_public(m) for m in members], next_cursor=next_cursor, limit=limit)


@router.post("/users", response_model=UserPublic, status_code=201, tags=["users"])
async def create_user(body: UserCreate, principal: Admin, session: SessionDep) -> UserPublic:
    """Create a user with a role in this tenant. Usernames and emails are unique server-wide."""
    member = await users_service.create_user(
        session, actor=principal, tenant_id=principal.tenant_id, data=body
    )
    await session.commit()
    return _user_public(member)


@router.get("/users/{user_id}", response_model=UserPublic, tags=["users"])
async def get_user(user_id: str, principal: Admin, session: SessionDep) -> UserPublic:
    """One user of the tenant."""
    member = await users_service.get_member(
        session, tenant_id=principal.tenant_id, user_id=parse_uuid(user_id, "user")
    )
    if member is None:
        raise not_found("user", user_id)
    return _user_public(member)


@router.patch("/users/{user_id}", response_model=UserPublic, tags=["users"])
async def update_user(
    user_id: str, body: UserUpdate, principal: Admin, session: SessionDep, state: StateDep
) -> UserPublic:
    """Change a user's display name, email, role here, active flag or password.

    Deactivating a user or setting their password ends their sessions. The last active admin
    of a tenant cannot be demoted or deactivated.
    """
    member = await users_service.update_user(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        user_id=parse_uuid(user_id, "user"),
        data=body,
    )
    await session.commit()
    # a new role or a deactivation holds from the next request, and for open WebSockets
    await access_changed(state, principal_key("user", member.user.id))
    return _user_public(member)


# --- API keys -------------------------------------------------------------------------------


@router.get("/api-keys", response_model=Page[ApiKeyPublic], tags=["api-keys"])
async def list_api_keys(
    principal: Admin,
    session: SessionDep,
    role: Annotated[Role | None, Query()] = None,
    revoked: Annotated[bool | None, Query(description="Revoked (true) or live keys.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the name.")] = None,
    sort: SortQuery = "-created_at",
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> Page[ApiKeyPublic]:
    """List the tenant's API keys (never the keys themselves)."""
    keys, next_cursor = await keys_service.list_keys(
        session,
        tenant_id=principal.tenant_id,
        role=role,
        revoked=revoked,
        q=q,
        cursor=cursor,
        limit=limit,
        descending=sort.startswith("-"),
    )
    return Page(items=[_key_public(k) for k in keys], next_cursor=next_cursor, limit=limit)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201, tags=["api-keys"])
async def create_api_key(
    body: ApiKeyCreate, principal: Admin, session: SessionDep, response: Response
) -> ApiKeyCreated:
    """Create an API key. The response carries the key once; it cannot be shown again."""
    key, plaintext = await keys_service.create_key(
        session, actor=principal, tenant_id=principal.tenant_id, data=body
    )
    await session.commit()
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated(**_key_public(key).model_dump(), key=plaintext)


@router.get("/api-keys/{key_id}", response_model=ApiKeyPublic, tags=["api-keys"])
async def get_api_key(key_id: str, principal: Admin, session: SessionDep) -> ApiKeyPublic:
    """One API key of the tenant (without the key)."""
    key = await keys_service.get_key(
        session, tenant_id=principal.tenant_id, key_id=parse_uuid(key_id, "API key")
    )
    if key is None:
        raise not_found("API key", key_id)
    return _key_public(key)


@router.delete("/api-keys/{key_id}", status_code=204, tags=["api-keys"])
async def revoke_api_key(
    key_id: str, principal: Admin, session: SessionDep, state: StateDep
) -> Response:
    """Revoke an API key; it stops working at once. Revoking twice is harmless."""
    key_uuid = parse_uuid(key_id, "API key")
    await keys_service.revoke_key(
        session, actor=principal, tenant_id=principal.tenant_id, key_id=key_uuid
    )
    await session.commit()
    # refused from the next request, on every replica; its open WebSockets are closed
    await access_changed(state, principal_key("api_key", key_uuid))
    return Response(status_code=204)
