"""The state every part of the DuckDB store shares: the connection and its threads, the series
index, the in-memory head, and compaction (which writes, opening and reads all rely on)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import duckdb
import structlog

from agentdeck.db.group_commit import GroupCommit
from agentdeck.db.threads import StoreThreads
from agentdeck.tsdb.base import Matcher, SampleBatch, SeriesKey, StoreError, WriteResult
from agentdeck.tsdb.duckdb._head import HeadBuffer, SharedLock
from agentdeck.tsdb.duckdb._index import SeriesIndex
from agentdeck.tsdb.duckdb.sql import COMPACT_LAG_MS, COMPACT_SPAN_MS

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(slots=True)
class TenantBatch:
    """One write call: a tenant's samples (its length is theirs)."""

    tenant_id: UUID
    batch: SampleBatch

    def __len__(self) -> int:
        return len(self.batch)


class StoreCore:
    """The shared state of :class:`~agentdeck.tsdb.duckdb.DuckDBStore` and the helpers every
    part of it uses; the parts are mixins over this."""

    backend = "duckdb"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_threads: int = 4,
        duckdb_threads: int | None = None,
        memory_limit: str | None = None,
        max_transaction_samples: int = 1_000_000,
        compact_rows: int = 3_000_000,
        commit_linger: float = 0.002,
    ) -> None:
        self.path = Path(path)
        self._read_threads = read_threads
        self._duckdb_threads = duckdb_threads
        self._memory_limit = memory_limit
        self._max_transaction_samples = max_transaction_samples
        self._compact_rows = compact_rows
        self._commit_linger = commit_linger
        self._head = HeadBuffer()
        self._moves = SharedLock()  # held exclusively while rows move out of the head
        self._max_ts = -1  # newest sample time written (drives time-based compaction)
        self._compacted_to = 0  # the span boundary compaction last moved the head up to
        self._index = SeriesIndex()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._threads: StoreThreads[duckdb.DuckDBPyConnection] = StoreThreads(
            "tsdb-duckdb", read_threads, closed=_closed, read_error=_read_error
        )
        self._group: GroupCommit[TenantBatch, list[TenantBatch], WriteResult] | None = None
        self._closing = False
        self._closed = False

    # --- running work -----------------------------------------------------------------------

    async def _run_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._threads.run_writer(fn, *args)

    async def _run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._threads.run_reader(fn, *args)

    @property
    def _db(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError("the metrics store is closed")
        return self._con

    async def _in_reader(self, fn: Callable[..., T], *args: Any) -> T:
        """Run index-only work off the event loop (matching may touch many label values)."""
        return await self._threads.in_reader(fn, *args)

    def _resolve(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None,
        end_ms: int | None,
    ) -> list[tuple[int, SeriesKey]]:
        index = self._index
        with index.lock:
            if matchers:
                ids: set[int] | list[int] = index.match(tenant_id, matchers)
            else:
                tenant = index.tenants.get(tenant_id)
                ids = list(tenant.all_ids) if tenant else []
            in_range = index.in_range(ids, start_ms, end_ms)
            return [(series_id, index.keys[series_id]) for series_id in in_range]

    # --- compaction --------------------------------------------------------------------------

    async def compact(self, before_ms: int | None = None) -> int:
        """Move raw samples (all, or those before ``before_ms``) from the append-ordered head
        into the table ordered by ``(2 h span, series_id, ts)``; returns how many moved.

        Runs on the writer thread in one transaction: writes wait for it, reads see the data
        either before or after. The store also does this by itself (checked after writes and
        at open) for every finished span, i.e. once samples more than ``COMPACT_LAG_MS`` past a
        span's end arrived, and for the whole head when it holds ``compact_rows`` samples.
        """
        return await self._run_writer(self._compact_sync, before_ms)

    def _compact_sync(self, before_ms: int | None) -> int:
        con = self._db
        view = self._head.view
        if before_ms is None:
            before = self._max_ts + 1
            until = max(view.sorted_until, before)
        else:
            before = int(before_ms)
            until = max(view.sorted_until, min(before, self._max_ts + 1))
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO samples_sorted SELECT series_id, ts, value FROM samples "
                f"WHERE ts < {before} ORDER BY ts // {COMPACT_SPAN_MS}, series_id, ts"
            )
            count = int(con.execute(f"DELETE FROM samples WHERE ts < {before}").fetchall()[0][0])
            left = self._head.without(before, sorted_until=until)
            with self._moves.exclusive():
                con.execute("COMMIT")
                self._head.publish(left)
        except Exception as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise StoreError(f"metrics compaction failed: {exc}") from exc
        self._compacted_to = max(self._compacted_to, before)
        return count

    def _compaction_due(self) -> int | None:
        """The time before which the head should be compacted now, if any."""
        view = self._head.view
        oldest = view.min_ts
        if oldest is None:
            return None
        if view.rows >= self._compact_rows:
            return self._max_ts + 1
        boundary = (self._max_ts - COMPACT_LAG_MS) // COMPACT_SPAN_MS * COMPACT_SPAN_MS
        # Late samples for spans already compacted wait for the next finished span.
        if boundary > self._compacted_to and oldest < boundary:
            return boundary
        return None

    def _maybe_compact(self) -> None:
        before = self._compaction_due()
        if before is None:
            return
        try:
            self._compact_sync(before)
        except StoreError:
            log.exception("metrics compaction failed; the data stays in the head")


def _closed() -> StoreError:
    return StoreError("the metrics store is closed")


def _read_error(_cursor: duckdb.DuckDBPyConnection, exc: Exception) -> Exception | None:
    if isinstance(exc, duckdb.Error):
        return StoreError(f"metrics store read failed: {exc}")
    return None
