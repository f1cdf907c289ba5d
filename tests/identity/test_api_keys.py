"""API keys admin: the key is shown once and works as Bearer and X-API-Key; revoked and expired
keys are refused; last_used_at; filters and paging; tenant isolation; bad input writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import ApiKey
from agentdeck.identity.roles import Role
from agentdeck.identity.security import sha256_hex
from tests.conftest import Caller, Factory
from tests.identity.helpers import KEYS, ME, audit_actions, counts, field_locs, problem

PUBLIC_FIELDS = {
    "id",
    "name",
    "prefix",
    "role",
    "agent_id",
    "created_by",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}


async def create(
    client: httpx.AsyncClient, admin: Caller, name: str = "ci", **fields: Any
) -> dict[str, Any]:
    response = await client.post(KEYS, json={"name": name, **fields}, headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_created_key_is_shown_once_and_works_both_ways(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    response = await client.post(
        KEYS, json={"name": "deploy bot", "role": "developer"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert set(created) == PUBLIC_FIELDS | {"key"}
    key = created["key"]
    assert key.startswith("adk_") and key.startswith(created["prefix"])
    assert created["role"] == "developer"
    assert created["created_by"] == str(admin.user_id)
    assert created["expires_at"] is None and created["revoked_at"] is None
    assert created["last_used_at"] is None

    # stored only as a hash
    await session.commit()
    row = await session.get(ApiKey, uuid.UUID(created["id"]))
    assert row is not None and row.key_hash == sha256_hex(key) and key not in row.key_hash

    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        me = await client.get(ME, headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["kind"] == "api_key" and me.json()["role"] == "developer"

    got = await client.get(f"{KEYS}/{created['id']}", headers=admin.headers)
    assert got.status_code == 200
    assert set(got.json()) == PUBLIC_FIELDS
    assert got.json()["last_used_at"] is not None
    listed = await client.get(KEYS, headers=admin.headers)
    assert key not in listed.text and "hash" not in listed.text
    assert [k["id"] for k in listed.json()["items"]] == [created["id"]]

    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "apikey.create"))
    assert entry is not None and key not in str(entry.changes)
    assert entry.changes["after"]["role"] == "developer"


async def test_a_developer_key_works_for_its_role_but_cannot_make_keys(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    key = (await create(client, admin, role="developer"))["key"]
    before = await counts(session)
    response = await client.post(KEYS, json={"name": "escalate"}, headers={"X-API-Key": key})
    problem(response, 403, "forbidden")
    problem(await client.get(KEYS, headers={"X-API-Key": key}), 403, "forbidden")
    assert await counts(session) == before


async def test_revoked_key_is_refused_and_revoking_is_idempotent(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    created = await create(client, admin, role="viewer")
    headers = {"X-API-Key": created["key"]}
    assert (await client.get(ME, headers=headers)).status_code == 200

    response = await client.delete(f"{KEYS}/{created['id']}", headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
    body = problem(await client.get(ME, headers=headers), 401, "unauthorized")
    assert "revoked" in body["detail"]
    bearer = {"Authorization": f"Bearer {created['key']}"}
    problem(await client.get(ME, headers=bearer), 401, "unauthorized")

    got = (await client.get(f"{KEYS}/{created['id']}", headers=admin.headers)).json()
    assert got["revoked_at"] is not None

    before = await counts(session)
    again = await client.delete(f"{KEYS}/{created['id']}", headers=admin.headers)
    assert again.status_code == 204
    assert await counts(session) == before
    assert await audit_actions(session, created["id"]) == ["apikey.create", "apikey.revoke"]


async def test_expired_key_is_refused(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
    factory: Factory,
    session: AsyncSession,
) -> None:
    # the expiry is moved in the database behind the server's back: without the principal
    # cache, whose entries would otherwise last until their TTL (tested in test_key_cache)
    client = await app_factory(auth={"principal_cache_seconds": 0})
    admin = await factory.user(Role.admin)
    created = await create(client, admin, expires_in_days=1)
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(days=1)
    assert (await client.get(ME, headers={"X-API-Key": created["key"]})).status_code == 200
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == uuid.UUID(created["id"]))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    body = problem(await client.get(ME, headers={"X-API-Key": created["key"]}), 401, "unauthorized")
    assert "expired" in body["detail"]


async def test_explicit_expiry(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(Role.admin)
    when = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = await create(client, admin, expires_at=when.isoformat())
    assert datetime.fromisoformat(created["expires_at"]) == when


async def test_unknown_key_is_refused(client: httpx.AsyncClient) -> None:
    problem(await client.get(ME, headers={"X-API-Key": "adk_made-up"}), 401, "unauthorized")


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "k", "role": "root"}, "role"),
        ({"name": "k", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "k", "expires_in_days": 5000}, "expires_in_days"),
        ({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "k", "expires_at": "2999-01-01T00:00:00"}, "expires_at"),
        (
            {"name": "k", "expires_at": "2999-01-01T00:00:00Z", "expires_in_days": 3},
            "expires_in_days",
        ),
        ({"name": "k", "key_hash": "0" * 64}, "key_hash"),
    ],
)
async def test_create_bad_input_writes_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    payload: dict[str, Any],
    loc: str,
) -> None:
    admin = await factory.user(Role.admin)
    before = await counts(session)
    body = problem(
        await client.post(KEYS, json=payload, headers=admin.headers), 422, "validation-error"
    )
    assert ["body", loc] in field_locs(body)
    assert await counts(session) == before


async def test_list_filters_by_role_revoked_and_name(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    a = await create(client, admin, "alpha 100%", role="viewer")
    b = await create(client, admin, "beta", role="developer")
    c = await create(client, admin, "gamma", role="developer")
    assert (await client.delete(f"{KEYS}/{c['id']}", headers=admin.headers)).status_code == 204

    async def names(**params: Any) -> list[str]:
        response = await client.get(KEYS, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [k["name"] for k in response.json()["items"]]

    assert await names() == ["gamma", "beta", "alpha 100%"]  # newest first
    assert await names(sort="created_at") == ["alpha 100%", "beta", "gamma"]
    assert await names(role="developer") == ["gamma", "beta"]
    assert await names(revoked="true") == ["gamma"]
    assert await names(revoked="false") == ["beta", "alpha 100%"]
    assert await names(role="developer", revoked="false") == ["beta"]
    assert await names(q="%") == ["alpha 100%"]
    assert await names(q="' or 1=1 --") == []
    assert {a["id"], b["id"]} <= {
        k["id"] for k in (await client.get(KEYS, headers=admin.headers)).json()["items"]
    }
    problem(
        await client.get(KEYS, params={"revoked": "sometimes"}, headers=admin.headers),
        422,
        "validation-error",
    )
    problem(
        await client.get(KEYS, params={"limit": 501}, headers=admin.headers),
        422,
        "validation-error",
    )


async def test_paging_visits_every_key_once(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(Role.admin)
    made = [(await create(client, admin, f"key-{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(KEYS, params=params, headers=admin.headers)).json()
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]


async def test_tenant_b_cannot_see_or_revoke_tenant_a_keys(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin_a = await factory.user(Role.admin)
    admin_b = await factory.user(Role.admin)
    key_a = await create(client, admin_a, "a's key")
    before = await counts(session)

    problem(await client.get(f"{KEYS}/{key_a['id']}", headers=admin_b.headers), 404, "not-found")
    problem(await client.delete(f"{KEYS}/{key_a['id']}", headers=admin_b.headers), 404, "not-found")
    assert (await client.get(KEYS, headers=admin_b.headers)).json()["items"] == []
    assert await counts(session) == before
    assert (await client.get(ME, headers={"X-API-Key": key_a["key"]})).status_code == 200
    # a's key acts inside tenant A only
    me = (await client.get(ME, headers={"X-API-Key": key_a["key"]})).json()
    assert me["tenant"]["id"] == str(admin_a.tenant_id)


async def test_unknown_and_malformed_key_ids_are_404(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    admin = await factory.user(Role.admin)
    before = await counts(session)
    for ident in ("00000000-0000-0000-0000-000000000000", "nope"):
        problem(await client.get(f"{KEYS}/{ident}", headers=admin.headers), 404, "not-found")
        problem(await client.delete(f"{KEYS}/{ident}", headers=admin.headers), 404, "not-found")
    assert await counts(session) == before
