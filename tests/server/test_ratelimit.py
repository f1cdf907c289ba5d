"""Rate limits: 429 problem with Retry-After and RateLimit-* headers, separate budgets per class
and per principal, off switch, and the memory and Redis backends (Redis shared by replicas)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.identity.roles import Role
from tests.conftest import REDIS_URL, Caller, Factory
from tests.redis_server import RedisServer, private_redis  # noqa: F401

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
LIMITS = {"write": "3/minute", "read": "5/minute"}
READ = "/api/v1/auth/me"  # any authenticated caller may GET it
WRITE = "/api/v1/agents"  # a management write (developer)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"redis_url": REDIS_URL} if request.param == "redis" else {}


async def start(app_factory: AppFactory, **overrides: Any) -> httpx.AsyncClient:
    return await app_factory(**overrides)


async def admin_key(factory: Factory) -> Caller:
    return await factory.api_key(Role.admin)


async def create_agent(client: httpx.AsyncClient, caller: Caller) -> httpx.Response:
    name = f"rl-{uuid.uuid4().hex[:10]}"
    return await client.post(WRITE, json={"name": name, "type": "llm"}, headers=caller.headers)


async def agent_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Agent)) or 0)


def assert_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/rate-limited"
    assert body["status"] == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60


async def test_reads_are_limited_with_headers(
    app_factory: AppFactory, factory: Factory, backend: dict[str, Any]
) -> None:
    client = await start(app_factory, rate_limit=LIMITS, **backend)
    key = await admin_key(factory)
    for remaining in (4, 3, 2, 1, 0):
        response = await client.get(READ, headers=key.headers)
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "5"
        assert response.headers["RateLimit-Remaining"] == str(remaining)
        assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60
        assert "Retry-After" not in response.headers
    assert_limited(await client.get(READ, headers=key.headers), 5)
    metrics = await client.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    samples = families["agentdeck_rate_limited"].samples
    assert any(s.labels == {"limit": "read"} and s.value == 1 for s in samples)


async def test_writes_have_their_own_budget(
    app_factory: AppFactory, factory: Factory, session: AsyncSession, backend: dict[str, Any]
) -> None:
    client = await start(app_factory, rate_limit=LIMITS, **backend)
    key = await admin_key(factory)
    for remaining in (2, 1, 0):
        response = await create_agent(client, key)
        assert response.status_code == 201
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == str(remaining)
    assert_limited(await create_agent(client, key), 3)
    assert await agent_count(session) == 3  # the refused write wrote nothing
    # the read budget is untouched by the writes
    read = await client.get(READ, headers=key.headers)
    assert read.status_code == 200
    assert read.headers["RateLimit-Remaining"] == "4"
    # and exhausting reads leaves writes limited, not reset
    for _ in range(4):
        assert (await client.get(READ, headers=key.headers)).status_code == 200
    assert_limited(await client.get(READ, headers=key.headers), 5)
    assert_limited(await create_agent(client, key), 3)


async def test_each_principal_has_its_own_budget(
    app_factory: AppFactory, factory: Factory, backend: dict[str, Any]
) -> None:
    client = await start(app_factory, rate_limit=LIMITS, **backend)
    tenant = await factory.tenant()
    first = await factory.api_key(Role.admin, tenant)
    second = await factory.api_key(Role.admin, tenant)
    user = await factory.user(Role.admin, tenant)
    for _ in range(5):
        assert (await client.get(READ, headers=first.headers)).status_code == 200
    assert_limited(await client.get(READ, headers=first.headers), 5)
    for caller in (second, user):
        response = await client.get(READ, headers=caller.headers)
        assert response.status_code == 200
        assert response.headers["RateLimit-Remaining"] == "4"


async def test_disabled_never_limits(
    app_factory: AppFactory, factory: Factory, backend: dict[str, Any]
) -> None:
    client = await start(
        app_factory,
        rate_limit={"enabled": False, "write": "1/minute", "read": "1/minute"},
        **backend,
    )
    key = await admin_key(factory)
    for _ in range(10):
        read = await client.get(READ, headers=key.headers)
        write = await create_agent(client, key)
        assert (read.status_code, write.status_code) == (200, 201)
        assert "RateLimit-Limit" not in read.headers
        assert "RateLimit-Limit" not in write.headers


async def test_unauthenticated_and_forbidden_calls_do_not_spend_the_budget(
    app_factory: AppFactory, factory: Factory, backend: dict[str, Any]
) -> None:
    client = await start(app_factory, rate_limit=LIMITS, **backend)
    tenant = await factory.tenant()
    viewer = await factory.api_key(Role.viewer, tenant)
    for _ in range(8):
        assert (await client.post(WRITE, json={})).status_code == 401
        assert (await create_agent(client, viewer)).status_code == 403
    dev = await factory.api_key(Role.developer, tenant)
    response = await create_agent(client, dev)
    assert response.status_code == 201
    assert response.headers["RateLimit-Remaining"] == "2"


async def test_replicas_sharing_redis_share_the_budget(
    app_factory: AppFactory, factory: Factory
) -> None:
    one = await start(app_factory, rate_limit=LIMITS, redis_url=REDIS_URL)
    two = await start(app_factory, rate_limit=LIMITS, redis_url=REDIS_URL)
    assert one.app is not two.app  # type: ignore[attr-defined]
    key = await admin_key(factory)
    for client in (one, two, one, two, one):
        assert (await client.get(READ, headers=key.headers)).status_code == 200
    assert_limited(await two.get(READ, headers=key.headers), 5)
    assert_limited(await one.get(READ, headers=key.headers), 5)
    # writes are shared as well
    for client in (two, one, two):
        assert (await create_agent(client, key)).status_code == 201
    assert_limited(await create_agent(one, key), 3)


async def test_memory_backed_replicas_count_separately(
    app_factory: AppFactory, factory: Factory
) -> None:
    one = await start(app_factory, rate_limit=LIMITS)
    two = await start(app_factory, rate_limit=LIMITS)
    key = await admin_key(factory)
    for _ in range(5):
        assert (await one.get(READ, headers=key.headers)).status_code == 200
    assert_limited(await one.get(READ, headers=key.headers), 5)
    response = await two.get(READ, headers=key.headers)
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "4"


async def test_redis_keys_are_namespaced(app_factory: AppFactory, factory: Factory) -> None:
    """Budgets live under the agentdeck prefix, so a shared Redis is not polluted."""
    from redis.asyncio import Redis

    client = await start(app_factory, rate_limit=LIMITS, redis_url=REDIS_URL)
    key = await admin_key(factory)
    assert (await client.get(READ, headers=key.headers)).status_code == 200
    redis = Redis.from_url(REDIS_URL)
    try:
        names = [k.decode() async for k in redis.scan_iter(match=f"*{key.api_key_id}*")]
    finally:
        await redis.aclose()
    assert names
    assert all(name.startswith("agentdeck-rl") for name in names)
    assert uuid.UUID(str(key.api_key_id))


# --- Redis down: fail open (default) or closed, never a 500 ---------------------------------


def backend_errors(text: str) -> dict[str, float]:
    families = {f.name: f for f in text_string_to_metric_families(text)}
    family = families.get("agentdeck_ratelimit_backend_errors")
    if family is None:
        return {}
    return {s.labels["limit"]: s.value for s in family.samples if s.name.endswith("_total")}


async def test_redis_down_fails_open_by_default_and_recovers(
    private_redis: RedisServer,  # noqa: F811  # before app_factory: stops after the app
    app_factory: AppFactory,
    factory: Factory,
) -> None:
    client = await start(app_factory, rate_limit=LIMITS, redis_url=private_redis.url)
    key = await admin_key(factory)
    assert (await client.get(READ, headers=key.headers)).headers["RateLimit-Remaining"] == "4"

    private_redis.stop()
    for _ in range(7):  # more than the read limit: nothing counts them while Redis is down
        response = await client.get(READ, headers=key.headers)
        assert response.status_code == 200, response.text
        assert "RateLimit-Limit" not in response.headers
    written = await create_agent(client, key)
    assert written.status_code == 201, written.text
    errors = backend_errors((await client.get("/metrics")).text)
    assert errors["read"] == 7
    assert errors["write"] == 1

    private_redis.start()  # an empty Redis: the budget starts again
    deadline = time.monotonic() + 20
    while (
        "RateLimit-Limit" not in (response := await client.get(READ, headers=key.headers)).headers
    ):
        assert response.status_code == 200, response.text
        assert time.monotonic() < deadline, "limits were not enforced again after Redis came back"
        await asyncio.sleep(0.05)
    assert response.headers["RateLimit-Limit"] == "5"


async def test_redis_down_fails_closed_with_503_when_configured(
    private_redis: RedisServer,  # noqa: F811
    app_factory: AppFactory,
    factory: Factory,
    session: AsyncSession,
) -> None:
    limits = {**LIMITS, "fail_open": False}
    client = await start(app_factory, rate_limit=limits, redis_url=private_redis.url)
    key = await admin_key(factory)
    assert (await client.get(READ, headers=key.headers)).status_code == 200

    private_redis.stop()
    before = await agent_count(session)
    for response in (await client.get(READ, headers=key.headers), await create_agent(client, key)):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/rate-limit-unavailable"
        assert int(response.headers["Retry-After"]) >= 1
    assert await agent_count(session) == before
    metrics = (await client.get("/metrics")).text
    assert backend_errors(metrics) == {"read": 1, "write": 1}
    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    assert not [s for s in families["agentdeck_rate_limited"].samples if s.value]  # no 429s
