"""Template agents and the echo endpoint as real subprocesses on free ports of 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.settings import Settings
from tests.conftest import Factory
from tests.sdk.conftest import LiveServer

#: The environment a test agent gets: nothing of the developer's agentdeck or LLM settings.
SCRUBBED = ("AGENTDECK_", "PORT", "OPENAI_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """One ``agentdeck agent …`` subprocess; its output goes to a log file."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        base = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
        full_env = {**base, "PYTHONUNBUFFERED": "1", **(env or {})}
        if "PORT" not in full_env:
            args = [*args, "--port", str(self.port)]
        else:
            self.port = int(full_env["PORT"])
            self.url = f"http://127.0.0.1:{self.port}"
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentdeck.cli.main", "agent", *args],
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, "the process exited:\n" + self.output()
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "not ready in time:\n" + self.output()
            time.sleep(0.05)  # polling for readiness

    def stop(self) -> bool:
        """SIGTERM; whether the process shut down gracefully (it must end within 15 s).

        uvicorn re-raises the SIGTERM it caught once shutdown is complete, so a graceful end
        is exit status -SIGTERM with the lifespan's shutdown logged.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("did not stop on SIGTERM:\n" + self.output()) from None
        graceful = "Application shutdown complete" in self.output()
        return self.proc.returncode in (0, -signal.SIGTERM) and graceful


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Process]]:
    """Start ``agentdeck agent <args>`` processes, ready; all are stopped at the end."""
    started: list[Process] = []
    where = tmp_path_factory.mktemp("agents")

    def start(*args: str, env: dict[str, str] | None = None, ready: bool = True) -> Process:
        process = Process(list(args), where / f"{len(started)}.log", env)
        started.append(process)
        if ready:
            process.wait_ready()
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def echo(processes: Callable[..., Process]) -> Process:
    """The echo endpoint (not a model)."""
    return processes("echo-llm")


def llm_config(echo_url: str, **more: Any) -> str:
    return json.dumps({"llm": {"base_url": echo_url + "/v1", "model": "echo-test"}, **more})


@pytest.fixture
def live_server(settings_factory: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = LiveServer(settings_factory())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def tenant_key(factory: Factory) -> tuple[str, uuid.UUID]:
    """A developer API key (plaintext) and its tenant."""
    key = await factory.api_key()
    assert key.api_key is not None
    return key.api_key, key.tenant_id
