"""Replicas started together on an empty PostgreSQL database: each runs what `agentdeck serve`
runs before it serves (migrations, then the first tenant and admin). Both must succeed, and
exactly one tenant and one admin must exist afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from agentdeck.db.engine import create_engine
from agentdeck.db.migrate import current_revision, head_revision, upgrade
from agentdeck.identity.models import Membership, Tenant, User
from agentdeck.settings import DatabaseSettings
from tests.conftest import PG_ADMIN_URL, TEST_SECRET

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.timeout(180),  # two interpreters start (heavy imports); slow on a loaded machine
]

# Each replica imports everything first, says so, and waits for the word to go: the two then
# start the work at the same moment instead of one import time apart.
REPLICA = """
import asyncio, sys
import agentdeck.alerting.rules.defaults, agentdeck.db.migrate, agentdeck.identity.bootstrap
from agentdeck.cli.runtime import _prepare
from agentdeck.settings import Settings
settings = Settings()
print("ready", flush=True)
sys.stdin.readline()
asyncio.run(_prepare(settings))
"""
REPLICAS = 2


async def _admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (no tables, no schema version)."""
    name = f"agentdeck_race_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _start_together(url: str, tmp_path: Path) -> list[tuple[int, str]]:
    """Run the replicas, released at once; their exit codes and outputs."""
    env = {
        **os.environ,
        "AGENTDECK_ENV_FILE": str(tmp_path / "no.env"),
        "AGENTDECK_DATABASE__URL": url,
        "AGENTDECK_SECRET_KEY": TEST_SECRET,
        "AGENTDECK_DATA_DIR": str(tmp_path / "data"),
        "AGENTDECK_LOG_JSON": "true",
        "COLUMNS": "200",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    try:
        early = []
        for proc in procs:
            assert proc.stdout is not None
            lines = []
            while (line := proc.stdout.readline()) and line.strip() != "ready":
                lines.append(line)  # a crash before "ready" ends at EOF, not in a hang
            early.append("".join(lines))
            assert line, f"a replica ended before it was ready:\n{early[-1]}"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc, before in zip(procs, early, strict=True):
            output, _ = proc.communicate(timeout=120)
            results.append((proc.returncode, before + output))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()  # reaps it and closes its pipes


async def _state(url: str) -> tuple[str | None, int, int, int]:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with engine.connect() as connection:
            revision = await current_revision(connection)
            counted = [
                await connection.scalar(select(func.count()).select_from(table))
                for table in (Tenant, User, Membership)
            ]
    finally:
        await engine.dispose()
    tenants, users, memberships = (int(n or 0) for n in counted)
    return revision, tenants, users, memberships


def _check(results: list[tuple[int, str]], url: str) -> None:
    for code, output in results:
        assert code == 0, output
    printed = [output.count("first admin created") for _, output in results]
    assert sorted(printed) == [0] * (REPLICAS - 1) + [1], results
    assert asyncio.run(_state(url)) == (head_revision(), 1, 1, 1)


def test_replicas_starting_together_on_an_empty_database(
    empty_database: str, tmp_path: Path
) -> None:
    _check(_start_together(empty_database, tmp_path), empty_database)


def test_replicas_creating_the_first_admin_together(empty_database: str, tmp_path: Path) -> None:
    async def migrate() -> None:
        engine = create_engine(DatabaseSettings(url=empty_database))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())  # the schema is there: only the first tenant and admin race
    _check(_start_together(empty_database, tmp_path), empty_database)
