"""Users admin: create, read, list (filters, paging), change; last-admin protection; tenant
isolation; bad input writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import Membership, RefreshToken, User
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory
from tests.identity.helpers import (
    REFRESH,
    USERS,
    audit_actions,
    counts,
    field_locs,
    login,
    post_with_cookie,
    problem,
    refresh_cookie,
)

PASSWORD = "a long enough password"


def new_user(username: str, **fields: Any) -> dict[str, Any]:
    return {
        "username": username,
        "email": f"{username}@example.test",
        "display_name": username.title(),
        "password": PASSWORD,
        **fields,
    }


async def create(
    client: httpx.AsyncClient, admin: Caller, username: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(USERS, json=new_user(username, **fields), headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_user_then_log_in(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    response = await client.post(
        USERS,
        json=new_user("ada.lovelace", email="Ada@Example.TEST", role="developer"),
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == "ada.lovelace"
    assert body["email"] == "ada@example.test"
    assert body["display_name"] == "Ada.Lovelace"
    assert body["role"] == "developer"
    assert body["is_active"] is True and body["last_login"] is None
    assert "password" not in body and "password_hash" not in body
    assert body["created_at"].endswith(("Z", "+00:00"))

    got = await client.get(f"{USERS}/{body['id']}", headers=admin.headers)
    assert got.status_code == 200 and got.json() == body

    logged_in = await login(client, "ada.lovelace", PASSWORD)
    assert logged_in.status_code == 200
    assert logged_in.json()["tenant"]["id"] == str(admin.tenant_id)
    assert logged_in.json()["role"] == "developer"

    await session.commit()
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert entry is not None and entry.actor_id == admin.user_id
    assert entry.resource_id == body["id"]
    assert entry.changes["after"]["role"] == "developer"
    assert PASSWORD not in str(entry.changes)


async def test_role_defaults_to_viewer(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(Role.admin)
    payload = new_user("quiet")
    del payload["display_name"]
    response = await client.post(USERS, json=payload, headers=admin.headers)
    assert response.status_code == 201
    assert response.json()["role"] == "viewer" and response.json()["display_name"] == ""


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "Upper"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"username": "drop'; --"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "too short"}, "password"),
        ({"role": "owner"}, "role"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"is_admin": True}, "is_admin"),
    ],
)
async def test_create_user_bad_input_writes_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    change: dict[str, Any],
    loc: str,
) -> None:
    admin = await factory.user(Role.admin)
    before = await counts(session)
    response = await client.post(
        USERS, json={**new_user("valid-name"), **change}, headers=admin.headers
    )
    body = problem(response, 422, "validation-error")
    assert ["body", loc] in field_locs(body)
    assert await counts(session) == before


async def test_missing_fields_and_malformed_json(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    before = await counts(session)
    body = problem(
        await client.post(USERS, json={}, headers=admin.headers), 422, "validation-error"
    )
    assert {"username", "email", "password"} <= {loc[-1] for loc in field_locs(body)}
    malformed = await client.post(
        USERS,
        content=b'{"username": ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    problem(malformed, 400, "malformed-json")
    assert await counts(session) == before


async def test_taken_username_or_email_is_a_conflict_even_across_tenants(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin_a = await factory.user(Role.admin)
    admin_b = await factory.user(Role.admin)
    await create(client, admin_a, "shared-name")
    before = await counts(session)

    response = await client.post(
        USERS, json=new_user("shared-name", email="other@example.test"), headers=admin_b.headers
    )
    body = problem(response, 409, "conflict")
    assert field_locs(body) == [["body", "username"]]

    response = await client.post(
        USERS,
        json=new_user("another-name", email="SHARED-NAME@example.test"),
        headers=admin_a.headers,
    )
    body = problem(response, 409, "conflict")
    assert field_locs(body) == [["body", "email"]]
    assert await counts(session) == before


async def test_list_filters_and_q_is_plain_text(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant, username="boss")
    await create(client, admin, "alice", display_name="Alice Liddell", role="developer")
    await create(client, admin, "bob_50", display_name="Bob 50% off", role="viewer")
    carol = await create(client, admin, "carol", email="carol@wonder.land", role="viewer")
    response = await client.patch(
        f"{USERS}/{carol['id']}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200

    async def names(**params: Any) -> list[str]:
        response = await client.get(USERS, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return sorted(u["username"] for u in response.json()["items"])

    assert await names() == ["alice", "bob_50", "boss", "carol"]
    assert await names(q="LIDDELL") == ["alice"]
    assert await names(q="wonder.land") == ["carol"]
    assert await names(role="viewer") == ["bob_50", "carol"]
    assert await names(role="admin") == ["boss"]
    assert await names(active="false") == ["carol"]
    assert await names(active="true", role="viewer") == ["bob_50"]
    # LIKE wildcards and SQL are matched literally
    assert await names(q="%") == ["bob_50"]
    assert await names(q="_") == ["bob_50"]
    assert await names(q="' OR '1'='1") == []
    assert await names(q="alice'; DROP TABLE users; --") == []
    assert await names(q="a%e") == []
    assert await names() == ["alice", "bob_50", "boss", "carol"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"role": "owner"}, {"active": "maybe"}, {"sort": "name"}],
)
async def test_list_bad_query_is_a_validation_problem(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, Any]
) -> None:
    admin = await factory.user(Role.admin)
    response = await client.get(USERS, params=params, headers=admin.headers)
    problem(response, 422, "validation-error")


async def test_bad_cursor_is_a_400(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(Role.admin)
    response = await client.get(USERS, params={"cursor": "not-a-cursor"}, headers=admin.headers)
    problem(response, 400, "invalid-cursor")


@pytest.mark.parametrize("sort", ["created_at", "-created_at"])
async def test_paging_visits_every_user_once(
    client: httpx.AsyncClient, factory: Factory, sort: str
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    for i in range(6):
        await factory.user(Role.viewer, tenant, username=f"page-user-{i}")
    await factory.user(Role.viewer)  # another tenant's user never shows up

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(USERS, params=params, headers=admin.headers)
        assert response.status_code == 200
        page = response.json()
        assert page["limit"] == 3 and len(page["items"]) <= 3
        seen += [u["username"] for u in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    ordered = [u for u in seen if u.startswith("page-user-")]
    expected = [f"page-user-{i}" for i in range(6)]
    assert ordered == (expected if sort == "created_at" else expected[::-1])


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


async def test_tenant_b_cannot_see_or_change_tenant_a_users(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin_a = await factory.user(Role.admin)
    admin_b = await factory.user(Role.admin)
    user_a = await create(client, admin_a, "only-in-a")
    before = await counts(session)

    problem(await client.get(f"{USERS}/{user_a['id']}", headers=admin_b.headers), 404, "not-found")
    problem(
        await client.patch(
            f"{USERS}/{user_a['id']}", json={"is_active": False}, headers=admin_b.headers
        ),
        404,
        "not-found",
    )
    problem(
        await client.get(f"{USERS}/{admin_a.user_id}", headers=admin_b.headers), 404, "not-found"
    )
    listed = await client.get(USERS, params={"q": "only-in-a"}, headers=admin_b.headers)
    assert listed.json()["items"] == []
    everyone = await client.get(USERS, params={"limit": 500}, headers=admin_b.headers)
    assert [u["username"] for u in everyone.json()["items"]] == [admin_b.username]
    assert await counts(session) == before
    user = await session.get(User, admin_a.user_id, populate_existing=True)
    assert user is not None and user.is_active


async def test_unknown_and_malformed_ids_are_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    problem(
        await client.get(f"{USERS}/00000000-0000-0000-0000-000000000000", headers=admin.headers),
        404,
        "not-found",
    )
    problem(await client.get(f"{USERS}/not-a-uuid", headers=admin.headers), 404, "not-found")


async def test_only_admins_manage_users(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    developer = await factory.user(Role.developer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    for caller in (developer, key):
        problem(await client.get(USERS, headers=caller.headers), 403, "forbidden")
        response = await client.post(USERS, json=new_user("nope-user"), headers=caller.headers)
        problem(response, 403, "forbidden")


async def test_an_admin_api_key_can_create_users(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.admin)
    response = await client.post(USERS, json=new_user("made-by-key"), headers=key.headers)
    assert response.status_code == 201
    await session.commit()
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert entry is not None
    assert (entry.actor_type, entry.actor_id) == ("api_key", key.api_key_id)
    assert (await login(client, "made-by-key", PASSWORD)).status_code == 200
