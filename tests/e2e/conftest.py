"""Browser tests: a real `agentdeck serve` on a free port, driven by Debian's Chromium.

The server runs in a subprocess on a temporary SQLite database and data directory; users are
created in-process with the code behind `agentdeck user create` (one process start instead of
three). Screenshots go to `test-results/e2e/`.

A loaded machine can take longer than the per-test timeout to start the session's server and
browser, so the e2e tests time only their own body (`func_only`); the session setup keeps its
own deadlines (`SETUP_TIMEOUT_S`) and fails with what it was waiting for.
Chromium is `/usr/bin/chromium` (installed by scripts/test-deps.sh); it is never downloaded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    sync_playwright,
)

from tests.e2e.support import ADMIN, DEVELOPER, VIEWER, Account

ROOT = Path(__file__).resolve().parents[2]
STATIC_INDEX = ROOT / "src" / "agentdeck" / "server" / "static" / "index.html"
CHROMIUM = os.environ.get("AGENTDECK_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "e2e-secret-key-that-is-long-enough-0123456789"
SETUP_TIMEOUT_S = 180.0


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    log: Path

    def token(self, account: Account) -> str:
        """An access token for `account`, through the public login endpoint."""
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/token",
            data={"username": account.username, "password": account.password},
            timeout=30,  # a demo server may still be taking in its backfill on a busy machine
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def api(self, account: Account) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token(account)}"},
            timeout=10,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(func_only=True))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdeck.cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _create_users(database_url: str) -> None:
    from agentdeck.cli.runtime import _create_user
    from agentdeck.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database={"url": database_url}, secret_key=SECRET, environment="test"
    )
    for account in (ADMIN, DEVELOPER, VIEWER):
        await _create_user(
            settings,
            username=account.username,
            email=account.email,
            password=account.password,
            role=account.role,
            tenant="default",
            display_name=account.username.title(),
        )


def _setup_users(database_url: str) -> None:
    # in a thread of its own: Playwright's sync API may already run a loop in this one
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(asyncio.run, _create_users(database_url)).result(timeout=SETUP_TIMEOUT_S)
    except TimeoutError:
        pytest.fail(f"creating the e2e users took longer than {SETUP_TIMEOUT_S}s")
    finally:
        pool.shutdown(wait=False)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"agentdeck serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.1)  # polling a readiness probe, not synchronising on time
    pytest.fail(f"agentdeck was not ready within {SETUP_TIMEOUT_S}s ({last}):\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not STATIC_INDEX.is_file():
        pytest.fail("the web UI is not built: run `make ui` (cd web && npm ci && npm run build)")
    home = tmp_path_factory.mktemp("agentdeck-e2e")
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
        "AGENTDECK_OUTBOUND__ALLOW_LOOPBACK": "true",  # the local webhook receiver
        # the fleet tests start, deploy and stop real replicas: keep their waits short
        "AGENTDECK_FLEET__RECONCILE_INTERVAL_SECONDS": "0.5",
        "AGENTDECK_FLEET__GRACE_PERIOD_SECONDS": "2",
        "AGENTDECK_FLEET__BACKOFF_INITIAL_SECONDS": "0.2",
        "AGENTDECK_FLEET__LOG_POLL_SECONDS": "0.2",
        "AGENTDECK_FLEET__READINESS_DEADLINE_SECONDS": "30",
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
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield Server(base_url=url, env=env, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run scripts/test-deps.sh (as root)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=SETUP_TIMEOUT_S * 1000
        )
        yield instance
        instance.close()


@dataclass
class PageLog:
    """What the pages of one test did that the server's Content-Security-Policy forbids or
    that left this origin: both must stay empty (the UI loads nothing from elsewhere)."""

    origin: str
    csp_violations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def request(self, request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("data", "blob"):
            return
        if f"{url.hostname}:{url.port}" != self.origin:
            self.foreign_requests.append(request.url)


@pytest.fixture
def page_log(server: Server) -> PageLog:
    url = urlsplit(server.base_url)
    return PageLog(origin=f"{url.hostname}:{url.port}")


@pytest.fixture
def new_page(browser: Browser, server: Server, page_log: PageLog) -> Iterator[Callable[..., Page]]:
    """Opens pages in fresh browser contexts (no shared cookies); closes them afterwards, and
    fails the test when a page broke the Content-Security-Policy or fetched from elsewhere."""
    contexts: list[BrowserContext] = []

    def open_page(color_scheme: Literal["light", "dark"] = "light") -> Page:
        context = browser.new_context(
            base_url=server.base_url,
            viewport={"width": 1360, "height": 860},
            color_scheme=color_scheme,
        )
        context.set_default_timeout(10_000)
        context.on("console", page_log.console)
        context.on("request", page_log.request)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert page_log.csp_violations == [], "the pages broke the Content-Security-Policy"
    assert page_log.foreign_requests == [], "the pages fetched from another origin"
