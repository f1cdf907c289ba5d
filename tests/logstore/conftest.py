"""Fixtures for the log stores: a real ClickHouse server and both stores.

The server is the Debian package's ``clickhouse-server`` (18.16; ``scripts/test-deps.sh``
installs it), started once per run from a scratch config on free 127.0.0.1 ports with its
data under a temporary directory, and stopped at the end. A missing binary fails the tests:
they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from clickhouse_driver import Client  # type: ignore[import-untyped]
from clickhouse_driver import errors as ch_errors

from agentdeck.logstore.base import LogStore
from agentdeck.logstore.clickhouse import ClickHouseLogStore
from agentdeck.logstore.duckdb import DuckDBLogStore

CH_BINARY = os.environ.get("AGENTDECK_TEST_CLICKHOUSE_BINARY", "/usr/sbin/clickhouse-server")
USERS_XML = "/etc/clickhouse-server/users.xml"
STARTUP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, tcp_port: int, http_port: int) -> str:
    return f"""<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <console>1</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{USERS_XML}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <timezone>UTC</timezone>
</yandex>
"""


class ClickHouseServer:
    """A running ``clickhouse-server`` from a scratch config; its output is kept in ``log``."""

    def __init__(self, binary: str, root: Path) -> None:
        self.tcp_port = _free_port()
        self.http_port = _free_port()
        self.url = f"clickhouse://127.0.0.1:{self.tcp_port}"
        self.log: list[str] = []
        root.mkdir(parents=True, exist_ok=True)
        config = root / "config.xml"
        config.write_text(_config(root, self.tcp_port, self.http_port), encoding="utf-8")
        self.process = subprocess.Popen(
            [binary, f"--config-file={config}"],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.rstrip())

    def wait_ready(self) -> None:
        """Poll ``SELECT 1`` over the native protocol until it answers (or the deadline)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        delay = 0.05
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            client = Client(host="127.0.0.1", port=self.tcp_port, connect_timeout=2)
            try:
                if client.execute("SELECT 1") == [(1,)]:
                    return
            except (ch_errors.Error, OSError, EOFError) as exc:
                last = exc
            finally:
                client.disconnect()
            time.sleep(delay)  # the server is still starting: poll again shortly
            delay = min(delay * 1.5, 0.5)
        raise RuntimeError(
            f"clickhouse-server did not answer ({last!r}):\n" + "\n".join(self.log[-30:])
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._drain.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def clickhouse_binary() -> str:
    """The clickhouse-server binary; fails the test when it is missing (never skips)."""
    binary = shutil.which(CH_BINARY) or shutil.which("clickhouse-server")
    if binary is None:
        pytest.fail(
            f"the clickhouse-server binary ({CH_BINARY}) is missing: run scripts/test-deps.sh "
            "(as root it installs the Debian package clickhouse-server)",
            pytrace=False,
        )
    return binary


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    server = ClickHouseServer(clickhouse_binary(), tmp_path_factory.mktemp("clickhouse"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def duckdb_store(tmp_path: Path) -> AsyncIterator[DuckDBLogStore]:
    store = DuckDBLogStore(tmp_path / "logs.duckdb")
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def clickhouse_store(clickhouse: ClickHouseServer) -> AsyncIterator[ClickHouseLogStore]:
    # A database per test: retention's counts and partition drops see this test's lines only.
    database = f"t_{uuid.uuid4().hex}"
    store = ClickHouseLogStore(clickhouse.url, database=database, commit_linger=0)
    await store.start()
    try:
        yield store
    finally:
        await store.close()
        client = Client(host="127.0.0.1", port=clickhouse.tcp_port)
        try:
            client.execute(f"DROP DATABASE IF EXISTS `{database}`")
        finally:
            client.disconnect()


@pytest.fixture(params=["duckdb", "clickhouse"])
def store(request: pytest.FixtureRequest) -> LogStore:
    """Each contract test runs once per implementation."""
    found: LogStore = request.getfixturevalue(f"{request.param}_store")
    return found
