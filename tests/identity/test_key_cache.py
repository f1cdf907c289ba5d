"""The short-lived cache of API-key principals: a known key skips the database, a revoked key
is refused from the next request (on this replica and, over the Redis bus, on the others),
entries end at their TTL, at the key's expiry and at the size bound."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.models import ApiKey
from agentdeck.identity.principal import Principal
from agentdeck.identity.principal_cache import PrincipalCache, credential_digest
from agentdeck.identity.roles import Role
from agentdeck.server.state import AppState
from tests.conftest import REDIS_URL, Factory
from tests.identity.helpers import KEYS, ME, AppFactory, problem

DEADLINE = 10.0


def _state(client: httpx.AsyncClient) -> AppState:
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    return state


async def _key(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> tuple[str, str]:
    response = await client.post(
        KEYS, json={"name": "cached", "role": "viewer"}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["key"]


async def test_a_known_key_is_served_from_the_cache_until_its_ttl(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    client = await app_factory(auth={"principal_cache_seconds": 60})
    admin = await factory.user(Role.admin)
    key_id, key = await _key(client, admin.headers)
    assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 200
    # deleted behind the server's back: the cached principal still answers (within the TTL)
    await session.execute(delete(ApiKey).where(ApiKey.id == uuid.UUID(key_id)))
    await session.commit()
    assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 200
    # ... and not once the cache is dropped
    _state(client).principals.invalidate()
    problem(await client.get(ME, headers={"X-API-Key": key}), 401, "unauthorized")


async def test_a_revoked_key_is_refused_at_once_although_it_was_cached(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(auth={"principal_cache_seconds": 60})
    admin = await factory.user(Role.admin)
    key_id, key = await _key(client, admin.headers)
    for _ in range(3):
        assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 200
    response = await client.delete(f"{KEYS}/{key_id}", headers=admin.headers)
    assert response.status_code == 204
    body = problem(await client.get(ME, headers={"X-API-Key": key}), 401, "unauthorized")
    assert "revoked" in body["detail"]


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other(
    app_factory: AppFactory, factory: Factory, tmp_path: Path
) -> None:
    """Two app instances sharing the database and the real Redis bus (each with its own
    metrics store, as separate processes would have)."""
    one, two = [
        await app_factory(
            redis_url=REDIS_URL, auth={"principal_cache_seconds": 60}, data_dir=tmp_path / name
        )
        for name in ("one", "two")
    ]
    admin = await factory.user(Role.admin)
    key_id, key = await _key(one, admin.headers)
    assert (await two.get(ME, headers={"X-API-Key": key})).status_code == 200
    cache_two = _state(two).principals
    assert cache_two.get(credential_digest(key)) is not None
    generation = cache_two.generation

    assert (await one.delete(f"{KEYS}/{key_id}", headers=admin.headers)).status_code == 204
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while cache_two.generation == generation:  # the invalidation travels over Redis
        assert loop.time() < end, "the other replica never heard of the revocation"
        await asyncio.sleep(0.005)
    body = problem(await two.get(ME, headers={"X-API-Key": key}), 401, "unauthorized")
    assert "revoked" in body["detail"]


# --- the cache itself, on an injected clock --------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _principal(name: str = "k") -> Principal:
    return Principal(
        kind="api_key", id=uuid.uuid4(), name=name, tenant_id=uuid.uuid4(), role=Role.viewer
    )


def test_entries_end_at_the_ttl() -> None:
    clock = Clock()
    cache = PrincipalCache(ttl=5, size=10, clock=clock)
    who = _principal()
    cache.put(b"a", who, generation=cache.generation)
    clock.now += 4.9
    assert cache.get(b"a") == who
    clock.now += 0.2
    assert cache.get(b"a") is None


def test_an_entry_never_outlives_the_keys_expiry() -> None:
    clock = Clock()
    cache = PrincipalCache(ttl=60, size=10, clock=clock)
    cache.put(
        b"a",
        _principal(),
        generation=cache.generation,
        expires_at=datetime.now(UTC) + timedelta(seconds=2),
    )
    assert cache.get(b"a") is not None
    clock.now += 2.5
    assert cache.get(b"a") is None
    cache.put(b"b", _principal(), generation=cache.generation, expires_at=datetime.now(UTC))
    assert cache.get(b"b") is None


def test_a_lookup_that_began_before_an_invalidation_is_not_stored() -> None:
    cache = PrincipalCache(ttl=60, size=10, clock=Clock())
    began = cache.generation
    cache.invalidate()  # a revocation committed while the lookup read the database
    cache.put(b"a", _principal(), generation=began)
    assert cache.get(b"a") is None
    cache.put(b"a", _principal(), generation=cache.generation)
    assert cache.get(b"a") is not None


def test_the_cache_is_bounded_and_a_ttl_of_zero_turns_it_off() -> None:
    cache = PrincipalCache(ttl=60, size=3, clock=Clock())
    for name in "abcd":
        cache.put(name.encode(), _principal(name), generation=cache.generation)
    assert len(cache) == 3
    assert cache.get(b"a") is None  # the oldest went first
    assert [cache.get(n).name for n in (b"b", b"c", b"d")] == ["b", "c", "d"]  # type: ignore[union-attr]
    off = PrincipalCache(ttl=0, size=3, clock=Clock())
    off.put(b"a", _principal(), generation=off.generation)
    assert off.get(b"a") is None
