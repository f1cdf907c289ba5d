"""Small helpers shared by the identity tests."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import ApiKey, Membership, RefreshToken, Tenant, User
from agentdeck.identity.security import sha256_hex
from tests.conftest import TEST_PASSWORD, Caller

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
PASSWORD = "/api/v1/auth/password"
USERS = "/api/v1/users"
KEYS = "/api/v1/api-keys"
TENANT = "/api/v1/tenant"
COOKIE = "agentdeck_refresh"

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


async def login(
    client: httpx.AsyncClient,
    username: str,
    password: str = TEST_PASSWORD,
    tenant: str | None = None,
) -> httpx.Response:
    form = {"username": username, "password": password}
    if tenant is not None:
        form["tenant"] = tenant
    response = await client.post(TOKEN, data=form)
    client.cookies.clear()  # tests hand the refresh cookie over explicitly
    return response


def refresh_cookie(response: httpx.Response) -> str:
    value = response.cookies.get(COOKIE)
    assert value, f"no {COOKIE} cookie in {response.headers.get_list('set-cookie')}"
    return value


async def post_with_cookie(
    client: httpx.AsyncClient, path: str, cookie: str | None, **kwargs: Any
) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}) or {})
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    response = await client.post(path, headers=headers, **kwargs)
    client.cookies.clear()
    return response


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per identity table and the audit log (to prove nothing was written)."""
    await session.commit()  # end any open read so the next query sees the app's commits
    out = {}
    for model in (Tenant, User, Membership, ApiKey, RefreshToken, AuditEntry):
        n = await session.scalar(select(func.count()).select_from(model))
        out[model.__tablename__] = int(n or 0)
    return out


async def audit_actions(session: AsyncSession, resource_id: object) -> list[str]:
    await session.commit()
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.resource_id == str(resource_id))
        .order_by(AuditEntry.at)
    )
    return list(rows)


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """Assert a problem+json answer of this status and type; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{kind}", body
    return body


def field_locs(body: dict[str, Any]) -> list[list[str | int]]:
    return [e["loc"] for e in body.get("errors") or []]


USER_PASSWORD = "a long enough password"  # for users made through the API


def new_user(username: str, **fields: Any) -> dict[str, Any]:
    return {
        "username": username,
        "email": f"{username}@example.test",
        "display_name": username.title(),
        "password": USER_PASSWORD,
        **fields,
    }


async def create(
    client: httpx.AsyncClient, admin: Caller, username: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(USERS, json=new_user(username, **fields), headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def age_family(session: AsyncSession, token: str, seconds: float) -> None:
    """Move a family's rotation ``seconds`` into the past (instead of waiting that long)."""
    await session.commit()
    family = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == sha256_hex(token))
    )
    rows = list(await session.scalars(select(RefreshToken).where(RefreshToken.family_id == family)))
    for row in rows:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id)
            .values(
                created_at=row.created_at - timedelta(seconds=seconds),
                used_at=row.used_at - timedelta(seconds=seconds) if row.used_at else None,
            )
        )
    await session.commit()
