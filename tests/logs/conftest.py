"""Helpers for the logs tests: an app with an ingest key and a viewer in one tenant."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory
from tests.realtime.conftest import live_server  # noqa: F401  (a fixture for the tail tests)

NS = 1_000_000_000
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@dataclass
class Deck:
    """An app, a tenant, a developer API key that ingests and a viewer who reads."""

    api: httpx.AsyncClient
    tenant: Tenant
    ingest: Caller
    viewer: Caller

    async def batch(self, entries: list[dict[str, Any]], **kwargs: Any) -> httpx.Response:
        return await self.api.post(
            "/api/v1/logs/batch", json={"entries": entries}, headers=self.ingest.headers, **kwargs
        )

    async def search(self, query: str = "", **params: Any) -> list[dict[str, Any]]:
        response = await self.api.get(
            "/api/v1/logs",
            params={"query": query, "limit": 5000, **params},
            headers=self.viewer.headers,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def messages(self, query: str = "", **params: Any) -> list[str]:
        return sorted(line["message"] for line in await self.search(query, **params))


async def make_deck(app_factory: AppFactory, factory: Factory, **settings: Any) -> Deck:
    api = await app_factory(**settings)
    tenant = await factory.tenant()
    ingest = await factory.api_key(Role.developer, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    return Deck(api=api, tenant=tenant, ingest=ingest, viewer=viewer)


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def entry(message: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"severity": "INFO", "service": "api", "message": message}
    values.update(fields)
    return values


def now_ns() -> int:
    return time.time_ns()
