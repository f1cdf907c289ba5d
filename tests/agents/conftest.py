"""Fixtures for the agent registry tests: a tenant with callers of each role."""

from __future__ import annotations

import pytest

from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory


@pytest.fixture
async def tenant(factory: Factory) -> Tenant:
    return await factory.tenant()


@pytest.fixture
async def dev(factory: Factory, tenant: Tenant) -> Caller:
    return await factory.user(Role.developer, tenant)


@pytest.fixture
async def viewer(factory: Factory, tenant: Tenant) -> Caller:
    return await factory.user(Role.viewer, tenant)
