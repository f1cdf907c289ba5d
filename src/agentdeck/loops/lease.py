"""Leases in the state database: at most one holder per name at a time, across processes.

``acquire`` is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement (SQLite and
PostgreSQL both have it): the row is created when missing, taken over when the lease expired,
extended when the caller already holds it, and left alone otherwise. The database serialises
concurrent statements on the same row, so exactly one contender wins. ``RETURNING`` tells the
caller whether its statement changed the row.

Lease times come from one clock for every replica: the database's (PostgreSQL's
``clock_timestamp()``; with SQLite, one host's). A replica whose own clock jumps forward
therefore does not take leases that are still held, and one whose clock jumps back does not
hand out leases that others see as expired.

Leases are advisory: they keep replicas from doing the same periodic work twice. A holder
that stalls longer than the TTL may overlap with its successor for one tick, so work done
under a lease must be safe to repeat.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.db.base import utcnow
from agentdeck.loops.models import Lease


async def database_now(session: AsyncSession) -> datetime:
    """The time on the database's clock (PostgreSQL), or this host's (SQLite: the one host)."""
    if session.get_bind().dialect.name != "postgresql":
        return utcnow()
    return (await session.execute(select(func.clock_timestamp()))).scalar_one()  # type: ignore[no-any-return]


def new_holder_id() -> str:
    """``hostname:pid:random``: unique per process and per runner."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


async def acquire(
    session: AsyncSession,
    *,
    name: str,
    holder: str,
    ttl_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Take or extend lease ``name`` for ``ttl_seconds``; true when ``holder`` now holds it.

    Commits (a lease must be visible to other processes at once).
    """
    now = now or await database_now(session)
    expires = now + timedelta(seconds=ttl_seconds)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Lease).values(
        name=name, holder=holder, expires_at=expires, acquired_at=now, renewed_at=now
    )
    table = Lease.__table__
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={
            "holder": stmt.excluded.holder,
            "expires_at": stmt.excluded.expires_at,
            "renewed_at": stmt.excluded.renewed_at,
            # a takeover starts a new tenure; a renewal keeps the old start
            "acquired_at": case(
                (table.c.holder == stmt.excluded.holder, table.c.acquired_at),
                else_=stmt.excluded.acquired_at,
            ),
        },
        where=(table.c.holder == stmt.excluded.holder) | (table.c.expires_at <= now),
    ).returning(table.c.holder)
    won = (await session.execute(upsert)).scalar_one_or_none()
    await session.commit()
    return bool(won == holder)


async def renew(
    session: AsyncSession,
    *,
    name: str,
    holder: str,
    ttl_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Extend a lease ``holder`` holds; false (nothing changed) when someone else holds it."""
    now = now or await database_now(session)
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=now + timedelta(seconds=ttl_seconds), renewed_at=now)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def release(session: AsyncSession, *, name: str, holder: str) -> bool:
    """Give up lease ``name`` if ``holder`` holds it, so another process can take it at once."""
    result = await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def current_holder(
    session: AsyncSession, *, name: str, now: datetime | None = None
) -> str | None:
    """Who holds lease ``name`` now (``None`` when free or expired)."""
    now = now or await database_now(session)
    lease = await session.get(Lease, name, populate_existing=True)
    if lease is None or lease.expires_at <= now:
        return None
    return lease.holder
