"""Users admin: create, read, list (filters, paging), tenant isolation, roles; bad input writes
nothing. Changes are in test_users_update.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import User
from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.identity.helpers import (
    USER_PASSWORD,
    USERS,
    counts,
    create,
    field_locs,
    login,
    new_user,
    problem,
)


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

    logged_in = await login(client, "ada.lovelace", USER_PASSWORD)
    assert logged_in.status_code == 200
    assert logged_in.json()["tenant"]["id"] == str(admin.tenant_id)
    assert logged_in.json()["role"] == "developer"

    await session.commit()
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert entry is not None and entry.actor_id == admin.user_id
    assert entry.resource_id == body["id"]
    assert entry.changes["after"]["role"] == "developer"
    assert USER_PASSWORD not in str(entry.changes)


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


async def test_a_name_taken_in_another_tenant_answers_as_one_taken_here(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    """Usernames and emails are unique server-wide, so a name taken in another tenant is a
    409; the answer must be the one a name taken in the caller's tenant gets, word for word
    (the name typed aside), and name nothing of the other tenant or its user."""
    here = await factory.tenant()
    there = await factory.tenant()
    admin = await factory.user(Role.admin, here)
    mine = await create(client, admin, "mine-taken")
    theirs = await create(client, await factory.user(Role.admin, there), "theirs-taken")
    before = await counts(session)

    for field in ("username", "email"):
        answers = []
        for owner in ("mine-taken", "theirs-taken"):
            if field == "username":
                value, body = owner, new_user(owner, email="fresh@example.test")
            else:
                value, body = (
                    f"{owner}@example.test",
                    new_user("fresh-name", email=f"{owner}@example.test"),
                )
            response = await client.post(USERS, json=body, headers=admin.headers)
            problem(response, 409, "conflict")
            for secret in (str(there.id), there.slug, there.name, theirs["id"], mine["id"]):
                assert secret not in response.text
            answer = response.json()
            answer.pop("request_id")
            assert [e["loc"] for e in answer["errors"]] == [["body", field]]
            answers.append(json.dumps(answer).replace(value, "<typed>"))
        assert answers[0] == answers[1]
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
    assert (await login(client, "made-by-key", USER_PASSWORD)).status_code == 200
