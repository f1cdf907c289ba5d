"""Engine and session factory. Nothing is created at import time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from agentdeck.settings import DatabaseSettings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys."""
    kwargs: dict[str, Any] = {
        "echo": settings.echo,
        "pool_pre_ping": True,
        "json_serializer": json_dumps,
    }
    if is_sqlite(settings.url):
        _ensure_sqlite_dir(settings.url)
        kwargs["connect_args"] = {"timeout": settings.sqlite_busy_timeout_ms / 1000}
    else:
        kwargs["pool_size"] = settings.pool_size
        kwargs["max_overflow"] = settings.pool_size
    engine = create_async_engine(settings.url, **kwargs)
    if is_sqlite(settings.url):
        busy_timeout_ms = settings.sqlite_busy_timeout_ms

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, busy_timeout_ms)

        event.listen(engine.sync_engine, "connect", pragmas)
    return engine


def json_dumps(value: Any) -> str:
    """JSON columns' serializer: orjson (a stored batch's 1,000 lines in a tenth of the
    standard library's time); what orjson refuses (integers past 64 bits) the standard way.
    Compact output; a non-finite float becomes ``null`` (the standard library wrote ``NaN``,
    which PostgreSQL's JSON refused anyway, so nothing stored relies on it)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
