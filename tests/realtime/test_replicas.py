"""Two real server processes sharing Redis and the database: an event published through one
reaches a WebSocket subscriber connected to the other."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from agentdeck.identity.roles import Role
from tests.conftest import REDIS_URL, TEST_SECRET, Factory
from tests.realtime.conftest import (
    DEADLINE,
    LiveServer,
    free_port,
    recv_type,
    subscribe,
    token_of,
)
from tests.realtime.conftest import authed as authed_on

ROOT = Path(__file__).resolve().parents[2]


class Replica:
    def __init__(self, port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.port, self.proc, self.log = port, proc, log
        self.base = f"http://127.0.0.1:{port}"

    def as_live(self) -> LiveServer:
        return LiveServer(app=None, port=self.port)  # type: ignore[arg-type]


@pytest.fixture
async def replicas(
    database_url: str, tmp_path: Path
) -> AsyncIterator[Callable[[], asyncio.Future[Replica]]]:
    started: list[Replica] = []

    async def start() -> Replica:
        port = free_port()
        data_dir = tmp_path / f"replica-{port}"  # each replica has its own DuckDB file
        env = {
            **os.environ,
            "AGENTDECK_ENVIRONMENT": "test",
            "AGENTDECK_DATABASE__URL": database_url,
            "AGENTDECK_REDIS_URL": REDIS_URL,
            "AGENTDECK_DATA_DIR": str(data_dir),
            "AGENTDECK_SECRET_KEY": TEST_SECRET,
            "AGENTDECK_LOG_LEVEL": "WARNING",
            "AGENTDECK_LOG_JSON": "true",
            "AGENTDECK_LOOPS__ENABLED": "false",
            "AGENTDECK_ENV_FILE": str(tmp_path / "none.env"),
        }
        log = tmp_path / f"replica-{port}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *[
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "tests.realtime.replica:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--ws",
                    "websockets-sansio",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        replica = Replica(port, proc, log)
        started.append(replica)
        loop = asyncio.get_running_loop()
        end = loop.time() + 75  # interpreter start and imports: slow on a loaded machine
        async with httpx.AsyncClient(base_url=replica.base, timeout=1) as client:
            while True:
                assert proc.returncode is None, log.read_text()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert loop.time() < end, "replica did not become ready:\n" + log.read_text()
                await asyncio.sleep(0.05)  # polling for readiness against a deadline
        return replica

    yield start  # type: ignore[misc]
    for replica in started:
        replica.proc.send_signal(signal.SIGTERM)
    for replica in started:
        await asyncio.wait_for(replica.proc.wait(), 15)


@pytest.mark.timeout(200)  # two interpreters start (heavy imports); slow on a loaded machine
async def test_an_event_published_on_one_replica_reaches_a_client_of_the_other(
    replicas: Callable[[], asyncio.Future[Replica]], factory: Factory
) -> None:
    one, two = await asyncio.gather(replicas(), replicas())
    viewer = await factory.user(Role.viewer)
    other = await factory.user(Role.viewer)
    try:
        async with (
            authed_on(two.as_live(), token_of(viewer)) as ws,
            authed_on(one.as_live(), token_of(other)) as ws_other,
        ):
            await subscribe(ws, "alerts")
            await subscribe(ws, "metrics", interval=0.05)
            await subscribe(ws_other, "alerts")
            async with httpx.AsyncClient(base_url=one.base, timeout=DEADLINE) as client:
                for i in range(3):
                    response = await client.post(
                        f"/_test/publish/{viewer.tenant_id}/alerts", json={"i": i}
                    )
                    assert response.status_code == 200, response.text
                response = await client.post(
                    f"/_test/publish/{viewer.tenant_id}/metrics",
                    json={"samples": [{"metric": "m", "labels": {}, "value": 2.5}]},
                )
                assert response.status_code == 200
            alerts = [await recv_type(ws, "event") for _ in range(3)]
            assert [(f["channel"], f["seq"], f["data"]) for f in alerts] == [
                ("alerts", i + 1, {"i": i}) for i in range(3)
            ]
            metrics = await recv_type(ws, "event")
            assert metrics["channel"] == "metrics"
            assert metrics["data"]["samples"][0]["value"] == 2.5
        # a client reconnecting to the other replica resumes from the shared stream
        async with authed_on(one.as_live(), token_of(viewer)) as ws:
            await ws.send('{"type": "resume", "channel": "alerts", "last_seq": 1}')
            frames = [await recv_type(ws, "event") for _ in range(2)]
            assert [f["seq"] for f in frames] == [2, 3]
    finally:
        client = Redis.from_url(REDIS_URL)
        for tenant in (viewer.tenant_id, other.tenant_id):
            keys = [k async for k in client.scan_iter(match=f"agentdeck:bus:*{tenant}*")]
            if keys:
                await client.delete(*keys)
        await client.aclose()
