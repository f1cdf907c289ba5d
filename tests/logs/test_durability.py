"""Once log ingest answered 2xx, the lines survive ``kill -9`` of the server.

A real ``agentdeck serve`` process takes batches from two concurrent senders; it is SIGKILLed
while requests are still in flight and started again on the same data directory;
then every acknowledged line is read back through the query API of the second start.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory
from tests.ingest.test_durability import _start

BATCH = 500


@pytest.fixture
async def keys(factory: Factory) -> tuple[Caller, Caller]:
    """An ingest key and a viewer key of one tenant in the test database."""
    tenant = await factory.tenant()
    return await factory.api_key(Role.developer, tenant), await factory.api_key(Role.viewer, tenant)


@pytest.mark.timeout(180)  # two server starts on a loaded 2-core machine
def test_acknowledged_lines_survive_sigkill(
    database_url: str, keys: tuple[Caller, Caller], tmp_path: Path
) -> None:
    key, viewer = keys
    data_dir = tmp_path / "server"
    log = tmp_path / "serve.log"
    proc, base = _start(database_url, data_dir, log)
    acknowledged: list[tuple[int, int]] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()
    t0 = time.time_ns() - 60 * 1_000_000_000

    def send(sender: int) -> None:
        with httpx.Client(base_url=base, headers=key.headers, timeout=10) as http:
            number = 0
            while not stop.is_set():
                entries = [
                    {
                        "timestamp": t0 + number * BATCH + i,
                        "severity": "INFO",
                        "service": f"sender-{sender}",
                        "message": f"{sender} {number} {i}",
                        "labels": {"batch": str(number)},
                    }
                    for i in range(BATCH)
                ]
                try:
                    response = http.post("/api/v1/logs/batch", json={"entries": entries})
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
        assert enough.wait(timeout=60), log.read_text()
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

    proc, base = _start(database_url, data_dir, log)
    try:
        found: dict[tuple[int, int], int] = {}
        with httpx.Client(base_url=base, headers=viewer.headers, timeout=30) as http:
            cursor = None
            while True:
                params = {"limit": 5000, "start": str(t0 - 1), "direction": "forward"}
                if cursor:
                    params["cursor"] = cursor
                page = http.get("/api/v1/logs", params=params).json()
                for line in page["items"]:
                    sender, number, _ = line["message"].split()
                    found[(int(sender), int(number))] = found.get((int(sender), int(number)), 0) + 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    for batch in acked:
        assert found.get(batch) == BATCH, batch
