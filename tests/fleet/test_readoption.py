"""A real ``agentdeck serve`` killed with SIGKILL: its replicas keep running, the next server
re-adopts the live ones and restarts the dead ones, and no process is left over."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.fleet.local.procs import marked_processes
from tests.conftest import TEST_SECRET
from tests.fleet.conftest import FAST_FLEET

DEADLINE = 40.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``agentdeck serve`` on a data directory; started and killed at will."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{data / 'state.db'}",
            "AGENTDECK_DATA_DIR": str(data),
            "AGENTDECK_SECRET_KEY": TEST_SECRET,
            "AGENTDECK_LOG_JSON": "true",
            "AGENTDECK_LOG_LEVEL": "WARNING",
            "COLUMNS": "200",
            **{f"AGENTDECK_FLEET__{k.upper()}": str(v) for k, v in FAST_FLEET.items()},
        }

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentdeck.cli.main", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + DEADLINE
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < end, "not ready:\n" + self.log.read_text()
            time.sleep(0.1)  # polling for readiness with a deadline

    def kill(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data = tmp_path / "data"
    data.mkdir()
    served = Server(data)
    try:
        yield served
    finally:
        if served.proc is not None:
            served.kill(signal.SIGTERM)
        for _pid, pgid, _name in _ours(data):  # nothing may outlive the test
            os.killpg(pgid, signal.SIGKILL)


def _ours(data: Path) -> list[tuple[int, int, str | None]]:
    marker = data / "fleet" / "fleet-id"
    if not marker.is_file():
        return []
    return list(marked_processes("AGENTDECK_FLEET_ID", marker.read_text()))


def _replica_pids(data: Path) -> set[int]:
    """The replica processes of this fleet (their main processes, not what they started)."""
    return {pid for pid, pgid, _ in _ours(data) if pid == pgid}


def _until(check: Any, what: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < end, f"{what} not within {deadline} s"
        time.sleep(0.1)  # polling a condition with a deadline


def _login(server: Server) -> dict[str, str]:
    output = server.log.read_text()
    username = re.search(r"username:\s*(\S+)", output)
    password = re.search(r"password:\s*(\S+)", output)
    assert username and password, output
    token = httpx.post(
        server.base + "/api/v1/auth/token",
        data={"username": username.group(1), "password": password.group(1)},
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _replicas(server: Server, headers: dict[str, str], agent_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base}/api/v1/agents/{agent_id}/replicas", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _running(server: Server, headers: dict[str, str], agent_id: str) -> dict[str, Any] | None:
    body: dict[str, Any] = httpx.get(
        f"{server.base}/api/v1/agents/{agent_id}", headers=headers
    ).json()
    ok = body["status"] == "running" and body["health"]["replicas"]["ready"] == 2
    return body if ok else None


@pytest.mark.timeout(180)
def test_kill_9_then_restart_readopts_live_replicas_restarts_dead_ones_and_leaves_no_orphans(
    server: Server, programs: dict[str, Path]
) -> None:
    server.start()
    headers = _login(server)
    created = httpx.post(
        server.base + "/api/v1/agents",
        json={
            "name": "survivor",
            "type": "custom",
            "replica_count": 2,
            "config": {
                "command": sys.executable,
                "args": [str(programs["server"])],
                "health_path": "/healthz",
            },
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    assert httpx.post(f"{server.base}/api/v1/agents/{agent_id}/start", headers=headers).is_success
    _until(lambda: _running(server, headers, agent_id), "running with 2 ready")
    before = {r["pid"] for r in _replicas(server, headers, agent_id)}
    assert _replica_pids(server.data) == before and len(before) == 2

    server.kill(signal.SIGKILL)
    assert _replica_pids(server.data) == before  # the replicas outlive their supervisor
    survivor, victim = sorted(before)
    os.kill(victim, signal.SIGKILL)  # and one of them dies while nobody watches
    _until(lambda: victim not in _replica_pids(server.data), "the victim gone")

    server.start()
    _until(lambda: _running(server, headers, agent_id), "running again with 2 ready")
    rows = _until(
        lambda: (rows := _replicas(server, headers, agent_id)) and len(rows) == 2 and rows,
        "two replicas listed",
    )
    adopted = [r for r in rows if r["adopted"]]
    assert [r["pid"] for r in adopted] == [survivor]
    fresh = next(r for r in rows if not r["adopted"])
    assert fresh["pid"] not in before
    assert _replica_pids(server.data) == {survivor, fresh["pid"]}  # no orphans, no extras

    server.kill(signal.SIGTERM)  # a graceful shutdown stops them (the default)
    _until(lambda: not _ours(server.data), "every replica stopped")
