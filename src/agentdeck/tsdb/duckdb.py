"""The embedded metrics store: one DuckDB file under the data directory.

Layout (see ``docs/storage.md``):

* ``series`` — the series dictionary: dense ``series_id``, tenant, metric name, labels as
  canonical JSON and a stable 64-bit hash of tenant + name + sorted labels. It is loaded
  into memory at start (:mod:`agentdeck.tsdb._index`), so labels are stored once per series
  and never per sample.
* ``samples`` — ``(series_id, ts, value)``, appended with Arrow batch inserts (the head),
  mirrored in memory by :mod:`agentdeck.tsdb._head` (runs sorted by series id), which serves
  every read of head samples.
* ``samples_sorted`` — the same columns; :meth:`DuckDBStore.compact` moves the head rows of
  each finished 2 h span here, ordered by ``(span, series_id, ts)``, so DuckDB's per-row-group
  min/max lets a read of a few series skip nearly all of it. Reads combine the mirror with
  this table (only for ranges before its watermark).
* ``rollup_1m`` / ``rollup_1h`` — ``(series_id, bucket, min, max, sum, count)`` per minute
  and hour, filled by :meth:`DuckDBStore.rollup`.
* ``tenant_state`` — per-tenant rollup progress.

One writer thread owns the connection that writes. Concurrent :meth:`DuckDBStore.write`
calls queue up and are coalesced into one transaction; each call returns after the
transaction holding its samples committed (DuckDB writes and syncs its write-ahead log on
commit), so a sample acknowledged to a client survives ``kill -9``. A commit costs a few
milliseconds of CPU whatever its size, so while writers overlap (a write arrived during the
previous commit) a lone queued batch waits up to ``commit_linger`` seconds for a second one
to share its commit, as PostgreSQL's ``commit_delay`` does; a lone writer never waits.

Reads run on a small pool of reader threads with their own cursors; only reads of up to 2,000
series by equality matchers that the in-memory head answers alone (numpy, no DuckDB) run on
the event loop. No DuckDB call runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import queue
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import structlog

from agentdeck.tsdb._head import HeadBuffer, SharedLock
from agentdeck.tsdb._index import SeriesIndex
from agentdeck.tsdb.base import (
    ACTIVE_WINDOW_MS,
    Int64Array,
    Matcher,
    MatchOp,
    QueryData,
    SampleBatch,
    Series,
    SeriesKey,
    Store,
    StoreError,
    StoreStats,
    WriteResult,
    check_selector,
)
from agentdeck.tsdb.names import METRIC_NAME_LABEL
from agentdeck.tsdb.promql.api import evaluate_instant, evaluate_range

T = TypeVar("T")
log = structlog.get_logger(__name__)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    series_id INTEGER PRIMARY KEY,
    tenant_id UUID NOT NULL,
    name VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,
    hash UBIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS samples_sorted (
    series_id INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_1m (
    series_id INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    sum DOUBLE NOT NULL,
    count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_1h (
    series_id INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    sum DOUBLE NOT NULL,
    count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tenant_state (
    tenant_id UUID PRIMARY KEY,
    rolled_up_to_ms BIGINT NOT NULL
);
"""

# Below this many series a select names the ids inline (lets DuckDB prune by min/max);
# above it, the ids are joined from an Arrow table.
_INLINE_IDS = 256


# Compaction orders samples by (span of this length, series_id, ts): a one-series read touches
# about one row group per span, a fleet-wide read of a short range only the spans it overlaps.
# It runs when a span is finished: once samples newer than its end + COMPACT_LAG_MS arrived.
COMPACT_SPAN_MS = 2 * HOUR_MS
COMPACT_LAG_MS = 5 * 60_000
# Reads of at most this many series that need only the in-memory head run on the event loop
# (numpy: microseconds for one series, about 2 ms for 1,000 series over an hour), sparing the
# hand-off to a reader thread, which costs more than that on a busy machine.
_INLINE_READ_SERIES = 2_000


def _all_samples(where: str, columns: str = "series_id, ts, value") -> str:
    """Raw samples from the unsorted head and the compacted table, filtered in both."""
    return (
        f"SELECT {columns} FROM samples WHERE {where} UNION ALL "
        f"SELECT {columns} FROM samples_sorted WHERE {where}"
    )


def series_hash(tenant_id: UUID, key: SeriesKey) -> int:
    """Stable 64-bit hash of tenant + name + sorted labels (the same in every process)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(tenant_id.bytes)
    digest.update(key.name.encode())
    for name, value in key.labels:
        digest.update(b"\x00" + name.encode() + b"\x01" + value.encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest(), "big")


def _labels_json(key: SeriesKey) -> str:
    return json.dumps(dict(key.labels), separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class _Pending:
    tenant_id: UUID
    batch: SampleBatch
    future: asyncio.Future[WriteResult]


class DuckDBStore:
    """The embedded :class:`~agentdeck.tsdb.base.Store`. Open with :meth:`open`."""

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
        self._cursors: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        self._all_cursors: list[duckdb.DuckDBPyConnection] = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="tsdb-duckdb-writer")
        self._readers = ThreadPoolExecutor(read_threads, thread_name_prefix="tsdb-duckdb-read")
        self._pending: list[_Pending] = []
        self._wake: asyncio.Event | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._samples_written = 0
        self._write_calls = 0
        self._transactions = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | os.PathLike[str], **options: Any) -> DuckDBStore:
        """Open (creating if needed) the store file at ``path`` and load the series dictionary."""
        store = cls(path, **options)
        try:
            await store._run_writer(store._open_sync)
        except BaseException:
            store._writer.shutdown(wait=False)
            store._readers.shutdown(wait=False)
            raise
        store._wake = asyncio.Event()
        store._writer_task = asyncio.create_task(store._writer_loop(), name="tsdb-duckdb-writer")
        return store

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if self._duckdb_threads:
            config["threads"] = self._duckdb_threads
        if self._memory_limit:
            config["memory_limit"] = self._memory_limit
        try:
            con = duckdb.connect(str(self.path), config=config)
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
            f"SELECT series_id, min(ts), max(ts) FROM ({_all_samples('true')}) GROUP BY series_id"
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
            cursor = con.cursor()
            self._all_cursors.append(cursor)
            self._cursors.put(cursor)

    async def close(self) -> None:
        if self._closed:
            return
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._writer_task is not None:
            await self._writer_task
        self._closed = True
        loop = asyncio.get_running_loop()
        # Let reads in flight finish (waiting off the event loop), then close the connection.
        await loop.run_in_executor(None, self._readers.shutdown, True)
        await self._run_writer(self._close_sync)
        self._writer.shutdown(wait=False)  # nothing is left to run on it

    def _close_sync(self) -> None:
        for cursor in self._all_cursors:
            cursor.close()
        if self._con is not None:
            self._con.close()
            self._con = None

    async def __aenter__(self) -> DuckDBStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def _run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreError("the metrics store is closed")

        def call() -> T:
            cursor = self._cursors.get()
            try:
                return fn(cursor, *args)
            except duckdb.Error as exc:
                raise StoreError(f"metrics store read failed: {exc}") from exc
            finally:
                self._cursors.put(cursor)

        return await asyncio.get_running_loop().run_in_executor(self._readers, call)

    @property
    def _db(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError("the metrics store is closed")
        return self._con

    # --- writes ------------------------------------------------------------------------------

    async def write(self, tenant_id: UUID, batch: SampleBatch) -> WriteResult:
        if self._closing or self._wake is None:
            raise StoreError("the metrics store is closed")
        self._write_calls += 1
        if len(batch) == 0:
            return WriteResult(samples=0, new_series=0)
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(tenant_id, batch, future))
        self._wake.set()
        return await future

    async def _writer_loop(self) -> None:
        assert self._wake is not None
        overlapping = False  # did a write arrive while the last group committed?
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if overlapping and len(self._pending) == 1 and not self._closing:
                    await self._linger()
                group = self._take_group()
                arrived = self._write_calls
                await self._commit_group(group)
                overlapping = self._write_calls > arrived
            if self._closing and not self._pending:
                return

    async def _linger(self) -> None:
        """Wait up to ``commit_linger`` for one more batch to join the next commit."""
        assert self._wake is not None
        if self._commit_linger <= 0:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._commit_linger):
                await self._wake.wait()

    def _take_group(self) -> list[_Pending]:
        taken = 0
        count = 0
        for item in self._pending:
            if count and taken + len(item.batch) > self._max_transaction_samples:
                break
            taken += len(item.batch)
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group

    async def _commit_group(self, group: list[_Pending]) -> None:
        try:
            new_counts = await self._run_writer(
                self._commit_sync, [(p.tenant_id, p.batch) for p in group]
            )
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0].future, exc=exc)
                return
            # One bad batch must not fail its neighbours: retry them one by one.
            for item in group:
                await self._commit_group([item])
            return
        for item, new in zip(group, new_counts, strict=True):
            _settle(item.future, WriteResult(samples=len(item.batch), new_series=new))
        if self._compaction_due() is not None:
            await self._run_writer(self._maybe_compact)

    def _commit_sync(self, items: list[tuple[UUID, SampleBatch]]) -> list[int]:
        """One transaction for all ``items``; publishes new series to the index on commit."""
        try:
            return self._commit_unchecked(items)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"metrics write failed: {exc}") from exc

    def _commit_unchecked(self, items: list[tuple[UUID, SampleBatch]]) -> list[int]:
        con = self._db
        index = self._index
        next_id = index.next_id
        new_keys: dict[tuple[UUID, SeriesKey], int] = {}
        new_rows: list[tuple[int, UUID, SeriesKey]] = []
        new_counts: list[int] = []
        id_parts: list[np.ndarray] = []
        for tenant_id, batch in items:
            n = len(batch.series)
            series_ids = index.resolve(tenant_id, batch.series, batch.tags)
            before = len(new_rows)
            missing = np.flatnonzero(series_ids < 0)
            if len(missing):
                # Only series that have samples in this batch become new series.
                used = np.bincount(batch.series_index, minlength=n) > 0
                for i in missing.tolist():
                    if not used[i]:
                        continue
                    key = batch.series[i]
                    series_id = new_keys.get((tenant_id, key))
                    if series_id is None:
                        series_id = new_keys[(tenant_id, key)] = next_id
                        new_rows.append((next_id, tenant_id, key))
                        next_id += 1
                    series_ids[i] = series_id
            new_counts.append(len(new_rows) - before)
            id_parts.append(series_ids[batch.series_index])
        ids = np.concatenate(id_parts) if len(id_parts) > 1 else id_parts[0]
        if len(items) > 1:
            timestamps = np.concatenate([batch.timestamps for _, batch in items])
            values = np.concatenate([batch.values for _, batch in items])
        else:
            timestamps, values = items[0][1].timestamps, items[0][1].values
        samples = pa.Table.from_arrays(
            [pa.array(ids), pa.array(timestamps), pa.array(values)],
            names=["series_id", "ts", "value"],
        )
        if new_rows:
            with _transaction(con, "metrics write"):
                _insert_series(con, new_rows)
                con.from_arrow(samples).insert_into("samples")
        else:
            # A lone INSERT is its own transaction: committed (WAL synced) when it returns.
            try:
                con.from_arrow(samples).insert_into("samples")
            except duckdb.Error as exc:
                raise StoreError(f"metrics write failed: {exc}") from exc
        with index.lock:
            if new_rows:
                index.add((tenant, key, series_id) for series_id, tenant, key in new_rows)
            index.update_times(ids, timestamps)
        self._head.append(ids, timestamps, values)
        self._max_ts = max(self._max_ts, int(timestamps.max()))
        self._samples_written += len(ids)
        self._transactions += 1
        return new_counts

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

    # --- reads -------------------------------------------------------------------------------

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

    async def select(
        self, tenant_id: UUID, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[Series]:
        check_selector(matchers)
        if self._closed:
            raise StoreError("the metrics store is closed")
        if start_ms >= self._head.view.sorted_until and all(m.op is MatchOp.eq for m in matchers):
            # Equality matchers resolve with a few set lookups; when the range is all in the
            # in-memory head and the series are few, reading is cheaper than a thread hand-off.
            found = self._resolve(tenant_id, matchers, start_ms, end_ms)
            view = self._head.view
            if len(found) <= _INLINE_READ_SERIES and start_ms >= view.sorted_until:
                return _assemble(found, *view.read(_ids(found), start_ms, end_ms))
            return await self._run_reader(self._read_sync, found, start_ms, end_ms)
        return await self._run_reader(self._select_sync, tenant_id, matchers, start_ms, end_ms)

    def _select_sync(
        self,
        cursor: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
    ) -> list[Series]:
        found = self._resolve(tenant_id, matchers, start_ms, end_ms)
        return self._read_sync(cursor, found, start_ms, end_ms)

    def _read_sync(
        self,
        cursor: duckdb.DuckDBPyConnection,
        found: list[tuple[int, SeriesKey]],
        start_ms: int,
        end_ms: int,
    ) -> list[Series]:
        """Samples of the resolved series: the in-memory head, plus the compacted table when
        the range reaches before ``sorted_until`` (both seen at the same moment)."""
        if not found or start_ms > end_ms:
            return []
        ids = _ids(found)
        view = self._head.view
        if start_ms >= view.sorted_until:
            return _assemble(found, *view.read(ids, start_ms, end_ms))
        with self._moves.shared():
            view = self._head.view
            head = view.read(ids, start_ms, end_ms)
            where = f"ts BETWEEN {int(start_ms)} AND {int(min(end_ms, view.sorted_until - 1))}"
            if len(ids) <= _INLINE_IDS:
                in_list = ",".join(map(str, ids.tolist()))
                result = cursor.execute(
                    f"SELECT series_id, ts, value FROM samples_sorted "
                    f"WHERE series_id IN ({in_list}) AND {where}"
                ).fetchnumpy()
            else:
                wanted = pa.table({"series_id": pa.array(ids.astype(np.int32))})
                cursor.register("_wanted", wanted)
                # The id bounds let the scan skip row groups of the sorted table.
                try:
                    result = cursor.execute(
                        "SELECT s.series_id, s.ts, s.value FROM samples_sorted s "
                        "SEMI JOIN _wanted w ON s.series_id = w.series_id "
                        f"WHERE s.series_id BETWEEN {ids[0]} AND {ids[-1]} AND s.{where}"
                    ).fetchnumpy()
                finally:
                    cursor.unregister("_wanted")
        return _assemble(
            found,
            np.concatenate((np.asarray(result["series_id"], np.int64), head[0])),
            np.concatenate((np.asarray(result["ts"], np.int64), head[1])),
            np.concatenate((np.asarray(result["value"], np.float64), head[2])),
        )

    async def series(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, str]]:
        check_selector(matchers)
        found = await self._in_reader(self._resolve, tenant_id, matchers, start_ms, end_ms)
        return [key.metric() for key in sorted(key for _, key in found)]

    async def label_names(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        if matchers:
            check_selector(matchers)
        elif start_ms is None and end_ms is None:
            return await self._in_reader(self._all_label_names, tenant_id)
        found = await self._in_reader(self._resolve, tenant_id, matchers, start_ms, end_ms)
        names = {name for _, key in found for name, _ in key.labels}
        if found:
            names.add(METRIC_NAME_LABEL)
        return sorted(names)

    def _all_label_names(self, tenant_id: UUID) -> list[str]:
        with self._index.lock:
            tenant = self._index.tenants.get(tenant_id)
            return sorted(tenant.postings) if tenant else []

    async def label_values(
        self,
        tenant_id: UUID,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        if matchers:
            check_selector(matchers)
        elif start_ms is None and end_ms is None:
            return await self._in_reader(self._all_label_values, tenant_id, name)
        found = await self._in_reader(self._resolve, tenant_id, matchers, start_ms, end_ms)
        if name == METRIC_NAME_LABEL:
            return sorted({key.name for _, key in found})
        values = {dict(key.labels).get(name) for _, key in found}
        values.discard(None)
        return sorted(v for v in values if v is not None)

    def _all_label_values(self, tenant_id: UUID, name: str) -> list[str]:
        with self._index.lock:
            tenant = self._index.tenants.get(tenant_id)
            return sorted(tenant.postings.get(name, {})) if tenant else []

    async def _in_reader(self, fn: Callable[..., T], *args: Any) -> T:
        """Run index-only work off the event loop (matching may touch many label values)."""
        if self._closed:
            raise StoreError("the metrics store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, fn, *args)

    async def active_series_count(
        self, tenant_id: UUID, *, window_ms: int = ACTIVE_WINDOW_MS, now_ms: int | None = None
    ) -> int:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return await self._in_reader(self._active_sync, tenant_id, now - window_ms)

    def _active_sync(self, tenant_id: UUID, since_ms: int) -> int:
        with self._index.lock:
            tenant = self._index.tenants.get(tenant_id)
            if tenant is None or not tenant.all_ids:
                return 0
            ids = np.fromiter(tenant.all_ids, dtype=np.int64, count=len(tenant.all_ids))
            return int(np.count_nonzero(self._index.last_ts[ids] > since_ms))

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

    # --- retention and rollups ---------------------------------------------------------------

    async def delete_before(self, tenant_id: UUID, ts_ms: int) -> None:
        await self._run_writer(self._delete_before_sync, tenant_id, ts_ms)

    def _delete_before_sync(self, tenant_id: UUID, ts_ms: int) -> None:
        con = self._db
        index = self._index
        with index.lock:
            tenant = index.tenants.get(tenant_id)
            ids = np.fromiter(tenant.all_ids, dtype=np.int64) if tenant else np.empty(0, np.int64)
        if len(ids) == 0:
            return
        dead = ids[index.last_ts[ids] < ts_ms]
        tenant_str = str(tenant_id)
        left = self._head.without(ts_ms, ids=ids)
        with _transaction(con, "metrics retention", self._moves, lambda: self._head.publish(left)):
            for table, column in (
                ("samples", "ts"),
                ("samples_sorted", "ts"),
                ("rollup_1m", "bucket"),
                ("rollup_1h", "bucket"),
            ):
                con.execute(
                    f"DELETE FROM {table} WHERE {column} < $1 AND series_id IN "
                    "(SELECT series_id FROM series WHERE tenant_id = $2::UUID)",
                    [ts_ms, tenant_str],
                )
            if len(dead):
                dead_table = pa.table({"series_id": pa.array(dead.astype(np.int32))})
                con.register("_dead_series", dead_table)
                try:
                    con.execute(
                        "DELETE FROM series WHERE series_id IN (SELECT series_id FROM _dead_series)"
                    )
                finally:
                    con.unregister("_dead_series")
        with index.lock:
            index.remove(dead.tolist())
            alive = ids[index.last_ts[ids] >= ts_ms]
            index.first_ts[alive] = np.maximum(index.first_ts[alive], ts_ms)

    async def rollup(self, tenant_id: UUID, before_ms: int) -> int:
        return await self._run_writer(self._rollup_sync, tenant_id, before_ms)

    def _rollup_sync(self, tenant_id: UUID, before_ms: int) -> int:
        """Aggregate whole hours of raw samples in ``[progress, before)`` into the rollups."""
        con = self._db
        before = before_ms - before_ms % HOUR_MS
        tenant_str = str(tenant_id)
        row = con.execute(
            "SELECT rolled_up_to_ms FROM tenant_state WHERE tenant_id = $1::UUID", [tenant_str]
        ).fetchone()
        progress = int(row[0]) if row else 0
        if before <= progress:
            return 0
        with _transaction(con, "metrics rollup"):
            con.execute(
                f"""
                INSERT INTO rollup_1m
                SELECT series_id, ts - ts % {MINUTE_MS} AS bucket,
                       min(value), max(value), sum(value), count(*)
                FROM ({_all_samples("ts >= $1 AND ts < $2")})
                WHERE series_id IN (SELECT series_id FROM series WHERE tenant_id = $3::UUID)
                GROUP BY ALL
                """,
                [progress, before, tenant_str],
            )
            con.execute(
                f"""
                INSERT INTO rollup_1h
                SELECT series_id, bucket - bucket % {HOUR_MS} AS hour,
                       min(min), max(max), sum(sum), sum(count)::BIGINT
                FROM rollup_1m
                WHERE bucket >= $1 AND bucket < $2 AND series_id IN
                      (SELECT series_id FROM series WHERE tenant_id = $3::UUID)
                GROUP BY ALL
                """,
                [progress, before, tenant_str],
            )
            counted = con.execute(
                "SELECT coalesce(sum(count), 0) FROM rollup_1h WHERE bucket >= $1 AND "
                "bucket < $2 AND series_id IN "
                "(SELECT series_id FROM series WHERE tenant_id = $3::UUID)",
                [progress, before, tenant_str],
            ).fetchone()
            con.execute(
                "INSERT INTO tenant_state VALUES ($1::UUID, $2) "
                "ON CONFLICT (tenant_id) DO UPDATE SET rolled_up_to_ms = excluded.rolled_up_to_ms",
                [tenant_str, before],
            )
        return int(counted[0]) if counted else 0

    async def rollups(
        self, tenant_id: UUID, resolution: str, matchers: Sequence[Matcher]
    ) -> list[tuple[dict[str, str], Int64Array, np.ndarray]]:
        """Rollup rows of matching series: ``(metric, buckets, [[min, max, sum, count]])``.

        ``resolution`` is ``"1m"`` or ``"1h"``. Reading rollups is not part of the query path
        yet; this exists for inspection and tests.
        """
        if resolution not in ("1m", "1h"):
            raise ValueError("resolution must be '1m' or '1h'")
        check_selector(matchers)
        return await self._run_reader(self._rollups_sync, tenant_id, resolution, matchers)

    def _rollups_sync(
        self,
        cursor: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        resolution: str,
        matchers: Sequence[Matcher],
    ) -> list[tuple[dict[str, str], Int64Array, np.ndarray]]:
        found = self._resolve(tenant_id, matchers, None, None)
        out = []
        for series_id, key in sorted(found, key=lambda item: item[1]):
            rows = cursor.execute(
                f"SELECT bucket, min, max, sum, count FROM rollup_{resolution} "
                "WHERE series_id = $1 ORDER BY bucket",
                [series_id],
            ).fetchnumpy()
            if len(rows["bucket"]):
                stats = np.column_stack(
                    [np.asarray(rows[c], np.float64) for c in ("min", "max", "sum", "count")]
                )
                out.append((key.metric(), np.asarray(rows["bucket"], np.int64), stats))
        return out

    # --- misc --------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Nothing to do: a write is visible once it returned."""

    async def stats(self) -> StoreStats:
        disk = 0
        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                disk += os.stat(f"{self.path}{suffix}").st_size
        return StoreStats(
            backend=self.backend,
            series=len(self._index.keys),
            samples_written=self._samples_written,
            write_calls=self._write_calls,
            write_transactions=self._transactions,
            disk_bytes=disk,
        )

    async def ping(self) -> None:
        """A query on a reader connection; fails too when the writer task has stopped (writes
        would wait forever)."""
        task = self._writer_task
        if self._closing or task is None:
            raise StoreError("the metrics store is closed")
        if task.done():
            raise StoreError("the metrics store's writer has stopped")
        await self._run_reader(lambda cursor: cursor.execute("SELECT 1").fetchall())

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (DuckDB also does this itself)."""
        await self._run_writer(lambda: self._db.execute("CHECKPOINT"))


def _ids(found: list[tuple[int, SeriesKey]]) -> Int64Array:
    """The (sorted) ids of resolved series as an array."""
    return np.fromiter((series_id for series_id, _ in found), np.int64, count=len(found))


def _assemble(
    found: list[tuple[int, SeriesKey]],
    sids: Int64Array,
    timestamps: Int64Array,
    values: np.ndarray,
) -> list[Series]:
    """Rows of any order grouped into :class:`Series`, samples by time, series by labels."""
    if len(sids) == 0:
        return []
    # Rows read from the head alone usually come grouped by series and in time order: check
    # that in one pass, and sort (cheaper here than ORDER BY in the query) only when not.
    step_sid = np.diff(sids)
    if not bool(np.all((step_sid > 0) | ((step_sid == 0) & (np.diff(timestamps) >= 0)))):
        order = np.lexsort((timestamps, sids))
        sids, timestamps, values = sids[order], timestamps[order], values[order]
        step_sid = np.diff(sids)
    starts = np.concatenate(([0], np.flatnonzero(step_sid) + 1))
    ends = np.append(starts[1:], len(sids))
    where = dict(
        zip(sids[starts].tolist(), zip(starts.tolist(), ends.tolist(), strict=True), strict=True)
    )
    out: list[Series] = []
    # Series keys hold their labels sorted, so ordering by key orders by name, then labels.
    for series_id, key in sorted(found, key=lambda item: item[1]):
        bounds = where.get(series_id)
        if bounds is not None:
            begin, end = bounds
            out.append(Series(key.name, dict(key.labels), timestamps[begin:end], values[begin:end]))
    return out


def _insert_series(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, UUID, SeriesKey]]) -> None:
    """Add new series to the dictionary table (inside the caller's transaction)."""
    now_ms = int(time.time() * 1000)
    table = pa.Table.from_arrays(
        [
            pa.array([r[0] for r in rows], pa.int32()),
            pa.array([str(r[1]) for r in rows], pa.string()),
            pa.array([r[2].name for r in rows], pa.string()),
            pa.array([_labels_json(r[2]) for r in rows], pa.string()),
            pa.array([series_hash(r[1], r[2]) for r in rows], pa.uint64()),
        ],
        names=["series_id", "tenant_id", "name", "labels", "hash"],
    )
    con.from_arrow(table).project(
        f"series_id, CAST(tenant_id AS UUID), name, labels, hash, {now_ms}::BIGINT"
    ).insert_into("series")


@contextlib.contextmanager
def _transaction(
    con: duckdb.DuckDBPyConnection,
    what: str,
    moves: SharedLock | None = None,
    on_commit: Callable[[], None] | None = None,
) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK and :class:`StoreError` on any failure.

    With ``moves``, the COMMIT and ``on_commit`` run while holding it exclusively."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        if moves is None:
            con.execute("COMMIT")
        else:
            with moves.exclusive():
                con.execute("COMMIT")
                if on_commit is not None:
                    on_commit()
    except Exception as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise StoreError(f"{what} failed: {exc}") from exc


def _settle(
    future: asyncio.Future[WriteResult],
    result: WriteResult | None = None,
    *,
    exc: BaseException | None = None,
) -> None:
    if future.done():  # the caller was cancelled; the write happened (or failed) anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert result is not None
        future.set_result(result)


if TYPE_CHECKING:

    def _conforms(store: DuckDBStore) -> Store:  # mypy checks the protocol here
        return store
