"""A real ``agentdeck serve`` in its own process for the HTTP benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

#: The running servers' processes by URL (for benchmarks that watch the server's memory).
SERVERS: dict[str, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def agentdeck_server(
    prefix: str, extra_env: dict[str, str] | None = None, role: str = "developer"
) -> Iterator[tuple[str, str]]:
    """``agentdeck serve`` on 127.0.0.1 on fresh files; yields (url, API key of ``role``)."""
    binary = shutil.which("agentdeck") or str(Path(sys.executable).parent / "agentdeck")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        env = {
            **os.environ,
            "AGENTDECK_ENV_FILE": os.devnull,
            "AGENTDECK_ENVIRONMENT": "development",
            "AGENTDECK_DATA_DIR": tmp,
            "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{tmp}/state.db",
            "AGENTDECK_RATE_LIMIT__ENABLED": "false",
            "AGENTDECK_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
        created = subprocess.run(
            [binary, "apikey", "create", "bench", "--role", role],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = created.stdout.strip().splitlines()[-1].strip()
        port = free_port()
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180  # interpreter start on a loaded machine
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"agentdeck serve did not become ready:\n{tail}")
                time.sleep(0.2)
            SERVERS[url] = process
            yield url, key
        finally:
            SERVERS.pop(url, None)
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


PG_ADMIN = os.environ.get("AGENTDECK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the local PostgreSQL for one run; yields its SQLAlchemy URL
    and drops it afterwards."""
    import asyncio
    import uuid

    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
