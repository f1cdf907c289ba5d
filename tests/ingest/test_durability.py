"""Once ingest answered 2xx, the samples survive ``kill -9`` of the server.

A real ``agentdeck serve`` process takes batches from two concurrent senders; it is SIGKILLed
while requests are still in flight, started again on the same data directory, and stopped;
then every acknowledged sample is read back from the store file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from agentdeck.identity.roles import Role
from agentdeck.tsdb.base import Matcher, MatchOp
from agentdeck.tsdb.duckdb import DuckDBStore
from tests.conftest import TEST_SECRET, Factory

BATCH = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(database_url: str, data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "AGENTDECK_DATABASE__URL": database_url,
        "AGENTDECK_DATA_DIR": str(data_dir),
        "AGENTDECK_SECRET_KEY": TEST_SECRET,
        "AGENTDECK_LOG_JSON": "true",
        "AGENTDECK_RATE_LIMIT__ENABLED": "false",
    }
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentdeck.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not become ready:\n" + log.read_text()
        time.sleep(0.1)  # polling for readiness


def _batch(sender: int, number: int, t0: int) -> dict[str, object]:
    return {
        "samples": [
            {
                "name": "durable_total",
                "value": i,
                "timestamp": t0 + i,
                "labels": {"sender": str(sender), "batch": str(number)},
            }
            for i in range(BATCH)
        ]
    }


@pytest.fixture
async def ingest_key(factory: Factory) -> tuple[str, uuid.UUID]:
    """A developer API key (plaintext) in a fresh tenant of the test database."""
    key = await factory.api_key(Role.developer)
    assert key.api_key is not None
    return key.api_key, key.tenant_id


@pytest.mark.timeout(150)  # two server starts, each slow on a loaded 2-core machine
def test_acknowledged_samples_survive_sigkill(
    database_url: str, ingest_key: tuple[str, uuid.UUID], tmp_path: Path
) -> None:
    api_key, tenant_id = ingest_key
    data_dir = tmp_path / "server"
    log = tmp_path / "serve.log"
    proc, base = _start(database_url, data_dir, log)
    acknowledged: list[tuple[int, int]] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()
    t0 = time.time_ns() // 1_000_000 - 60_000

    def send(sender: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": api_key}, timeout=10) as http:
            number = 0
            while not stop.is_set():
                try:
                    response = http.post("/api/v1/metrics/batch", json=_batch(sender, number, t0))
                except httpx.TransportError:
                    return  # the server is gone
                if response.status_code == 200:
                    assert response.json()["accepted"] == BATCH
                    with lock:
                        acknowledged.append((sender, number))
                        if len(acknowledged) >= 12:
                            enough.set()
                number += 1

    senders = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in senders:
        thread.start()
    try:
        assert enough.wait(timeout=30), log.read_text()
        proc.send_signal(signal.SIGKILL)  # while the senders still post
        proc.wait(timeout=10)
    finally:
        stop.set()
        for thread in senders:
            thread.join(timeout=15)
        if proc.poll() is None:
            proc.kill()
    with lock:
        acked = set(acknowledged)
    assert len(acked) >= 12

    # The server starts again on the same files (replaying the write-ahead log) and stops.
    proc, base = _start(database_url, data_dir, log)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) in (0, -signal.SIGTERM), log.read_text()

    async def read() -> dict[tuple[int, int], list[float]]:
        store = await DuckDBStore.open(data_dir / "metrics.duckdb")
        try:
            series = await store.select(
                tenant_id, [Matcher("__name__", MatchOp.eq, "durable_total")], 0, 10**13
            )
        finally:
            await store.close()
        return {
            (int(s.labels["sender"]), int(s.labels["batch"])): s.values.tolist() for s in series
        }

    found = asyncio.run(read())
    for key in acked:
        assert found.get(key) == [float(i) for i in range(BATCH)], key
