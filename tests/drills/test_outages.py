"""Drills: a backing service goes down under a running server and comes back.

For each: what /readyz says, what clients get (503 problem+json with Retry-After for what cannot
be kept, never an acknowledgement), that everything acknowledged is still there afterwards, and
that the same process recovers without a restart. The state database (SQLite or PostgreSQL,
whichever the run uses) stays up; its own restart is test_postgresql_restart.py."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.drills.support import (
    INTERNALS,
    assert_stored,
    assert_unavailable,
    metric_batch,
    readyz_until,
)
from tests.logstore.conftest import ClickHouseServer, clickhouse_binary
from tests.redis_server import RedisServer, private_redis  # noqa: F401
from tests.tsdb.conftest import VictoriaMetricsServer, vm_binary

pytestmark = pytest.mark.timeout(240)
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


async def _ingest(client: httpx.AsyncClient, headers: dict[str, str], value: float) -> int:
    answer = await client.post(
        "/api/v1/metrics/batch", json=metric_batch("drill_value", value), headers=headers
    )
    return answer.status_code


async def test_victoriametrics_down_refuses_ingest_and_recovers(
    app_factory: AppFactory, factory: Factory, tmp_path: Path
) -> None:
    binary, data = vm_binary(), tmp_path / "vm"
    vm = VictoriaMetricsServer(binary, data)
    try:
        await asyncio.to_thread(vm.wait_ready)
        client = await app_factory(
            tsdb={"backend": "victoriametrics", "victoriametrics_url": vm.url}
        )
        caller = await factory.api_key(Role.developer)
        assert await _ingest(client, caller.headers, 1.0) == 200

        await asyncio.to_thread(vm.stop)
        down = await readyz_until(client, 503)
        assert down.json()["failed"] == ["metrics_store"], down.text
        refused = await client.post(
            "/api/v1/metrics/batch", json=metric_batch("drill_value", 2.0), headers=caller.headers
        )
        # neither answer names the store's address (the full error is in the server's log)
        assert_unavailable(refused, "store-unavailable", vm.url, str(data))
        query = await client.get(
            "/api/v1/metrics", params={"name": "drill_value"}, headers=caller.headers
        )
        assert_unavailable(query, "store-unavailable", vm.url, str(data))
        # the Prometheus API answers in its own error shape, naming no internals either
        promql = await client.get(
            "/api/v1/query", params={"query": "drill_value"}, headers=caller.headers
        )
        assert promql.status_code == 503, promql.text
        assert promql.json()["errorType"] == "unavailable", promql.text
        assert not INTERNALS.search(promql.json()["error"]), promql.text
        assert vm.url not in promql.text and str(data) not in promql.text, promql.text
        # the rest of the API does not need the store
        assert (await client.get("/api/v1/agents", headers=caller.headers)).status_code == 200

        vm = VictoriaMetricsServer(binary, data, port=vm.port)
        await asyncio.to_thread(vm.wait_ready)
        await readyz_until(client, 200)
        assert await _ingest(client, caller.headers, 3.0) == 200
        # acknowledged before the outage and after it; the refused one was never stored
        await assert_stored(client, caller.headers, "drill_value", [1.0, 3.0])
    finally:
        await asyncio.to_thread(vm.stop)


async def test_redis_down_keeps_ingest_and_recovers(
    private_redis: RedisServer,  # noqa: F811  # before app_factory: stops after the app
    app_factory: AppFactory,
    factory: Factory,
) -> None:
    client = await app_factory(redis_url=private_redis.url)
    caller = await factory.api_key(Role.developer)
    assert await _ingest(client, caller.headers, 1.0) == 200

    private_redis.stop()
    down = await readyz_until(client, 503)
    assert down.json()["failed"] == ["redis"], down.text
    # ingest and reads do not need Redis: acknowledged samples are stored (live events between
    # replicas stop; rate limits fail open by default)
    assert await _ingest(client, caller.headers, 2.0) == 200
    await assert_stored(client, caller.headers, "drill_value", [1.0, 2.0])

    private_redis.start()
    up = await readyz_until(client, 200)
    assert {c["name"]: c["ok"] for c in up.json()["components"]}["redis"] is True
    assert await _ingest(client, caller.headers, 3.0) == 200
    await assert_stored(client, caller.headers, "drill_value", [1.0, 2.0, 3.0])


class _RestartableClickHouse(ClickHouseServer):
    """A ClickHouse server that can be started again on its ports and data."""

    def __init__(self, binary: str, root: Path) -> None:
        super().__init__(binary, root)
        self.binary, self.root = binary, root

    def start_again(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, f"--config-file={self.root / 'config.xml'}"],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()
        self.wait_ready()


async def test_clickhouse_down_refuses_log_ingest_and_recovers(
    app_factory: AppFactory, factory: Factory, tmp_path: Path
) -> None:
    server = _RestartableClickHouse(clickhouse_binary(), tmp_path / "clickhouse")
    try:
        await asyncio.to_thread(server.wait_ready)
        client = await app_factory(
            logs={"backend": "clickhouse", "clickhouse_url": server.url},
            logintel={"mining_enabled": False},
        )
        caller = await factory.api_key(Role.developer)

        async def send(message: str) -> httpx.Response:
            entry = {"severity": "ERROR", "service": "drill", "message": message}
            return await client.post(
                "/api/v1/logs/batch", json={"entries": [entry]}, headers=caller.headers
            )

        assert (await send("before the outage")).status_code == 200

        await asyncio.to_thread(server.stop)
        down = await readyz_until(client, 503)
        assert down.json()["failed"] == ["log_store"], down.text
        address = f"127.0.0.1:{server.tcp_port}"
        assert_unavailable(await send("during the outage"), "log-store-unavailable", address)
        search = await client.get(
            "/api/v1/logs", params={"query": '{service="drill"}'}, headers=caller.headers
        )
        assert_unavailable(search, "log-store-unavailable", address)
        assert await _ingest(client, caller.headers, 1.0) == 200  # metrics do not need it

        await asyncio.to_thread(server.start_again)
        await readyz_until(client, 200, deadline_s=60)
        assert (await send("after the outage")).status_code == 200
        found = await client.get(
            "/api/v1/logs", params={"query": '{service="drill"}'}, headers=caller.headers
        )
        assert found.status_code == 200, found.text
        messages = sorted(line["message"] for line in found.json()["items"])
        assert messages == ["after the outage", "before the outage"]
    finally:
        await asyncio.to_thread(server.stop)
