"""Changing users: fields and audit, passwords and deactivation ending sessions, last-admin
protection, bad input writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import Membership, RefreshToken
from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.identity.helpers import (
    REFRESH,
    USERS,
    audit_actions,
    counts,
    create,
    field_locs,
    login,
    post_with_cookie,
    problem,
    refresh_cookie,
)


async def test_update_user_fields_and_audit(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    user = await create(client, admin, "dora")
    response = await client.patch(
        f"{USERS}/{user['id']}",
        json={"display_name": "Dora M.", "email": "dora@new.example", "role": "developer"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["display_name"], body["email"], body["role"]) == (
        "Dora M.",
        "dora@new.example",
        "developer",
    )
    assert await audit_actions(session, user["id"]) == ["user.create", "user.update"]
    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.update", AuditEntry.resource_id == user["id"]
        )
    )
    assert entry is not None
    assert entry.changes["before"] == {
        "display_name": "Dora",
        "email": "dora@example.test",
        "role": "viewer",
    }

    # a no-op change writes no audit entry
    before = await counts(session)
    same = await client.patch(
        f"{USERS}/{user['id']}", json={"display_name": "Dora M."}, headers=admin.headers
    )
    assert same.status_code == 200
    assert await counts(session) == before


async def test_admin_sets_a_password_and_ends_the_users_sessions(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    target = await factory.user(Role.viewer, tenant)
    cookie = refresh_cookie(await login(client, target.username or ""))
    response = await client.patch(
        f"{USERS}/{target.user_id}", json={"password": "reset by the admin"}, headers=admin.headers
    )
    assert response.status_code == 200
    problem(await login(client, target.username or ""), 401, "invalid-credentials")
    assert (await login(client, target.username or "", "reset by the admin")).status_code == 200
    problem(await post_with_cookie(client, REFRESH, cookie), 401, "invalid-refresh-token")
    await session.commit()
    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.update", AuditEntry.resource_id == str(target.user_id)
        )
    )
    assert entry is not None
    assert entry.changes["after"] == {"password": "[redacted]"}


async def test_deactivating_a_user_revokes_their_refresh_tokens_and_blocks_them(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    target = await factory.user(Role.developer, tenant)
    cookie = refresh_cookie(await login(client, target.username or ""))
    response = await client.patch(
        f"{USERS}/{target.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    await session.commit()
    tokens = list(
        await session.scalars(select(RefreshToken).where(RefreshToken.user_id == target.user_id))
    )
    assert tokens and all(t.revoked_at is not None for t in tokens)
    problem(await post_with_cookie(client, REFRESH, cookie), 401, "invalid-refresh-token")
    problem(await client.get("/api/v1/auth/me", headers=target.headers), 401, "unauthorized")
    problem(await login(client, target.username or ""), 401, "invalid-credentials")

    reactivated = await client.patch(
        f"{USERS}/{target.user_id}", json={"is_active": True}, headers=admin.headers
    )
    assert reactivated.status_code == 200
    assert (await login(client, target.username or "")).status_code == 200


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    before = await counts(session)
    for change, field in (({"role": "developer"}, "role"), ({"is_active": False}, "is_active")):
        response = await client.patch(
            f"{USERS}/{admin.user_id}", json=change, headers=admin.headers
        )
        body = problem(response, 409, "last-admin")
        assert "last active admin" in body["detail"]
        assert field_locs(body) == [["body", field]]
    assert await counts(session) == before

    # an inactive second admin does not count; an active one does
    other = await factory.user(Role.admin, tenant, active=False)
    response = await client.patch(
        f"{USERS}/{admin.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    problem(response, 409, "last-admin")
    activated = await client.patch(
        f"{USERS}/{other.user_id}", json={"is_active": True}, headers=admin.headers
    )
    assert activated.status_code == 200
    demoted = await client.patch(
        f"{USERS}/{admin.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
    # now other is the last one
    response = await client.patch(
        f"{USERS}/{other.user_id}", json={"is_active": False}, headers=other.headers
    )
    problem(response, 409, "last-admin")


async def test_deactivating_the_last_admin_of_another_tenant_is_refused(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    here = await factory.tenant()
    there = await factory.tenant()
    admin = await factory.user(Role.admin, here)
    shared = await factory.user(Role.viewer, here)
    session.add(Membership(tenant_id=there.id, user_id=shared.user_id, role=Role.admin))
    await session.commit()
    response = await client.patch(
        f"{USERS}/{shared.user_id}", json={"is_active": False}, headers=admin.headers
    )
    body = problem(response, 409, "last-admin")
    assert "another tenant" in body["detail"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"role": None}, "role"),
        ({"email": None}, "email"),
        ({"is_active": None}, "is_active"),
        ({"password": "short"}, "password"),
        ({"email": "nope"}, "email"),
        ({"username": "renamed"}, "username"),
    ],
)
async def test_update_bad_input_writes_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    change: dict[str, Any],
    loc: str,
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    target = await factory.user(Role.viewer, tenant)
    before = await counts(session)
    response = await client.patch(f"{USERS}/{target.user_id}", json=change, headers=admin.headers)
    body = problem(response, 422, "validation-error")
    assert ["body", loc] in field_locs(body)
    assert await counts(session) == before


async def test_update_to_a_taken_email_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    target = await factory.user(Role.viewer, tenant)
    elsewhere = await factory.user(Role.viewer)
    before = await counts(session)
    response = await client.patch(
        f"{USERS}/{target.user_id}",
        json={"email": f"{elsewhere.username}@example.test"},
        headers=admin.headers,
    )
    assert field_locs(problem(response, 409, "conflict")) == [["body", "email"]]
    assert await counts(session) == before
