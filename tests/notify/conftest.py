from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory


@pytest.fixture
async def api(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> httpx.AsyncClient:
    """The app without background loops (tests drive the delivery worker themselves)."""
    return await app_factory(loops={"enabled": False}, rate_limit={"enabled": False})


@pytest.fixture
async def admin(factory: Factory) -> Caller:
    return await factory.user(Role.admin)
