"""Refresh rotation and reuse detection, logout, /auth/me and changing one's own password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import RefreshToken, User
from agentdeck.identity.roles import Role
from agentdeck.identity.security import sha256_hex
from tests.conftest import TEST_PASSWORD, Factory
from tests.identity.helpers import (
    COOKIE,
    LOGOUT,
    ME,
    PASSWORD,
    REFRESH,
    AppFactory,
    age_family,
    audit_actions,
    counts,
    login,
    post_with_cookie,
    problem,
    refresh_cookie,
)

NEW_PASSWORD = "a brand new passphrase"


def bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _row(session: AsyncSession, token: str) -> RefreshToken:
    await session.commit()
    row = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == sha256_hex(token))
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def test_refresh_rotates_the_token_within_its_family(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.developer)
    first = await login(client, caller.username or "")
    old = refresh_cookie(first)

    response = await post_with_cookie(client, REFRESH, old)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["id"] == str(caller.user_id)
    assert body["role"] == "developer"
    new = refresh_cookie(response)
    assert new != old
    assert "samesite=strict" in response.headers["set-cookie"].lower()

    old_row, new_row = await _row(session, old), await _row(session, new)
    assert old_row.used_at is not None and old_row.revoked_at is None
    assert new_row.used_at is None and new_row.family_id == old_row.family_id

    me = await client.get(ME, headers=bearer(response))
    assert me.status_code == 200

    # the successor rotates again
    again = await post_with_cookie(client, REFRESH, new)
    assert again.status_code == 200


async def test_refresh_answers_the_current_role(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    caller = await factory.user(Role.admin, tenant)
    await factory.user(Role.admin, tenant)  # keep another admin
    cookie = refresh_cookie(await login(client, caller.username or ""))
    response = await client.patch(
        f"/api/v1/users/{caller.user_id}", json={"role": "viewer"}, headers=caller.headers
    )
    assert response.status_code == 200
    refreshed = await post_with_cookie(client, REFRESH, cookie)
    assert refreshed.json()["role"] == "viewer"


async def test_reusing_a_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    stolen = refresh_cookie(await login(client, caller.username or ""))
    other_login = refresh_cookie(await login(client, caller.username or ""))
    legit = refresh_cookie(await post_with_cookie(client, REFRESH, stolen))
    await age_family(session, stolen, 6)  # past the reuse grace (test_refresh_grace.py)

    reused = await post_with_cookie(client, REFRESH, stolen)
    problem(reused, 401, "refresh-token-reused")
    assert f"{COOKIE}=" in reused.headers["set-cookie"]  # the cookie is cleared
    assert "max-age=0" in reused.headers["set-cookie"].lower()

    # the successor of the reused token is dead too
    problem(await post_with_cookie(client, REFRESH, legit), 401, "invalid-refresh-token")
    family = (await _row(session, stolen)).family_id
    rows = list(await session.scalars(select(RefreshToken).where(RefreshToken.family_id == family)))
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
    assert "auth.refresh_reuse" in await audit_actions(session, caller.user_id)

    # another login of the same user (another family) is untouched
    assert (await post_with_cookie(client, REFRESH, other_login)).status_code == 200


async def test_missing_unknown_expired_refresh_tokens_are_refused(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    cookie = refresh_cookie(await login(client, caller.username or ""))
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == sha256_hex(cookie))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    before = await counts(session)
    problem(await post_with_cookie(client, REFRESH, None), 401, "invalid-refresh-token")
    problem(await post_with_cookie(client, REFRESH, "made-up"), 401, "invalid-refresh-token")
    body = problem(await post_with_cookie(client, REFRESH, cookie), 401, "invalid-refresh-token")
    assert "expired" in body["detail"]
    assert await counts(session) == before
    assert (await _row(session, cookie)).used_at is None


async def test_refresh_is_refused_once_the_user_is_deactivated(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    cookie = refresh_cookie(await login(client, caller.username or ""))
    await session.execute(update(User).where(User.id == caller.user_id).values(is_active=False))
    await session.commit()
    problem(await post_with_cookie(client, REFRESH, cookie), 401, "invalid-refresh-token")
    assert (await _row(session, cookie)).revoked_at is not None


async def test_logout_revokes_the_family_and_clears_the_cookie(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    first = refresh_cookie(await login(client, caller.username or ""))
    second = refresh_cookie(await post_with_cookie(client, REFRESH, first))

    response = await post_with_cookie(client, LOGOUT, second)
    assert response.status_code == 204
    assert response.content == b""
    cleared = response.headers["set-cookie"].lower()
    assert cleared.startswith(f"{COOKIE}=") and "max-age=0" in cleared
    assert "path=/api/v1/auth" in cleared

    assert (await _row(session, second)).revoked_at is not None
    assert (await _row(session, first)).revoked_at is not None
    problem(await post_with_cookie(client, REFRESH, second), 401, "invalid-refresh-token")
    assert "auth.logout" in await audit_actions(session, caller.user_id)

    # without a cookie, or with a dead one, logout still succeeds and writes nothing
    before = await counts(session)
    assert (await post_with_cookie(client, LOGOUT, None)).status_code == 204
    assert (await post_with_cookie(client, LOGOUT, second)).status_code == 204
    assert (await post_with_cookie(client, LOGOUT, "made-up")).status_code == 204
    assert await counts(session) == before


async def test_me_describes_users_and_api_keys(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    user = await factory.user(Role.developer, tenant)
    key = await factory.api_key(Role.viewer, tenant)

    me = await client.get(ME, headers=user.headers)
    assert me.status_code == 200
    body = me.json()
    assert body["kind"] == "user" and body["role"] == "developer"
    assert body["user"]["id"] == str(user.user_id) and body["api_key"] is None
    assert body["tenant"] == {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name}

    me = await client.get(ME, headers=key.headers)
    body = me.json()
    assert body["kind"] == "api_key" and body["role"] == "viewer" and body["user"] is None
    assert body["api_key"]["id"] == str(key.api_key_id)
    assert (key.api_key or "").startswith(body["api_key"]["prefix"])

    problem(await client.get(ME), 401, "unauthorized")


async def test_change_password_keeps_this_session_and_ends_the_others(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    mine = await login(client, caller.username or "")
    elsewhere = refresh_cookie(await login(client, caller.username or ""))

    response = await post_with_cookie(
        client,
        PASSWORD,
        refresh_cookie(mine),
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(mine),
    )
    assert response.status_code == 204, response.text

    problem(await login(client, caller.username or ""), 401, "invalid-credentials")
    assert (await login(client, caller.username or "", NEW_PASSWORD)).status_code == 200
    problem(await post_with_cookie(client, REFRESH, elsewhere), 401, "invalid-refresh-token")
    assert (await post_with_cookie(client, REFRESH, refresh_cookie(mine))).status_code == 200

    await session.commit()
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.password_change")
    )
    assert entry is not None and entry.actor_id == caller.user_id
    assert entry.changes == {
        "before": {"password": "[redacted]"},
        "after": {"password": "[redacted]"},
    }
    assert NEW_PASSWORD not in str(entry.changes)


async def test_change_password_bad_input_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    key = await factory.api_key(Role.admin)
    before = await counts(session)

    wrong = await client.post(
        PASSWORD,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=caller.headers,
    )
    body = problem(wrong, 400, "invalid-credentials")
    assert body["errors"][0]["loc"] == ["body", "current_password"]

    short = await client.post(
        PASSWORD,
        json={"current_password": TEST_PASSWORD, "new_password": "short"},
        headers=caller.headers,
    )
    body = problem(short, 422, "validation-error")
    assert ["body", "new_password"] in [e["loc"] for e in body["errors"]]

    problem(
        await client.post(
            PASSWORD,
            content=b"{not json",
            headers={**caller.headers, "Content-Type": "application/json"},
        ),
        400,
        "malformed-json",
    )
    by_key = await client.post(
        PASSWORD,
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=key.headers,
    )
    problem(by_key, 403, "forbidden")
    assert await counts(session) == before
    assert (await login(client, caller.username or "")).status_code == 200


async def test_guessing_the_current_password_is_limited_like_logins(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(rate_limit={"login_failures": "2/minute"})
    caller = await factory.user(Role.viewer)
    for _ in range(2):
        wrong = await client.post(
            PASSWORD,
            json={"current_password": "a wrong guess", "new_password": NEW_PASSWORD},
            headers=caller.headers,
        )
        problem(wrong, 400, "invalid-credentials")
    right = await client.post(
        PASSWORD,
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=caller.headers,
    )
    problem(right, 429, "rate-limited")
    assert "retry-after" in right.headers
