"""Drill: a replica's clock jumps (forward and back), with libfaketime.

Leases (one holder per background loop) are timed by the database's clock, so a replica whose
clock is two hours ahead does not take a lease that is still held, and one whose clock is two
hours behind holds the lease it took for its real TTL (others do not see it as expired at once).
The jumped replica is a separate Python process under ``faketime`` on the same PostgreSQL
database (SQLite has one host, so one clock)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.loops import lease
from agentdeck.settings import DatabaseSettings

pytestmark = [pytest.mark.postgresql_only, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
TTL_S = 60.0
ACQUIRE = """
import asyncio, sys
from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.loops import lease
from agentdeck.settings import DatabaseSettings

async def main() -> None:
    engine = create_engine(DatabaseSettings(url=sys.argv[1]))
    async with create_session_factory(engine)() as session:
        won = await lease.acquire(session, name=sys.argv[2], holder=sys.argv[3], ttl_seconds=60)
    await engine.dispose()
    print("won" if won else "lost")

asyncio.run(main())
"""


def _faketime() -> str:
    binary = shutil.which("faketime")
    if binary is None:
        pytest.fail("faketime is missing: install the Debian package faketime", pytrace=False)
    return binary


def _acquire_with_clock(offset: str, url: str, name: str, holder: str) -> str:
    """Run ``lease.acquire`` in a process whose wall clock is ``offset`` off."""
    env = {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    result = subprocess.run(
        [_faketime(), "-f", offset, sys.executable, "-c", ACQUIRE, url, name, holder],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def test_a_clock_jump_on_one_replica_does_not_break_lease_ownership(
    database_url: str,
) -> None:
    engine = create_engine(DatabaseSettings(url=database_url))
    sessions = create_session_factory(engine)
    try:
        # forward: a held lease is not taken by the replica that believes it is two hours later
        async with sessions() as session:
            assert await lease.acquire(
                session, name="drill-ahead", holder="steady", ttl_seconds=TTL_S
            )
        assert _acquire_with_clock("+2h", database_url, "drill-ahead", "jumped") == "lost"
        async with sessions() as session:
            assert await lease.current_holder(session, name="drill-ahead") == "steady"

        # back: the replica two hours behind takes a free lease and keeps it for its TTL
        assert _acquire_with_clock("-2h", database_url, "drill-behind", "jumped") == "won"
        async with sessions() as session:
            assert await lease.current_holder(session, name="drill-behind") == "jumped"
            assert not await lease.acquire(
                session, name="drill-behind", holder="steady", ttl_seconds=TTL_S
            )
    finally:
        await engine.dispose()
