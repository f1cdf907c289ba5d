"""The audit log API: filters, paging, roles, tenant isolation, redaction, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.audit.service import record
from agentdeck.context import RequestContext, reset_request_context, set_request_context
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory

URL = "/api/v1/audit-log"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def as_principal(caller: Caller) -> Principal:
    if caller.user_id is not None:
        return Principal(
            kind="user",
            id=caller.user_id,
            name=caller.username or "",
            tenant_id=caller.tenant_id,
            role=caller.role,
        )
    return Principal(
        kind="api_key",
        id=caller.api_key_id,
        name="test key",
        tenant_id=caller.tenant_id,
        role=caller.role,
    )


async def write(
    session: AsyncSession,
    actor: Principal,
    action: str,
    *,
    resource_type: str = "agent",
    resource_id: object | None = None,
    at: datetime | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = await record(
        session,
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id if resource_id is not None else uuid.uuid4(),
        before=before,
        after=after if after is not None else {"name": "x"},
    )
    if at is not None:
        entry.at = at
    await session.commit()
    return entry


async def audit_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_lists_entries_newest_first_with_every_field(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    actor = as_principal(admin)
    old = await write(session, actor, "agent.create", at=T0)
    token = set_request_context(
        RequestContext(request_id="req-42", ip="203.0.113.7", user_agent="curl/8.5")
    )
    try:
        new = await write(
            session,
            actor,
            "agent.update",
            resource_id="a1",
            at=T0 + timedelta(minutes=5),
            before={"description": "old"},
            after={"description": "new"},
        )
    finally:
        reset_request_context(token)

    response = await client.get(URL, headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [str(new.id), str(old.id)]
    assert body["next_cursor"] is None
    assert body["limit"] == 50
    first = body["items"][0]
    assert first == {
        "id": str(new.id),
        "actor": {"type": "user", "id": str(admin.user_id), "name": admin.username},
        "action": "agent.update",
        "resource_type": "agent",
        "resource_id": "a1",
        "changes": {"before": {"description": "old"}, "after": {"description": "new"}},
        "ip": "203.0.113.7",
        "user_agent": "curl/8.5",
        "request_id": "req-42",
        "at": first["at"],
    }
    assert datetime.fromisoformat(first["at"].replace("Z", "+00:00")) == T0 + timedelta(minutes=5)

    one = await client.get(f"{URL}/{new.id}", headers=admin.headers)
    assert one.status_code == 200
    assert one.json() == first


async def test_api_key_actor_is_shown(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    key = await factory.api_key(Role.developer, tenant)
    await write(session, as_principal(key), "agent.create")
    body = (await client.get(URL, headers=admin.headers)).json()
    assert body["items"][0]["actor"] == {
        "type": "api_key",
        "id": str(key.api_key_id),
        "name": "test key",
    }


async def test_filters(client: httpx.AsyncClient, session: AsyncSession, factory: Factory) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    dev = await factory.user(Role.developer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    a = as_principal(admin)
    d = as_principal(dev)
    k = as_principal(key)
    e1 = await write(session, a, "agent.create", resource_id="r1", at=T0)
    e2 = await write(session, d, "agent.update", resource_id="r1", at=T0 + timedelta(hours=1))
    e3 = await write(session, d, "user.create", resource_type="user", at=T0 + timedelta(hours=2))
    e4 = await write(session, k, "agent.delete", resource_id="r2", at=T0 + timedelta(hours=3))
    e5 = await write(session, a, "agentx.create", at=T0 + timedelta(hours=4))

    async def ids(**params: str) -> list[str]:
        response = await client.get(URL, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    def expect(*entries: AuditEntry) -> list[str]:
        return [str(e.id) for e in entries]

    assert await ids(actor=dev.username or "") == expect(e3, e2)
    assert await ids(actor=str(dev.user_id)) == expect(e3, e2)
    assert await ids(actor=str(key.api_key_id)) == expect(e4)
    assert await ids(actor_type="api_key") == expect(e4)
    assert await ids(actor_type="user", actor=admin.username or "") == expect(e5, e1)
    assert await ids(resource_type="user") == expect(e3)
    assert await ids(resource_id="r1") == expect(e2, e1)
    assert await ids(resource_type="agent", resource_id="r2") == expect(e4)
    assert await ids(action="agent.update") == expect(e2)
    assert await ids(action="agent.*") == expect(e4, e2, e1)
    assert await ids(action="agent*") == expect(e5, e4, e2, e1)
    # LIKE wildcards in the filter are literal characters
    assert await ids(action="a_ent.*") == []
    assert await ids(action="%") == []
    # since is inclusive, until exclusive; any offset is accepted
    assert await ids(since=(T0 + timedelta(hours=1)).isoformat()) == expect(e5, e4, e3, e2)
    assert await ids(until=(T0 + timedelta(hours=1)).isoformat()) == expect(e1)
    assert await ids(since="2024-05-01T15:00:00+02:00", until="2024-05-01T15:00:00Z") == expect(
        e3, e2
    )
    assert await ids(action="agent.*", since="2024-05-01T13:00:00Z") == expect(e4, e2)


async def test_sql_ish_filters_match_nothing_and_break_nothing(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    await write(session, as_principal(admin), "agent.create")
    for params in (
        {"actor": "' OR '1'='1"},
        {"action": "agent.create' OR 1=1 --"},
        {"resource_id": "1; DROP TABLE audit_log; --"},
        {"actor": 'x") OR 1=1 --'},
    ):
        response = await client.get(URL, params=params, headers=admin.headers)
        assert response.status_code == 200, params
        assert response.json()["items"] == []
    assert await audit_count(session) == 1


@pytest.mark.parametrize("same_instant", [False, True])
async def test_cursor_paging_has_no_duplicates_or_gaps(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory, same_instant: bool
) -> None:
    admin = await factory.user(Role.admin)
    actor = as_principal(admin)
    written = []
    for i in range(7):
        at = T0 if same_instant else T0 + timedelta(seconds=i)
        written.append(await write(session, actor, "agent.update", at=at))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(URL, params=params, headers=admin.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["limit"] == 3
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # an entry written while paging (newer than the cursor) does not shift later pages
        if pages == 1:
            await write(session, actor, "agent.update", at=T0 + timedelta(days=1))
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == {str(e.id) for e in written}
    if not same_instant:
        assert seen == [str(e.id) for e in reversed(written)]


async def test_secrets_in_changes_are_redacted(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    entry = await write(
        session,
        as_principal(admin),
        "api_key.create",
        resource_type="api_key",
        before={"password_hash": "$argon2id$secret-hash", "name": "old"},
        after={
            "name": "new",
            "api_key": "adk_plaintextvalue",
            "config": {"webhook_secret": "hunter2", "url": "https://example.test"},
        },
    )
    response = await client.get(f"{URL}/{entry.id}", headers=admin.headers)
    assert response.status_code == 200
    changes = response.json()["changes"]
    assert changes["before"] == {"password_hash": "[redacted]", "name": "old"}
    assert changes["after"]["api_key"] == "[redacted]"
    assert changes["after"]["config"] == {
        "webhook_secret": "[redacted]",
        "url": "https://example.test",
    }
    for secret in ("secret-hash", "adk_plaintextvalue", "hunter2"):
        assert secret not in response.text
    listed = await client.get(URL, headers=admin.headers)
    assert "hunter2" not in listed.text


async def test_rows_stored_with_plain_secrets_are_redacted_on_read(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    row = AuditEntry(
        tenant_id=admin.tenant_id,
        actor_type="system",
        actor_id=None,
        actor_name="importer",
        action="channel.update",
        resource_type="channel",
        changes={"after": {"token": "xoxb-raw", "name": "ops"}},
    )
    session.add(row)
    await session.commit()
    body = (await client.get(f"{URL}/{row.id}", headers=admin.headers)).json()
    assert body["actor"] == {"type": "system", "id": None, "name": "importer"}
    assert body["changes"] == {"after": {"token": "[redacted]", "name": "ops"}}


@pytest.mark.parametrize("role", [Role.viewer, Role.developer])
async def test_non_admins_are_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory, role: Role
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    entry = await write(session, as_principal(admin), "agent.create")
    for caller in (await factory.user(role, tenant), await factory.api_key(role, tenant)):
        for path in (URL, f"{URL}/{entry.id}"):
            response = await client.get(path, headers=caller.headers)
            assert response.status_code == 403
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "/problems/forbidden"


async def test_anonymous_and_bad_credentials_get_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"X-API-Key": "adk_unknown"}):
        response = await client.get(URL, headers=headers)
        assert response.status_code == 401
        assert response.json()["type"] == "/problems/unauthorized"


async def test_admin_api_key_may_read(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    key = await factory.api_key(Role.admin)
    await write(session, as_principal(key), "agent.create")
    response = await client.get(URL, headers=key.headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


async def test_tenant_isolation(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    admin_a = await factory.user(Role.admin)
    admin_b = await factory.user(Role.admin)
    entry_a = await write(session, as_principal(admin_a), "agent.create", resource_id="shared")
    entry_b = await write(session, as_principal(admin_b), "agent.create", resource_id="shared")

    listed = await client.get(URL, headers=admin_b.headers)
    assert [item["id"] for item in listed.json()["items"]] == [str(entry_b.id)]
    # filters naming A's actor or resource find nothing for B
    for params in (
        {"actor": str(admin_a.user_id)},
        {"actor": admin_a.username or ""},
        {"resource_id": "shared", "actor_type": "user"},
    ):
        response = await client.get(URL, params=params, headers=admin_b.headers)
        assert str(entry_a.id) not in response.text

    response = await client.get(f"{URL}/{entry_a.id}", headers=admin_b.headers)
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    assert (await client.get(f"{URL}/{entry_a.id}", headers=admin_a.headers)).status_code == 200


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"since": "2024-05-01T12:00:00"}, ["query", "since"]),
        ({"until": "2024-05-01T12:00:00"}, ["query", "until"]),
        ({"since": "yesterday"}, ["query", "since"]),
        ({"actor_type": "robot"}, ["query", "actor_type"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "501"}, ["query", "limit"]),
        ({"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, ["query", "until"]),
    ],
)
async def test_bad_query_is_422_naming_the_field(
    client: httpx.AsyncClient,
    session: AsyncSession,
    factory: Factory,
    params: dict[str, str],
    loc: list[str],
) -> None:
    admin = await factory.user(Role.admin)
    before = await audit_count(session)
    response = await client.get(URL, params=params, headers=admin.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert loc in [e["loc"] for e in body["errors"]]
    assert await audit_count(session) == before


async def test_bad_cursor_is_400(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(Role.admin)
    response = await client.get(URL, params={"cursor": "not-a-cursor"}, headers=admin.headers)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "/problems/invalid-cursor"
    assert body["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("entry_id", ["not-a-uuid", str(uuid.uuid4()), "' OR 1=1 --"])
async def test_unknown_entry_is_404(
    client: httpx.AsyncClient, factory: Factory, entry_id: str
) -> None:
    admin = await factory.user(Role.admin)
    response = await client.get(f"{URL}/{entry_id}", headers=admin.headers)
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


async def test_reading_the_log_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    admin = await factory.user(Role.admin)
    await write(session, as_principal(admin), "agent.create")
    for _ in range(3):
        assert (await client.get(URL, headers=admin.headers)).status_code == 200
    assert await audit_count(session) == 1


async def test_api_calls_show_up_with_request_details(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Real mutating calls are audited and found with the filters."""
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    dev = await factory.user(Role.developer, tenant)
    created = await client.post(
        "/api/v1/agents",
        json={"name": "audited-agent", "type": "llm"},
        headers={**dev.headers, "X-Request-ID": "create-1", "User-Agent": "audit-test/1.0"},
    )
    assert created.status_code == 201
    agent_id = created.json()["id"]
    deleted = await client.delete(
        f"/api/v1/agents/{agent_id}",
        headers={**dev.headers, "If-Match": created.headers["etag"]},
    )
    assert deleted.status_code == 204
    # a refused write leaves no entry
    viewer = await factory.user(Role.viewer, tenant)
    refused = await client.post(
        "/api/v1/agents", json={"name": "nope", "type": "llm"}, headers=viewer.headers
    )
    assert refused.status_code == 403

    response = await client.get(
        URL,
        params={"action": "agent.*", "resource_id": agent_id, "actor": dev.username or ""},
        headers=admin.headers,
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["action"] for item in items] == ["agent.delete", "agent.create"]
    create = items[1]
    assert create["actor"] == {"type": "user", "id": str(dev.user_id), "name": dev.username}
    assert create["resource_type"] == "agent"
    assert create["request_id"] == "create-1"
    assert create["user_agent"] == "audit-test/1.0"
    assert create["ip"] == "127.0.0.1"
    assert create["changes"]["after"]["name"] == "audited-agent"
    everything = (await client.get(URL, params={"limit": 500}, headers=admin.headers)).json()
    assert all(item["resource_id"] != "nope" for item in everything["items"])
    assert not any(
        (item["changes"].get("after") or {}).get("name") == "nope" for item in everything["items"]
    )
