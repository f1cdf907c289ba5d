"""Database-wide locks for start-up work that replicas may begin at the same moment.

Replicas started together on an empty PostgreSQL database would otherwise each run the
migrations and each create the first tenant and admin, and all but one would crash on the
others' rows. ``hold`` takes a PostgreSQL advisory lock for the rest of the transaction: the
second replica waits, then finds the work done. SQLite has a single writer and one process.
"""

from __future__ import annotations

import enum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


class StartupLock(enum.IntEnum):
    """Advisory lock keys (one 64-bit number each, arbitrary but fixed)."""

    migrations = 0x6164_6B00_0000_0001  # "adk" …
    bootstrap = 0x6164_6B00_0000_0002


async def hold(connection: AsyncConnection, lock: StartupLock) -> None:
    """Wait for ``lock`` and keep it until the connection's transaction ends."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(lock)})
