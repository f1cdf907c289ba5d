"""Fixtures of the fleet tests: fast fleet settings, callers of each role, agent programs.

The programs are small Python scripts written into the test's directory and run as real
processes by the local driver; the settings make backoffs, grace periods and probes short so a
test waits a second, not minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory
from tests.fleet.programs import write_programs

#: Short enough for tests; the shapes are the production ones.
FAST_FLEET: dict[str, Any] = {
    "reconcile_interval_seconds": 0.2,
    "grace_period_seconds": 1.0,
    "backoff_initial_seconds": 0.05,
    "backoff_max_seconds": 0.4,
    "backoff_reset_seconds": 3.0,
    "crash_loop_restarts": 3,
    "readiness_deadline_seconds": 20.0,
    "probe_interval_seconds": 0.3,
    "startup_probe_interval_seconds": 0.05,
    "min_ready_seconds": 0.2,
    "log_poll_seconds": 0.05,
}

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
async def tenant(factory: Factory) -> Tenant:
    return await factory.tenant()


@pytest.fixture
async def dev(factory: Factory, tenant: Tenant) -> Caller:
    return await factory.user(Role.developer, tenant)


@pytest.fixture
async def viewer(factory: Factory, tenant: Tenant) -> Caller:
    return await factory.user(Role.viewer, tenant)


@pytest.fixture
def programs(tmp_path: Path) -> dict[str, Path]:
    return write_programs(tmp_path / "programs")


@pytest.fixture
async def fleet_client(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(fleet=dict(FAST_FLEET))
