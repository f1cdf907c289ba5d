"""The real Prometheus server scrapes a tiny target and remote-writes to a running agentdeck."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.ingest.models import MetricMetadata
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Matcher
from tests.conftest import Factory
from tests.ingest.otlp_support import live_server, wait_for

PROMETHEUS = "/usr/bin/prometheus"
EXPOSITION = (
    b"# HELP demo_temperature_celsius Room temperature.\n"
    b"# TYPE demo_temperature_celsius gauge\n"
    b'demo_temperature_celsius{room="lab"} 21.5\n'
    b"# HELP demo_jobs_total Jobs done.\n"
    b"# TYPE demo_jobs_total counter\n"
    b"demo_jobs_total 42\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def metrics_target() -> AsyncIterator[int]:
    """A tiny HTTP server answering every request with a fixed exposition."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.readline() not in (b"\r\n", b""):
                pass
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(EXPOSITION) + EXPOSITION
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def prometheus(config: str, workdir: Path) -> AsyncIterator[None]:
    (workdir / "prometheus.yml").write_text(config)
    log = (workdir / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        PROMETHEUS,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{_free_port()}",
        stdout=log,
        stderr=log,
    )
    try:
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def test_prometheus_remote_writes_scraped_samples(
    settings_factory: Callable[..., Settings],
    factory: Factory,
    session: AsyncSession,
    tmp_path: Path,
) -> None:
    assert shutil.which(PROMETHEUS), (
        f"{PROMETHEUS} is missing: run scripts/test-deps.sh (installs Debian's prometheus)"
    )
    key = await factory.api_key(Role.developer)
    other = await factory.api_key(Role.developer)
    app = create_app(settings_factory(), run_migrations=False)
    async with live_server(app) as url, metrics_target() as target_port:
        config = f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
remote_write:
  - url: {url}/api/v1/write
    authorization:
      credentials: {key.api_key}
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s
"""
        store = app.state.deck.store
        instance = f"127.0.0.1:{target_port}"

        async def arrived() -> list[str]:
            await store.flush()
            found = await store.select(
                key.tenant_id, [Matcher.name_is("demo_temperature_celsius")], 0, 10**13
            )
            ups = await store.select(key.tenant_id, [Matcher.name_is("up")], 0, 10**13)
            await session.rollback()  # a fresh snapshot of the state database
            meta = await session.get(MetricMetadata, (key.tenant_id, "demo_temperature_celsius"))
            return [s.name for s in found + ups] if found and ups and meta else []

        async with prometheus(config, tmp_path):
            await wait_for(arrived, seconds=45, what="remote-written samples", interval=0.2)

        temperature = await store.select(
            key.tenant_id, [Matcher.name_is("demo_temperature_celsius")], 0, 10**13
        )
        assert [s.labels for s in temperature] == [
            {"instance": instance, "job": "demo", "room": "lab"}
        ]
        assert set(temperature[0].values.tolist()) == {21.5}
        up = await store.select(key.tenant_id, [Matcher.name_is("up")], 0, 10**13)
        assert up[0].labels == {"instance": instance, "job": "demo"}
        assert set(up[0].values.tolist()) == {1.0}
        meta = await session.get(MetricMetadata, (key.tenant_id, "demo_jobs_total"))
        assert meta is not None and (meta.type, meta.help) == ("counter", "Jobs done.")
        assert await store.select(other.tenant_id, [Matcher.name_is("up")], 0, 10**13) == []
