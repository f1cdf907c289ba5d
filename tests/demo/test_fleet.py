"""The demo fleet in the registry, its API key, and the `--demo` hook in the app lifespan."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.demo.fleet import KEY_NAME, prepare_fleet
from agentdeck.demo.runner import DemoSimulator
from agentdeck.demo.simulate import Template
from agentdeck.identity.bootstrap import ensure_first_admin
from agentdeck.identity.models import ApiKey, Membership
from agentdeck.identity.roles import Role

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


def _closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_fleet_covers_thirty_agents_once_and_keeps_the_admin_under_quota(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await ensure_first_admin(session)
    assert admin is not None
    await session.commit()

    fleet = await prepare_fleet(session)
    assert 28 <= len(fleet.agents) <= 32
    assert {a.template for a in fleet.agents} == set(Template)
    assert len({a.name for a in fleet.agents}) == len(fleet.agents)
    total = await session.scalar(
        select(func.count()).select_from(Agent).where(Agent.tenant_id == fleet.tenant_id)
    )
    admin_id = await session.scalar(
        select(Membership.user_id).where(Membership.tenant_id == fleet.tenant_id)
    )
    owned = await session.scalar(
        select(func.count()).select_from(Agent).where(Agent.owner_id == admin_id)
    )
    assert owned is not None and 0 < owned < 10  # the default quota of 10 still has room

    # A second start registers nothing more, revokes the old key and makes a new one.
    again = await prepare_fleet(session)
    assert again.agents == fleet.agents
    assert total == await session.scalar(
        select(func.count()).select_from(Agent).where(Agent.tenant_id == fleet.tenant_id)
    )
    keys = (await session.scalars(select(ApiKey).where(ApiKey.name == KEY_NAME))).all()
    assert len(keys) == 2
    assert sum(k.revoked_at is None for k in keys) == 1
    for key in keys:  # only hashes are stored
        assert fleet.api_key not in (key.key_hash, key.prefix)
        assert again.api_key not in (key.key_hash, key.prefix)

    # The new key works (role developer: it can read and ingest), the old one no longer does.
    response = await client.get("/api/v1/agents", headers={"X-API-Key": again.api_key})
    assert response.status_code == 200
    assert len(response.json()["items"]) == total
    stale = await client.get("/api/v1/agents", headers={"X-API-Key": fleet.api_key})
    assert stale.status_code == 401
    assert [k.role for k in keys] == [Role.developer, Role.developer]


async def test_demo_flag_starts_the_simulator_and_shutdown_stops_it(
    app_factory: AppFactory, session: AsyncSession
) -> None:
    plain = await app_factory()
    assert plain.app.state.deck.demo is None  # type: ignore[attr-defined]

    # Nothing listens on the configured port: the simulator registers the fleet and waits.
    demo_client = await app_factory(
        features={"demo": True, "demo_interval_seconds": 2.5},
        server={"port": _closed_port(), "host": "0.0.0.0"},
    )
    demo: DemoSimulator = demo_client.app.state.deck.demo  # type: ignore[attr-defined]
    assert demo is not None
    assert demo.interval_s == 2.5
    await asyncio.wait_for(demo.prepared.wait(), timeout=30)
    assert demo.fleet is not None and len(demo.fleet.agents) >= 28
    assert not demo.backfilled.is_set()
    count = await session.scalar(select(func.count()).select_from(Agent))
    assert count is not None and count >= 30
    await demo.stop()  # the lifespan calls it again on shutdown; twice is fine
    assert demo.posted_samples == 0
