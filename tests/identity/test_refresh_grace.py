"""A refresh token presented twice at once (two tabs, or a reload racing the refresh) keeps the
session: inside the reuse grace both presentations get the same successor. Outside it, or once
the successor itself was used, a second presentation is still a leak and ends the login."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.models import RefreshToken
from agentdeck.identity.roles import Role
from agentdeck.identity.security import sha256_hex
from tests.conftest import Factory
from tests.identity.helpers import (
    LOGOUT,
    ME,
    REFRESH,
    AppFactory,
    age_family,
    audit_actions,
    login,
    post_with_cookie,
    problem,
    refresh_cookie,
)


def _max_age(response: httpx.Response) -> int:
    cookie = response.headers["set-cookie"].lower()
    return int(cookie.split("max-age=")[1].split(";")[0])


async def _family(session: AsyncSession, token: str) -> list[RefreshToken]:
    await session.commit()
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(token))
    )
    assert row is not None
    rows = await session.scalars(
        select(RefreshToken)
        .where(RefreshToken.family_id == row.family_id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_two_concurrent_refreshes_with_one_token_keep_the_session(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    token = refresh_cookie(await login(client, caller.username or ""))

    first, second = await asyncio.gather(
        post_with_cookie(client, REFRESH, token), post_with_cookie(client, REFRESH, token)
    )

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    # one rotation, one successor: both answers carry it, so whichever cookie the browser
    # keeps last is the live one
    assert refresh_cookie(first) == refresh_cookie(second)
    successor = refresh_cookie(first)
    rows = await _family(session, token)
    assert len(rows) == 2 and all(r.revoked_at is None for r in rows)
    assert "auth.refresh_reuse" not in await audit_actions(session, caller.user_id)
    for answer in (first, second):
        me = await client.get(
            ME, headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
        )
        assert me.status_code == 200
    # the session goes on: the successor rotates as usual
    assert (await post_with_cookie(client, REFRESH, successor)).status_code == 200


async def test_a_reuse_inside_the_grace_answers_the_same_successor(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    token = refresh_cookie(await login(client, caller.username or ""))
    rotated = await post_with_cookie(client, REFRESH, token)
    # the answer was lost (the page reloaded): the browser still holds the old cookie
    again = await post_with_cookie(client, REFRESH, token)
    assert again.status_code == 200, again.text
    assert refresh_cookie(again) == refresh_cookie(rotated)
    # the cookie lives as long as the successor, not a new full term
    assert 0 < _max_age(again) <= _max_age(rotated)
    assert len(await _family(session, token)) == 2  # no second successor was minted


async def test_a_reuse_after_the_grace_still_ends_the_login(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    token = refresh_cookie(await login(client, caller.username or ""))
    successor = refresh_cookie(await post_with_cookie(client, REFRESH, token))
    await age_family(session, token, 6)  # the default grace is 5 s

    problem(await post_with_cookie(client, REFRESH, token), 401, "refresh-token-reused")
    assert all(r.revoked_at is not None for r in await _family(session, token))
    problem(await post_with_cookie(client, REFRESH, successor), 401, "invalid-refresh-token")
    assert "auth.refresh_reuse" in await audit_actions(session, caller.user_id)


async def test_a_reuse_once_the_successor_was_used_ends_the_login(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    """The holder of the successor already moved on: a copy of the old token is a leak, even
    inside the grace."""
    caller = await factory.user(Role.viewer)
    token = refresh_cookie(await login(client, caller.username or ""))
    successor = refresh_cookie(await post_with_cookie(client, REFRESH, token))
    latest = refresh_cookie(await post_with_cookie(client, REFRESH, successor))

    problem(await post_with_cookie(client, REFRESH, token), 401, "refresh-token-reused")
    problem(await post_with_cookie(client, REFRESH, latest), 401, "invalid-refresh-token")


async def test_no_grace_after_logout_and_none_when_switched_off(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    client = await app_factory()
    caller = await factory.user(Role.viewer)
    token = refresh_cookie(await login(client, caller.username or ""))
    successor = refresh_cookie(await post_with_cookie(client, REFRESH, token))
    assert (await post_with_cookie(client, LOGOUT, successor)).status_code == 204
    # the grace never brings back a login that was ended
    problem(await post_with_cookie(client, REFRESH, token), 401, "invalid-refresh-token")

    strict = await app_factory(auth={"refresh_reuse_grace_seconds": 0})
    token = refresh_cookie(await login(strict, caller.username or ""))
    assert (await post_with_cookie(strict, REFRESH, token)).status_code == 200
    problem(await post_with_cookie(strict, REFRESH, token), 401, "refresh-token-reused")
    assert all(r.revoked_at is not None for r in await _family(session, token))


async def test_the_grace_answer_is_refused_when_the_user_was_deactivated(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    other = await factory.user(Role.viewer, tenant)
    token = refresh_cookie(await login(client, other.username or ""))
    assert (await post_with_cookie(client, REFRESH, token)).status_code == 200
    patched = await client.patch(
        f"/api/v1/users/{other.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    problem(await post_with_cookie(client, REFRESH, token), 401, "invalid-refresh-token")
