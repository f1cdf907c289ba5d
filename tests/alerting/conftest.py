"""Fixtures for the alerting tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest

from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.identity.roles import Role
from agentdeck.settings import Settings
from tests.alerting.routing_fixtures import World
from tests.conftest import Caller, Factory


@pytest.fixture
async def world(settings: Settings, factory: Factory) -> AsyncIterator[World]:
    engine = create_engine(settings.database)
    tenant = await factory.tenant()
    yield World(create_session_factory(engine), tenant)
    await engine.dispose()


@pytest.fixture
async def api(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> httpx.AsyncClient:
    """The app without background loops, so only the test drives the dispatcher."""
    return await app_factory(loops={"enabled": False})


@pytest.fixture
async def admin(factory: Factory, world: World) -> Caller:
    return await factory.user(Role.admin, world.tenant)


@pytest.fixture
async def dev(factory: Factory, world: World) -> Caller:
    return await factory.user(Role.developer, world.tenant)
