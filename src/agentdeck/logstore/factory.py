"""Opens the configured log store from plain arguments (the app maps its settings onto them)."""

from __future__ import annotations

import os
from typing import Any

from agentdeck.logstore.base import LogStore

BACKENDS = ("duckdb", "clickhouse")


async def open_log_store(
    backend: str = "duckdb",
    *,
    path: str | os.PathLike[str] | None = None,
    url: str | None = None,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
    max_batch_records: int | None = None,
    commit_linger: float | None = None,
    memory_limit: str | None = None,
    read_threads: int | None = None,
) -> LogStore:
    """A started store.

    ``duckdb`` (default): ``path`` is the DuckDB file (required), ``memory_limit`` DuckDB's
    (e.g. ``"1GB"``), ``read_threads`` its reader threads. ``clickhouse``: ``url``
    (``clickhouse://host:9000[/database]``, required), ``database``, ``user``, ``password``,
    ``read_threads`` its read connections. Both: ``max_batch_records`` (most records per
    coalesced insert) and ``commit_linger`` (seconds a lone write waits for company while
    writers overlap). None leaves a store's default.
    """
    options: dict[str, Any] = {}
    if max_batch_records is not None:
        options["max_batch_records"] = max_batch_records
    if commit_linger is not None:
        options["commit_linger"] = commit_linger
    store: LogStore
    if backend == "duckdb":
        if path is None:
            raise ValueError("the duckdb log store needs a path")
        from agentdeck.logstore.duckdb import DuckDBLogStore

        if read_threads is not None:
            options["read_threads"] = read_threads
        store = DuckDBLogStore(path, memory_limit=memory_limit, **options)
    elif backend == "clickhouse":
        if not url:
            raise ValueError("the clickhouse log store needs a url (clickhouse://host:9000)")
        from agentdeck.logstore.clickhouse import ClickHouseLogStore

        if read_threads is not None:
            options["read_connections"] = read_threads
        store = ClickHouseLogStore(url, database=database, user=user, password=password, **options)
    else:
        raise ValueError(f"unknown log store backend {backend!r} (one of {', '.join(BACKENDS)})")
    await store.start()
    return store
