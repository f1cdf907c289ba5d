"""The DuckDB store assembled: opening and closing the file, PromQL through our engine, and
what is left (stats, ping, checkpoint)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import duckdb
import numpy as np

from agentdeck.db.threads import (
    checkpoint_copy,
    close_duckdb,
    connect_duckdb,
    duckdb_disk_bytes,
)
from agentdeck.tsdb.base import QueryData, SeriesKey, Store, StoreError, StoreStats
from agentdeck.tsdb.duckdb.reads import Reads
from agentdeck.tsdb.duckdb.retention import Retention
from agentdeck.tsdb.duckdb.sql import _SCHEMA, SCHEMA_VERSION, all_samples
from agentdeck.tsdb.duckdb.writes import Writes
from agentdeck.tsdb.promql.api import evaluate_instant, evaluate_range


class DuckDBStore(Writes, Reads, Retention):
    """The embedded :class:`~agentdeck.tsdb.base.Store`. Open with :meth:`open`."""

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | os.PathLike[str], **options: Any) -> DuckDBStore:
        """Open (creating if needed) the store file at ``path`` and load the series dictionary."""
        store = cls(path, **options)
        try:
            await store._run_writer(store._open_sync)
        except BaseException:
            store._threads.abandon()
            raise
        store._start_writes()
        return store

    def _open_sync(self) -> None:
        try:
            con = connect_duckdb(
                self.path, threads=self._duckdb_threads, memory_limit=self._memory_limit
            )
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the metrics store {self.path}: {exc}") from exc
        con.execute(_SCHEMA)
        con.execute(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
            [SCHEMA_VERSION],
        )
        self._con = con
        rows = con.execute("SELECT series_id, tenant_id, name, labels FROM series").fetchall()
        entries = [
            (
                tenant if isinstance(tenant, UUID) else UUID(str(tenant)),
                SeriesKey(name, tuple(json.loads(labels).items())),
                int(series_id),
            )
            for series_id, tenant, name, labels in rows
        ]
        with self._index.lock:
            self._index.add(entries)
        spans = con.execute(
            f"SELECT series_id, min(ts), max(ts) FROM ({all_samples('true')}) GROUP BY series_id"
        ).fetchnumpy()
        if len(spans["series_id"]):
            self._index.set_times(
                np.asarray(spans["series_id"], np.int64),
                np.asarray(spans["min(ts)"], np.int64),
                np.asarray(spans["max(ts)"], np.int64),
            )
        head = con.execute("SELECT series_id, ts, value FROM samples").fetchnumpy()
        self._head.append(
            np.asarray(head["series_id"], np.int32),
            np.asarray(head["ts"], np.int64),
            np.asarray(head["value"], np.float64),
        )
        newest = con.execute("SELECT max(ts) FROM samples_sorted").fetchall()[0][0]
        if newest is not None:
            self._head.publish(self._head.without(-1, sorted_until=int(newest) + 1))
            self._compacted_to = int(newest) + 1
        if len(spans["series_id"]):
            self._max_ts = int(np.max(spans["max(ts)"]))
        self._maybe_compact()
        for _ in range(self._read_threads):
            self._threads.add_reader(con.cursor())

    async def close(self) -> None:
        if self._closed:
            return
        self._closing = True
        if self._group is not None:
            await self._group.close()
        self._closed = True
        await self._threads.close(self._close_sync)

    def _close_sync(self) -> None:
        close_duckdb(self._con, self._threads.resources)
        self._con = None

    async def __aenter__(self) -> DuckDBStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- PromQL ------------------------------------------------------------------------------

    async def query_instant(
        self, tenant_id: UUID, query: str, time_ms: int, *, timeout_s: float
    ) -> QueryData:
        """Our PromQL engine (:mod:`agentdeck.tsdb.promql`) over this store's samples."""
        return await evaluate_instant(self, tenant_id, query, time_ms, timeout_s)

    async def query_range(
        self,
        tenant_id: UUID,
        query: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float,
    ) -> QueryData:
        return await evaluate_range(self, tenant_id, query, start_ms, end_ms, step_ms, timeout_s)

    # --- misc --------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Nothing to do: a write is visible once it returned."""

    async def stats(self) -> StoreStats:
        disk = duckdb_disk_bytes(self.path)
        group = self._group
        return StoreStats(
            backend=self.backend,
            series=len(self._index.keys),
            samples_written=group.records if group else 0,
            write_calls=group.calls if group else 0,
            write_transactions=group.transactions if group else 0,
            disk_bytes=disk,
        )

    async def ping(self) -> None:
        """A query on a reader connection; fails too when the writer task has stopped (writes
        would wait forever)."""
        group = self._group
        if self._closing or group is None:
            raise StoreError("the metrics store is closed")
        if not group.running:
            raise StoreError("the metrics store's writer has stopped")
        await self._run_reader(lambda cursor: cursor.execute("SELECT 1").fetchall())

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (DuckDB also does this itself)."""
        await self._run_writer(lambda: self._db.execute("CHECKPOINT"))

    async def snapshot(self, dest: Path) -> None:
        """A consistent copy of the store at ``dest`` (online backup): a checkpoint and a file
        copy on the writer thread, so writes wait for it and reads go on."""
        await self._run_writer(checkpoint_copy, self._db, self.path, dest)


if TYPE_CHECKING:

    def _conforms(store: DuckDBStore) -> Store:  # mypy checks the protocol here
        return store
