"""``GET /api/v1/real-time-metrics``: invariants over real health endpoints, tenancy, cache."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory

URL = "/api/v1/real-time-metrics"
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
PROBE_TIMEOUT = 0.3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HealthServers:
    """Local HTTP health endpoints: one answers 200, one 500, one never answers."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.servers: list[asyncio.Server] = []
        self.urls: dict[str, str] = {}

    async def start(self) -> None:
        for kind in ("ok", "fail", "hang"):
            server = await asyncio.start_server(self._handler(kind), "127.0.0.1", 0)
            self.servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.urls[kind] = f"http://127.0.0.1:{port}/healthz"
        self.urls["closed"] = f"http://127.0.0.1:{_free_port()}/healthz"

    def _handler(
        self, kind: str
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            if kind == "hang":
                await self.release.wait()
            else:
                status = "200 OK" if kind == "ok" else "500 Internal Server Error"
                head = f"HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
                writer.write(head.encode() + b"ok")
                await writer.drain()
            writer.close()

        return handle

    async def stop(self) -> None:
        self.release.set()
        for server in self.servers:
            server.close()
            await server.wait_closed()


@pytest.fixture
async def health() -> AsyncIterator[HealthServers]:
    servers = HealthServers()
    await servers.start()
    yield servers
    await servers.stop()


async def _app(app_factory: AppFactory, **realtime: Any) -> httpx.AsyncClient:
    return await app_factory(
        realtime={"health_probe_timeout_seconds": PROBE_TIMEOUT, **realtime},
        loops={"enabled": False},
    )


async def _agent(
    client: httpx.AsyncClient, dev: Caller, name: str, health_url: str | None = None
) -> str:
    config = {"health_url": health_url} if health_url else {}
    response = await client.post(
        "/api/v1/agents", json={"name": name, "type": "llm", "config": config}, headers=dev.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _seen(session: AsyncSession, agent_id: str, ago: timedelta) -> None:
    await session.execute(
        update(Agent)
        .where(Agent.id == uuid.UUID(agent_id))
        .values(last_seen_at=datetime.now(UTC) - ago)
    )
    await session.commit()


def assert_invariants(body: dict[str, Any]) -> None:
    summary = body["health_summary"]
    assert summary["healthy"] == body["api_calls_active"]
    assert summary["unhealthy"] == body["inactive_apis"] + body["error_apis"]
    total = summary["healthy"] + summary["unhealthy"]
    assert total == summary["total"] == body["total_apis"] == len(body["api_metrics"])
    expected = round(100 * summary["healthy"] / total, 1) if total else 0
    assert summary["health_percentage"] == expected
    keys = {
        "service", "agent_id", "status", "response_time_ms", "last_check", "last_success",
        "error_rate", "error",
    }  # fmt: skip
    for entry in body["api_metrics"]:
        assert set(entry) == keys
        assert (entry["error"] is None) == (entry["status"] == "healthy")
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


async def test_a_mixed_fleet_keeps_every_entry_and_the_invariants(
    app_factory: AppFactory, factory: Factory, session: AsyncSession, health: HealthServers
) -> None:
    client = await _app(app_factory)
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    for kind, url in health.urls.items():
        await _agent(client, dev, f"probe-{kind}", url)
    fresh = await _agent(client, dev, "beat-fresh")
    stale = await _agent(client, dev, "beat-stale")
    await _agent(client, dev, "beat-never")
    await _seen(session, fresh, timedelta(seconds=5))
    await _seen(session, stale, timedelta(hours=2))

    ingest = await client.post(
        "/api/v1/metrics/batch",
        json={"samples": [{"name": "agent_up", "value": 1, "labels": {"agent": "probe-ok"}}] * 3},
        headers=dev.headers,
    )
    assert ingest.json()["accepted"] == 3

    started = time.monotonic()
    response = await client.get(URL, headers=viewer.headers)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < PROBE_TIMEOUT + 2  # the hanging probe did not stall it
    body = response.json()
    assert_invariants(body)
    by_name = {e["service"]: e for e in body["api_metrics"]}
    assert {n: e["status"] for n, e in by_name.items()} == {
        "probe-ok": "healthy",
        "probe-fail": "unhealthy",
        "probe-hang": "timeout",
        "probe-closed": "error",
        "beat-fresh": "healthy",
        "beat-stale": "unhealthy",
        "beat-never": "unhealthy",
    }
    assert by_name["probe-ok"]["response_time_ms"] is not None
    assert by_name["probe-ok"]["last_success"] is not None
    assert by_name["probe-fail"]["response_time_ms"] is not None
    assert "500" in by_name["probe-fail"]["error"]
    for name in ("probe-hang", "probe-closed", "beat-never"):
        assert by_name[name]["response_time_ms"] is None
        assert by_name[name]["last_success"] is None
        assert by_name[name]["error_rate"] == 1
    assert body["api_calls_active"] == 2
    assert (body["inactive_apis"], body["error_apis"], body["total_apis"]) == (3, 2, 7)
    assert body["health_summary"]["health_percentage"] == 28.6
    assert body["events_per_second"] == round(3 / 60, 3)
    assert body["data_sources_active"] == ["beat-fresh", "probe-ok"]
    assert body["trends"]["events_per_second"] == {"previous": 0, "trend": "up"}
    assert body["trends"]["api_calls_active"]["trend"] == "flat"


async def test_an_empty_tenant_answers_zeros_and_tenants_are_isolated(
    app_factory: AppFactory, factory: Factory, health: HealthServers
) -> None:
    client = await _app(app_factory)
    busy = await factory.tenant()
    dev = await factory.user(Role.developer, busy)
    await _agent(client, dev, "mine", health.urls["ok"])
    await client.post(
        "/api/v1/metrics/batch",
        json={"samples": [{"name": "agent_up", "value": 1, "labels": {"agent": "mine"}}]},
        headers=dev.headers,
    )
    stranger = await factory.user(Role.viewer)
    body = (await client.get(URL, headers=stranger.headers)).json()
    assert_invariants(body)
    assert body["api_metrics"] == [] and body["total_apis"] == 0
    assert body["health_summary"] == {
        "healthy": 0, "unhealthy": 0, "total": 0, "health_percentage": 0
    }  # fmt: skip
    assert body["events_per_second"] == 0
    assert body["data_sources_active"] == []
    mine = (await client.get(URL, headers=dev.headers)).json()
    assert [e["service"] for e in mine["api_metrics"]] == ["mine"]
    assert mine["data_sources_active"] == ["mine"]


async def test_concurrent_callers_share_one_computation_and_the_cache(
    app_factory: AppFactory, factory: Factory, health: HealthServers
) -> None:
    client = await _app(app_factory, overview_cache_seconds=60)
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    await _agent(client, dev, "slow", health.urls["hang"])  # every computation takes a while
    overview = client.app.state.deck.overview  # type: ignore[attr-defined]
    responses = await asyncio.gather(*(client.get(URL, headers=dev.headers) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert overview.computations == 1
    assert len({r.json()["timestamp"] for r in responses}) == 1
    # later calls within the TTL are served from the cache
    again = await client.get(URL, headers=dev.headers)
    assert again.json() == responses[0].json()
    assert overview.computations == 1


async def test_more_concurrent_callers_than_pooled_connections_are_all_answered(
    app_factory: AppFactory, factory: Factory
) -> None:
    """Callers waiting for the shared computation hold no database connection, so a burst
    larger than the pool (SQLite 15, PostgreSQL 20 here) cannot starve the computation."""
    client = await _app(app_factory, overview_cache_seconds=60)
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    await _agent(client, dev, "one")
    overview = client.app.state.deck.overview  # type: ignore[attr-defined]
    burst = asyncio.gather(*(client.get(URL, headers=dev.headers) for _ in range(60)))
    responses = await asyncio.wait_for(burst, timeout=15)
    assert [r.status_code for r in responses] == [200] * 60
    assert overview.computations == 1
    assert {r.json()["api_metrics"][0]["service"] for r in responses} == {"one"}


async def test_anonymous_callers_are_refused(app_factory: AppFactory) -> None:
    client = await _app(app_factory)
    response = await client.get(URL)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
