"""Fixtures for the metrics stores: a real VictoriaMetrics server and both stores.

The server is the Debian package's ``victoria-metrics`` binary (``scripts/test-deps.sh``
installs it), started once per run on a free 127.0.0.1 port with a temporary data directory.
A missing binary fails the tests: they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from agentdeck.tsdb.base import Store
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore

VM_BINARY = os.environ.get("AGENTDECK_TEST_VM_BINARY", "/usr/bin/victoria-metrics")
VM_FLAGS = [
    "-retentionPeriod=100y",  # the tests write fixed timestamps from 2024
    "-maxLabelsPerTimeseries=64",  # 40 user labels + __name__ + __tenant__
    "-search.disableCache",
    "-search.latencyOffset=0s",
]
STARTUP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VictoriaMetricsServer:
    """A running ``victoria-metrics`` process; its stderr is drained into ``log``."""

    def __init__(self, binary: str, data_dir: Path, *, port: int | None = None) -> None:
        """``port``: a fixed one (to start a server again where a stopped one listened)."""
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log: list[str] = []
        self._started = threading.Event()
        self.process = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={data_dir}",
                *VM_FLAGS,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            if "pprof handlers are exposed" in line:  # logged just before it listens
                self._started.set()
        self._started.set()  # the process ended: stop waiting

    def wait_ready(self) -> None:
        """Block until the server logged its HTTP start, then check ``/health``.

        The listener opens right after that log line, so the health request retries a
        refused connection (httpx's connect retries) instead of sleeping.
        """
        if not self._started.wait(STARTUP_TIMEOUT_S) or self.process.poll() is not None:
            raise RuntimeError("victoria-metrics did not start:\n" + "\n".join(self.log[-20:]))
        transport = httpx.HTTPTransport(retries=5)
        with httpx.Client(transport=transport, timeout=10) as client:
            response = client.get(f"{self.url}/health")
        if response.status_code != 200 or response.text.strip() != "OK":
            raise RuntimeError(f"victoria-metrics is not healthy: {response.status_code}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._drain.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def vm_binary() -> str:
    """The victoria-metrics binary; fails the test when it is missing (never skips)."""
    binary = shutil.which(VM_BINARY) or shutil.which("victoria-metrics")
    if binary is None:
        pytest.fail(
            f"the victoria-metrics binary ({VM_BINARY}) is missing: run scripts/test-deps.sh "
            "(as root it installs the Debian package victoria-metrics)",
            pytrace=False,
        )
    return binary


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsServer]:
    server = VictoriaMetricsServer(vm_binary(), tmp_path_factory.mktemp("victoria-metrics"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def duckdb_store(tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    store = await DuckDBStore.open(tmp_path / "metrics.duckdb")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def vm_store(victoria_metrics: VictoriaMetricsServer) -> AsyncIterator[VictoriaMetricsStore]:
    store = await VictoriaMetricsStore.open(victoria_metrics.url, flush_writes=True)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["duckdb", "victoriametrics"])
def store(request: pytest.FixtureRequest) -> Store:
    """Each contract test runs once per implementation (fresh tenants isolate VM tests)."""
    name = "duckdb_store" if request.param == "duckdb" else "vm_store"
    found: Store = request.getfixturevalue(name)
    return found
