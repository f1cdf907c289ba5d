"""A real `agentdeck serve --demo` on a free port, for the screenshot sweep and the docs test.

Like the session server of conftest.py (temporary SQLite database and data directory, the e2e
accounts created before the start), but with the demo fleet: the fixture returns once the
fleet's first hour has been backfilled, so every page has data to show.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    SECRET,
    SETUP_TIMEOUT_S,
    Server,
    _free_port,
    _setup_users,
    _wait_ready,
)
from tests.e2e.support import ADMIN

ROOT = Path(__file__).resolve().parents[2]
#: Samples of one demo agent's CPU gauge that mean the hour's backfill is in (one per 10 s).
BACKFILLED = 300


def _wait_backfilled(server: Server, process: subprocess.Popen[bytes]) -> None:
    query = 'count_over_time(agent_cpu_percent{agent="support-triage"}[1h])'
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    with server.api(ADMIN) as api:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"agentdeck serve --demo exited:\n{server.log.read_text()}")
            result = api.get("/api/v1/query", params={"query": query}).json()["data"]["result"]
            if result and float(result[0]["value"][1]) >= BACKFILLED:
                return
            time.sleep(0.5)  # polling the store for the backfill, not synchronising on time
    pytest.fail(f"the demo backfill did not arrive within {SETUP_TIMEOUT_S}s")


def start_demo_server(home: Path) -> Iterator[Server]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_ENV_FILE": str(home / "no.env"),
        "AGENTDECK_ENVIRONMENT": "test",
        "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{home / 'state.db'}",
        "AGENTDECK_DATA_DIR": str(home / "data"),
        "AGENTDECK_SECRET_KEY": SECRET,
        "AGENTDECK_LOG_JSON": "true",
        "AGENTDECK_LOG_LEVEL": "WARNING",
    }
    _setup_users(env["AGENTDECK_DATABASE__URL"])
    log = home / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentdeck.cli.main",
                "serve",
                "--demo",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=home,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(base_url=f"http://127.0.0.1:{port}", env=env, log=log)
    try:
        _wait_ready(server.base_url, process, log)
        _wait_backfilled(server, process)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def first_id(server: Server, path: str, **params: str) -> str | None:
    """The id of the first item of a list endpoint (None when it is empty)."""
    with server.api(ADMIN) as api:
        response = api.get(path, params={"limit": "1", **params})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return str(items[0]["id"]) if items else None


__all__ = ["Server", "first_id", "start_demo_server", "httpx"]
