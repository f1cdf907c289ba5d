"""Access tokens that must not work: expired, forged, unsigned (alg=none), wrong audience,
for a membership that was removed or a user who was deactivated."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.models import ApiKey, Membership, User
from agentdeck.identity.roles import Role
from agentdeck.identity.security import create_access_token
from tests.conftest import TEST_SECRET, Factory
from tests.identity.helpers import ME, USERS, counts, problem


def _claims(user_id: uuid.UUID, tenant_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(user_id),
        "tid": str(tenant_id),
        "role": "admin",
        "aud": "agentdeck",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_works(client: httpx.AsyncClient, factory: Factory) -> None:
    caller = await factory.user(Role.viewer)
    assert caller.user_id is not None
    token = jwt.encode(_claims(caller.user_id, caller.tenant_id, role="viewer"), TEST_SECRET)
    assert (await client.get(ME, headers=_bearer(token))).status_code == 200


@pytest.mark.parametrize(
    "case", ["expired", "forged", "alg-none", "wrong-audience", "garbage", "no-tenant"]
)
async def test_bad_tokens_are_401_unauthorized(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession, case: str
) -> None:
    caller = await factory.user(Role.admin)
    assert caller.user_id is not None
    claims = _claims(caller.user_id, caller.tenant_id)
    if case == "expired":
        token, _ = create_access_token(
            user_id=caller.user_id,
            tenant_id=caller.tenant_id,
            role=Role.admin,
            secret=TEST_SECRET,
            ttl_seconds=-5,
        )
    elif case == "forged":
        token = jwt.encode(claims, "another-secret-that-is-long-enough-0123456789")
    elif case == "alg-none":
        token = jwt.encode(claims, None, algorithm="none")
    elif case == "wrong-audience":
        token = jwt.encode({**claims, "aud": "someone-else"}, TEST_SECRET)
    elif case == "no-tenant":
        token = jwt.encode({k: v for k, v in claims.items() if k != "tid"}, TEST_SECRET)
    else:
        token = "not.a.jwt"
    before = await counts(session)
    response = await client.get(ME, headers=_bearer(token))
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    write = await client.post(
        USERS,
        json={
            "username": "sneaky",
            "email": "sneaky@example.test",
            "password": "long enough password",
        },
        headers=_bearer(token),
    )
    problem(write, 401, "unauthorized")
    assert await counts(session) == before


async def test_token_for_a_removed_membership_is_refused(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.admin)
    assert (await client.get(ME, headers=caller.headers)).status_code == 200
    await session.execute(delete(Membership).where(Membership.user_id == caller.user_id))
    await session.commit()
    problem(await client.get(ME, headers=caller.headers), 401, "unauthorized")


async def test_token_of_a_deactivated_user_is_refused(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.admin)
    await session.execute(update(User).where(User.id == caller.user_id).values(is_active=False))
    await session.commit()
    problem(await client.get(ME, headers=caller.headers), 401, "unauthorized")


async def test_token_for_another_tenant_than_the_membership_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    caller = await factory.user(Role.admin)
    other = await factory.tenant()
    assert caller.user_id is not None
    token = jwt.encode(_claims(caller.user_id, other.id), TEST_SECRET)
    problem(await client.get(ME, headers=_bearer(token)), 401, "unauthorized")


async def test_role_comes_from_the_membership_not_the_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    caller = await factory.user(Role.viewer)
    assert caller.user_id is not None
    token = jwt.encode(_claims(caller.user_id, caller.tenant_id, role="admin"), TEST_SECRET)
    problem(await client.get(USERS, headers=_bearer(token)), 403, "forbidden")


async def test_every_bad_credential_gets_the_same_answer(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    """Expired, forged, malformed, unknown, revoked: one text, so that a caller learns nothing
    about why (in particular not whether a signature it forged checked out)."""
    caller = await factory.user(Role.admin)
    assert caller.user_id is not None
    claims = _claims(caller.user_id, caller.tenant_id)
    expired, _ = create_access_token(
        user_id=caller.user_id,
        tenant_id=caller.tenant_id,
        role=Role.admin,
        secret=TEST_SECRET,
        ttl_seconds=-5,
    )
    revoked = await factory.api_key(Role.admin)
    expired_key = await factory.api_key(Role.admin)
    await session.execute(
        update(ApiKey).where(ApiKey.id == revoked.api_key_id).values(revoked_at=func.now())
    )
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == expired_key.api_key_id)
        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    gone = await factory.user(Role.admin)
    await session.execute(update(User).where(User.id == gone.user_id).values(is_active=False))
    await session.commit()
    cases = {
        "expired token": _bearer(expired),
        "bad signature": _bearer(jwt.encode(claims, "another-secret-that-is-long-enough-0123")),
        "malformed token": _bearer("not.a.jwt"),
        # signed with the right key (as if forged with it): a user that does not exist
        "unknown user": _bearer(jwt.encode(_claims(uuid.uuid4(), caller.tenant_id), TEST_SECRET)),
        "inactive user": gone.headers,
        "unknown API key": {"X-API-Key": "adk_" + "x" * 43},
        "unknown API key as bearer": _bearer("adk_" + "y" * 43),
        "revoked API key": revoked.headers,
        "expired API key": expired_key.headers,
    }
    answers = {}
    for case, headers in cases.items():
        response = await client.get(ME, headers=headers)
        body = problem(response, 401, "unauthorized")
        body.pop("request_id", None)
        answers[case] = (body, response.headers["www-authenticate"])
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
