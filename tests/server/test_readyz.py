"""/readyz checks every configured component by a round trip: 503 problem naming the failed
ones while Redis or VictoriaMetrics is down, 200 again once it is back; checks registered by
later components take part; probes share one run and its cached verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

from agentdeck.identity.roles import Role
from agentdeck.server.readiness import Readiness
from tests.conftest import Factory
from tests.drills.support import readyz_until
from tests.redis_server import RedisServer, private_redis  # noqa: F401
from tests.tsdb.conftest import VictoriaMetricsServer, vm_binary

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
DEADLINE_S = 20.0


def readiness_of(client: httpx.AsyncClient) -> Readiness:
    registry: Readiness = client.app.state.deck.readiness  # type: ignore[attr-defined]
    return registry


def components(response: httpx.Response) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in response.json()["components"]}


def assert_not_ready(response: httpx.Response, failed: list[str]) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/not-ready"
    assert body["status"] == 503
    assert body["failed"] == failed
    for name in failed:
        assert name in body["detail"]
    for name, component in components(response).items():
        assert component["ok"] is (name not in failed), component
        assert (component["status"] == "ok") is (name not in failed), component


async def test_ready_lists_every_configured_component(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"
    found = components(response)
    # no Redis configured; the fleet driver says which it is and how it limits replicas
    assert set(found) == {"database", "migrations", "metrics_store", "log_store", "fleet"}
    assert all(c["ok"] and c["status"] == "ok" for c in found.values())
    assert "series" not in response.text  # public: no count of every tenant's series


async def test_redis_down_is_named_and_requests_still_work(
    private_redis: RedisServer,  # noqa: F811  # before app_factory: stops after the app
    app_factory: AppFactory,
    factory: Factory,
) -> None:
    client = await app_factory(redis_url=private_redis.url)
    caller = await factory.api_key(Role.viewer)
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert components(response)["redis"]["ok"] is True

    private_redis.stop()
    assert_not_ready(await readyz_until(client, 503, DEADLINE_S), ["redis"])
    me = await client.get("/api/v1/auth/me", headers=caller.headers)
    assert me.status_code == 200, me.text  # rate limits fail open

    private_redis.start()
    response = await readyz_until(client, 200, DEADLINE_S)
    assert components(response)["redis"]["ok"] is True


async def test_victoriametrics_down_is_named_until_it_is_back(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    binary = vm_binary()
    data = tmp_path / "vm"
    server = VictoriaMetricsServer(binary, data)
    try:
        await asyncio.to_thread(server.wait_ready)
        client = await app_factory(
            tsdb={"backend": "victoriametrics", "victoriametrics_url": server.url}
        )
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert components(response)["metrics_store"]["ok"] is True

        await asyncio.to_thread(server.stop)
        assert_not_ready(await readyz_until(client, 503, DEADLINE_S), ["metrics_store"])

        server = VictoriaMetricsServer(binary, data, port=server.port)
        await asyncio.to_thread(server.wait_ready)
        response = await readyz_until(client, 200, DEADLINE_S)
        assert components(response)["metrics_store"]["ok"] is True
    finally:
        await asyncio.to_thread(server.stop)


async def test_registered_checks_take_part_with_their_timeout(app_factory: AppFactory) -> None:
    client = await app_factory()
    readiness = readiness_of(client)
    never = asyncio.Event()

    async def stuck() -> str:
        await never.wait()
        return "unreachable"

    async def broken() -> str:
        raise ConnectionRefusedError("secret-host:1234 refused")

    readiness.register("tracing_store", stuck, timeout=0.2)
    readiness.register("fleet_driver", broken)
    response = await readyz_until(client, 503, DEADLINE_S)
    assert_not_ready(response, ["tracing_store", "fleet_driver"])
    found = components(response)
    assert found["tracing_store"]["status"] == "timeout"
    assert found["fleet_driver"]["status"] == "error"
    assert found["fleet_driver"]["detail"] == "ConnectionRefusedError"
    assert "secret-host" not in response.text  # the error's text stays in the log


async def test_concurrent_probes_share_one_run_and_its_verdict(app_factory: AppFactory) -> None:
    client = await app_factory(server={"readiness_cache_seconds": 60})
    readiness = readiness_of(client)
    runs = 0
    release = asyncio.Event()
    started = asyncio.Event()

    async def counted() -> str:
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()
        return "answered"

    readiness.register("counted", counted)
    probes = [asyncio.create_task(client.get("/readyz")) for _ in range(8)]
    await asyncio.wait_for(started.wait(), 10)
    release.set()
    responses = await asyncio.gather(*probes)
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.text for r in responses}) == 1
    assert (await client.get("/readyz")).text == responses[0].text  # cached
    assert runs == 1
