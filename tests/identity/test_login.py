"""POST /api/v1/auth/token: the password form, the refresh cookie, same answer for every
failure, tenant choice, and the per-username+address brute-force limit (memory and Redis)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.models import Membership, RefreshToken, User
from agentdeck.identity.roles import Role
from agentdeck.identity.security import sha256_hex
from tests.conftest import REDIS_URL, TEST_PASSWORD, Factory
from tests.identity.helpers import (
    COOKIE,
    ME,
    TOKEN,
    AppFactory,
    audit_actions,
    counts,
    login,
    problem,
    refresh_cookie,
)


async def test_login_answers_token_user_tenant_role_and_sets_the_cookie(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    caller = await factory.user(Role.developer, tenant)
    response = await login(client, caller.username or "")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["role"] == "developer"
    assert body["user"] == {
        "id": str(caller.user_id),
        "username": caller.username,
        "email": f"{caller.username}@example.test",
        "display_name": (caller.username or "").title(),
    }
    assert body["tenant"] == {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name}
    assert response.headers["cache-control"] == "no-store"

    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    lowered = set_cookie.lower()
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/api/v1/auth" in lowered
    assert "secure" not in lowered
    assert "max-age=1209600" in lowered

    # only the hash of the refresh token is stored, in a new family
    await session.commit()
    rows = list(await session.scalars(select(RefreshToken)))
    assert len(rows) == 1
    assert rows[0].token_hash == sha256_hex(refresh_cookie(response))
    assert rows[0].user_id == caller.user_id and rows[0].tenant_id == tenant.id

    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["username"] == caller.username

    user = await session.get(User, caller.user_id, populate_existing=True)
    assert user is not None and isinstance(user.last_login, datetime)
    assert await audit_actions(session, caller.user_id) == ["auth.login"]


async def test_login_by_email_is_case_insensitive(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    caller = await factory.user(Role.viewer)
    response = await login(client, f"  {(caller.username or '').upper()}@EXAMPLE.TEST ")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == str(caller.user_id)


async def test_cookie_is_secure_when_configured(app_factory: AppFactory, factory: Factory) -> None:
    client = await app_factory(auth={"cookie_secure": True})
    caller = await factory.user(Role.viewer)
    response = await login(client, caller.username or "")
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()


async def test_wrong_password_and_unknown_user_get_the_same_problem_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.admin)
    before = await counts(session)
    wrong = problem(
        await login(client, caller.username or "", "not the password!"), 401, "invalid-credentials"
    )
    unknown = problem(await login(client, "nobody-here", TEST_PASSWORD), 401, "invalid-credentials")
    for body in (wrong, unknown):
        body.pop("request_id")
    assert wrong == unknown
    assert await counts(session) == before
    user = await session.get(User, caller.user_id, populate_existing=True)
    assert user is not None and user.last_login is None


async def test_inactive_user_cannot_log_in_even_with_the_right_password(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.admin, active=False)
    before = await counts(session)
    problem(await login(client, caller.username or ""), 401, "invalid-credentials")
    assert await counts(session) == before


@pytest.mark.parametrize(
    "form",
    [
        {"password": TEST_PASSWORD},
        {"username": "someone"},
        {"username": "", "password": TEST_PASSWORD},
        {"username": "x" * 300, "password": TEST_PASSWORD},
    ],
)
async def test_incomplete_form_is_a_validation_problem(
    client: httpx.AsyncClient, session: AsyncSession, form: dict[str, str]
) -> None:
    before = await counts(session)
    problem(await client.post(TOKEN, data=form), 422, "validation-error")
    assert await counts(session) == before


async def test_json_instead_of_the_form_is_refused(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    before = await counts(session)
    response = await client.post(
        TOKEN, json={"username": caller.username, "password": TEST_PASSWORD}
    )
    problem(response, 422, "validation-error")
    assert await counts(session) == before


async def test_user_of_several_tenants_picks_one_by_slug_default_is_the_first(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    first = await factory.tenant()
    second = await factory.tenant()
    caller = await factory.user(Role.viewer, first)
    session.add(Membership(tenant_id=second.id, user_id=caller.user_id, role=Role.admin))
    await session.commit()

    default = await login(client, caller.username or "")
    assert default.status_code == 200
    assert default.json()["tenant"]["slug"] == first.slug
    assert default.json()["role"] == "viewer"

    chosen = await login(client, caller.username or "", tenant=second.slug)
    assert chosen.status_code == 200
    assert chosen.json()["tenant"]["slug"] == second.slug
    assert chosen.json()["role"] == "admin"
    token = chosen.json()["access_token"]
    me = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert me.json()["tenant"]["id"] == str(second.id)
    assert me.json()["role"] == "admin"

    other = await factory.tenant()
    before = await counts(session)
    problem(
        await login(client, caller.username or "", tenant=other.slug), 401, "invalid-credentials"
    )
    problem(
        await login(client, caller.username or "", tenant="no-such-tenant"),
        401,
        "invalid-credentials",
    )
    assert await counts(session) == before


async def _brute_force(client: httpx.AsyncClient, username: str) -> None:
    for _ in range(3):
        problem(await login(client, username, "wrong password!!"), 401, "invalid-credentials")
    throttled = problem(await login(client, username, TEST_PASSWORD), 429, "rate-limited")
    assert "retry" in throttled["detail"]


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_repeated_failures_lock_the_username_from_that_address(
    app_factory: AppFactory, factory: Factory, session: AsyncSession, backend: str
) -> None:
    overrides: dict[str, Any] = {"rate_limit": {"login_failures": "3/minute"}}
    if backend == "redis":
        overrides["redis_url"] = REDIS_URL
    client = await app_factory(**overrides)
    tenant = await factory.tenant()
    victim = await factory.user(Role.admin, tenant, username=f"v{uuid.uuid4().hex[:12]}")
    bystander = await factory.user(Role.admin, tenant, username=f"b{uuid.uuid4().hex[:12]}")

    await _brute_force(client, victim.username or "")
    before = await counts(session)
    response = await login(client, victim.username or "", TEST_PASSWORD)
    problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-limit"] == "3"
    assert response.headers["ratelimit-remaining"] == "0"
    assert int(response.headers["ratelimit-reset"]) >= 1
    assert await counts(session) == before  # no token, no audit entry

    # the same username differs only in case: still the same account, still locked
    problem(
        await login(client, (victim.username or "").upper(), TEST_PASSWORD), 429, "rate-limited"
    )
    # another account from the same address is not affected
    assert (await login(client, bystander.username or "")).status_code == 200

    metrics = await client.get("/metrics")
    assert 'agentdeck_rate_limited_total{limit="login_failure"}' in metrics.text

    if backend == "redis":
        # a second replica sharing Redis sees the same lock
        replica = await app_factory(**overrides)
        problem(await login(replica, victim.username or "", TEST_PASSWORD), 429, "rate-limited")


async def test_username_and_email_of_one_account_share_the_failure_limit(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(rate_limit={"login_failures": "3/minute"})
    victim = await factory.user(Role.admin, username=f"v{uuid.uuid4().hex[:12]}")
    name = victim.username or ""
    email = f"{name}@example.test"
    for login_as in (name, email, name.upper()):
        problem(await login(client, login_as, "wrong password!!"), 401, "invalid-credentials")
    for login_as in (email, name):
        problem(await login(client, login_as, TEST_PASSWORD), 429, "rate-limited")

    # unknown logins are limited per identifier, and answer as an account does
    ghost = f"g{uuid.uuid4().hex[:12]}"
    for login_as in (ghost, ghost, ghost, f"{ghost}@example.test"):
        problem(await login(client, login_as, "wrong password!!"), 401, "invalid-credentials")
    over = problem(await login(client, ghost, "wrong password!!"), 429, "rate-limited")
    locked = problem(await login(client, name, "wrong password!!"), 429, "rate-limited")
    assert over["detail"].split(";")[0] == locked["detail"].split(";")[0]


async def test_successful_logins_are_not_limited_and_do_not_spend_principal_budgets(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(
        rate_limit={"login_failures": "2/minute", "write": "1/minute", "read": "1/minute"}
    )
    caller = await factory.user(Role.admin)
    for _ in range(5):
        assert (await login(client, caller.username or "")).status_code == 200
    # the caller's own read budget is untouched by the logins
    assert (await client.get(ME, headers=caller.headers)).status_code == 200
