"""The live overview in the browser: a sample ingested through the API shows on the page
within 2 s, and after the server process is killed and started again the page reconnects by
itself (the indicator goes to reconnecting, then live) and live data flows again.

This test runs its own `agentdeck serve` (it kills it), on the same port across the restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import CHROMIUM, SECRET, STATIC_INDEX, _cli, _free_port, _wait_ready
from tests.e2e.support import ADMIN, login, shoot

pytestmark = pytest.mark.e2e


@dataclass
class OwnServer:
    home: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.home / "server.log"
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agentdeck.cli.main", "serve", "--host", "127.0.0.1"]
                + ["--port", str(self.port)],
                env=self.env,
                cwd=self.home,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        _wait_ready(self.url, self.process, log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def api(self) -> httpx.Client:
        token = httpx.post(
            f"{self.url}/api/v1/auth/token",
            data={"username": ADMIN.username, "password": ADMIN.password},
            timeout=10,
        ).json()["access_token"]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnServer]:
    if not STATIC_INDEX.is_file():
        pytest.fail("the web UI is not built: run `make ui`")
    home = tmp_path_factory.mktemp("agentdeck-overview")
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
    done = _cli(
        "user", "create", ADMIN.username, "--email", ADMIN.email,
        "--password", ADMIN.password, "--role", ADMIN.role, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    server = OwnServer(home=home, port=_free_port(), env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def overview_page(browser: Browser, own_server: OwnServer) -> Iterator[Page]:
    assert Path(CHROMIUM).is_file()
    context = browser.new_context(
        base_url=own_server.url, viewport={"width": 1360, "height": 900}, color_scheme="light"
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def ingest(api: httpx.Client, samples: list[dict[str, Any]]) -> None:
    response = api.post("/api/v1/metrics/batch", json={"samples": samples})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(samples)


def cpu_sample(agent: str, value: float) -> dict[str, Any]:
    return {"name": "agent_cpu_percent", "value": value, "labels": {"agent": agent}}


@pytest.mark.timeout(180)  # two server starts on a shared machine
def test_tiles_update_live_and_the_page_reconnects_after_a_restart(
    own_server: OwnServer, overview_page: Page
) -> None:
    with own_server.api() as api:
        created = api.post(
            "/api/v1/agents",
            json={"name": "live-one", "type": "llm", "dependencies": ["openai-api"]},
        )
        assert created.status_code == 201, created.text
    page = overview_page
    login(page, ADMIN)
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    indicator = page.get_by_test_id("connection")
    expect(indicator).to_have_attribute("data-status", "live")
    ingest_tile = page.get_by_test_id("tile-ingest-value")
    expect(ingest_tile).to_have_text("0/s")
    row = page.locator('tr[data-agent="live-one"]')
    expect(row).to_be_visible()

    # A sample through the API shows on the page within 2 s (of the API's answer), no reload.
    with own_server.api() as api:
        ingest(api, [cpu_sample("live-one", 12.5)])
        started = time.monotonic()
        expect(ingest_tile).not_to_have_text("0/s", timeout=2_000)
        expect(row.locator('td[data-col="cpu"]')).to_have_text("12.5%", timeout=2_000)
        assert time.monotonic() - started < 2.0
    shoot(page, "overview-live")

    # Kill the server: the page notices and keeps trying.
    own_server.kill()
    expect(indicator).to_have_attribute("data-status", "reconnecting", timeout=5_000)
    shoot(page, "overview-reconnecting", dark_too=False)

    # Start it again on the same port: the page reconnects by itself and data flows again.
    own_server.start()
    expect(indicator).to_have_attribute("data-status", "live", timeout=30_000)
    with own_server.api() as api:
        ingest(api, [cpu_sample("live-one", 77.0)])
    expect(row.locator('td[data-col="cpu"]')).to_have_text("77%", timeout=2_000)
    expect(ingest_tile).not_to_have_text("0/s", timeout=2_000)
    shoot(page, "overview-after-restart", dark_too=False)
