"""A private ``redis-server`` for tests that stop and restart Redis (the shared one on 6379
is never touched): on a free 127.0.0.1 port, without persistence, in a temporary directory.

A missing binary fails the test: it is never skipped.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``start()`` runs the server (again, on the same port after ``stop()``)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None

    def start(self) -> None:
        assert self.process is None, "already running"
        ready = threading.Event()
        process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def drain() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.log.append(line.rstrip())
                if "Ready to accept connections" in line:
                    ready.set()
            ready.set()  # the process ended: stop waiting

        self.process = process
        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not ready.wait(STARTUP_TIMEOUT_S) or process.poll() is not None:
            self.stop()
            raise RuntimeError("redis-server did not start:\n" + "\n".join(self.log[-20:]))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if self._drain is not None:
            self._drain.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A running private Redis, stopped at the end (request it before ``app_factory`` so the
    app stops first)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: install the Debian package redis-server")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
