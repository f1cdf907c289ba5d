"""`agentdeck serve --demo` on a fresh data dir: the printed admin can log in, the demo is there."""

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

import httpx
import pytest

from tests.conftest import TEST_SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = _free_port()
    env = {
        **os.environ,
        "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'state.db'}",
        "AGENTDECK_DATA_DIR": str(tmp_path),
        "AGENTDECK_SECRET_KEY": TEST_SECRET,
        "AGENTDECK_LOG_JSON": "true",
        "COLUMNS": "200",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentdeck.cli.main", "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready:\n" + log.read_text()
            time.sleep(0.1)  # polling for readiness, not synchronising on a guess
        yield base, log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_first_start_prints_an_admin_who_can_log_in_and_sees_the_demo(
    served: tuple[str, str],
) -> None:
    base, output = served
    username = re.search(r"username:\s*(\S+)", output)
    password = re.search(r"password:\s*(\S+)", output)
    assert username and password, output
    token = httpx.post(
        base + "/api/v1/auth/token",
        data={"username": username.group(1), "password": password.group(1)},
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert token.json()["role"] == "admin"
    agents = httpx.get(base + "/api/v1/agents", params={"limit": 100}, headers=headers)
    assert agents.status_code == 200
    assert len(agents.json()["items"]) >= 10
    assert "demo: registered" in output
