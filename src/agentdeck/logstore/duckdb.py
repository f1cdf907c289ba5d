"""The embedded log store: one DuckDB file of its own (see ``docs/logs-storage.md``).

One table, ``logs``, in arrival order, which for logs is time order: DuckDB keeps min/max per
row group, so a query of a time window reads only the row groups of that window. The message
is zstd-compressed; service, agent and the label set (canonical JSON, sorted keys) compress as
dictionaries, severity is a one-byte code; ids of the store's own shape are kept as numbers,
trace and span ids as one text (the layout: :mod:`agentdeck.logstore._duckdb_sql`). A file of
an older layout is migrated when opened (:mod:`agentdeck.logstore._duckdb_migrate`).

Writes: one writer thread owns the connection that writes. Concurrent :meth:`write` calls queue
up and are coalesced into one INSERT (one transaction) from an Arrow table; each call returns
after the transaction holding its records committed (DuckDB writes and syncs its write-ahead
log on commit), so a line acknowledged to a client survives ``kill -9``. While writers overlap
a lone queued batch waits up to ``commit_linger`` seconds for company, as the metrics store's
writer does. Reads run on a pool of reader threads with their own cursors (MVCC: a read never
waits for a write), compiled from the parsed query into parameterised SQL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.db.threads import (
    checkpoint_copy,
    close_duckdb,
    connect_duckdb,
    duckdb_disk_bytes,
)
from agentdeck.logstore import _common, logql
from agentdeck.logstore._duckdb_migrate import open_migrated
from agentdeck.logstore._duckdb_sql import (
    COLUMNS,
    FLAG_NAMES,
    HAS_SPAN_SQL,
    HAS_TRACE_SQL,
    ID_SQL,
    INSERT_SQL,
    SCHEMA,
    SCHEMA_VERSION,
    arrow_columns,
    arrow_records,
    label_column,
    row_count,
    to_record,
    where_sql,
)
from agentdeck.logstore._store import LogStoreBase
from agentdeck.logstore._writer import Batch, WritePath
from agentdeck.logstore.base import (
    Cursor,
    HistogramBucket,
    LogColumns,
    LogQuery,
    LogQueryError,
    LogRecord,
    LogStore,
    LogStoreError,
    Severity,
    record_id_ms,
)

#: DuckDB's default (16 MiB, ~80,000 of these lines) checkpoints before a row group (122,880
#: rows) is full, so each checkpoint compresses the unfinished last row group again: at a
#: 128 MiB write-ahead log a checkpoint writes ~5 whole row groups, which costs less CPU per
#: line and fewer bytes on disk (``docs/benchmarks.md``, log store). The price: up to that much
#: log to replay on a restart after a crash, and the lines not yet checkpointed held in memory
#: uncompressed (within DuckDB's ``memory_limit``).
CHECKPOINT_WAL = "128MiB"


class DuckDBLogStore(LogStoreBase[duckdb.DuckDBPyConnection, tuple[pa.Table, int, int]]):
    """The embedded :class:`~agentdeck.logstore.base.LogStore`.

    ``path``: the DuckDB file (created with its directory when missing). ``read_threads``:
    concurrent reads. ``duckdb_threads`` / ``memory_limit``: DuckDB's own settings (None: its
    defaults). ``max_batch_records``: most records coalesced into one transaction.
    ``commit_linger``: seconds a lone batch waits for company while writers overlap.
    ``max_scan``: rows a field-filtered (``| json``/``| logfmt``) search or histogram reads.
    ``checkpoint_wal``: the write-ahead log's size that makes DuckDB fold it into the file
    (its ``wal_autocheckpoint``; see :data:`CHECKPOINT_WAL`).
    """

    backend = "duckdb"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_threads: int = 2,
        duckdb_threads: int | None = None,
        memory_limit: str | None = None,
        max_batch_records: int = 100_000,
        commit_linger: float = 0.002,
        max_scan: int = _common.DEFAULT_MAX_SCAN,
        checkpoint_wal: str = CHECKPOINT_WAL,
    ) -> None:
        self.path = Path(path)
        self._checkpoint_wal = checkpoint_wal
        self._duckdb_threads = duckdb_threads
        self._memory_limit = memory_limit
        self._max_scan = max_scan
        self._path = WritePath(
            "logstore-duckdb",
            read_threads,
            read_error=_read_error,
            linger=commit_linger,
            max_records=max_batch_records,
        )
        self._con: duckdb.DuckDBPyConnection | None = None
        # Label sets seen lately → their JSON (label sets repeat: one per stream).
        self._labels_cache: dict[tuple[tuple[str, str], ...], str] = {}
        # Bounds of the stored times (for clamping open-ended scans such as context).
        self._min_ts: int | None = None
        self._max_ts: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def _open_sync(self) -> None:
        try:
            con = open_migrated(
                self.path,
                lambda: connect_duckdb(
                    self.path, threads=self._duckdb_threads, memory_limit=self._memory_limit
                ),
            )
        except (duckdb.Error, OSError) as exc:
            raise LogStoreError(f"cannot open the log store {self.path}: {exc}") from exc
        try:
            # The setting is per database: this file's own DuckDB instance only.
            con.execute(f"SET wal_autocheckpoint = '{self._checkpoint_wal}'")
            con.execute(SCHEMA)
            con.execute(
                "INSERT INTO log_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [SCHEMA_VERSION],
            )
            low, high = con.execute("SELECT min(ts_ns), max(ts_ns) FROM logs").fetchall()[0]
        except duckdb.Error as exc:
            con.close()
            raise LogStoreError(f"cannot open the log store {self.path}: {exc}") from exc
        self._con = con
        self._min_ts, self._max_ts = low, high
        for _ in range(self._path.threads.read_threads):
            self._path.threads.add_reader(con.cursor())

    def _close_sync(self) -> None:
        close_duckdb(self._con, self._path.threads.resources)
        self._con = None

    def _ping_sync(self, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.execute("SELECT 1").fetchall()

    @property
    def _db(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise LogStoreError("the log store is closed")
        return self._con

    # --- writes ------------------------------------------------------------------------------

    def _prepare_sync(self, parts: list[Batch]) -> tuple[pa.Table, int, int]:
        """The Arrow table of a group's lines and their time bounds (the prepare thread)."""
        cache = self._labels_cache
        tables = []
        low: int | None = None
        high: int | None = None
        try:
            records = [r for part in parts if not isinstance(part, LogColumns) for r in part]
            if records:
                tables.append(arrow_records(records, cache))
                low = min(r.ts_ns for r in records)
                high = max(r.ts_ns for r in records)
            for part in parts:
                if isinstance(part, LogColumns) and len(part):
                    tables.append(arrow_columns(part, cache))
                    part_low, part_high = min(part.ts_ns), max(part.ts_ns)
                    low = part_low if low is None else min(low, part_low)
                    high = part_high if high is None else max(high, part_high)
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        except (KeyError, TypeError, ValueError, IndexError, pa.ArrowException) as exc:
            raise LogStoreError(f"log records cannot be stored: {exc!r}") from exc
        assert low is not None and high is not None
        return table, low, high

    def _insert_sync(self, prepared: tuple[pa.Table, int, int]) -> None:
        table, low, high = prepared
        con = self._db
        try:
            # One INSERT is one transaction: committed (WAL synced) when it returns.
            con.from_arrow(table).project(INSERT_SQL).insert_into("logs")
        except duckdb.Error as exc:
            raise LogStoreError(f"log write failed: {exc}") from exc
        self._min_ts = low if self._min_ts is None else min(self._min_ts, low)
        self._max_ts = high if self._max_ts is None else max(self._max_ts, high)

    # --- reads -------------------------------------------------------------------------------

    def _clamp(self, start_ns: int, end_ns: int) -> tuple[int, int] | None:
        if self._min_ts is None or self._max_ts is None:
            return None
        return max(start_ns, self._min_ts), min(end_ns, self._max_ts + 1)

    def _fetcher(
        self, con: duckdb.DuckDBPyConnection, tenant_id: UUID, query: LogQuery, backward: bool
    ) -> _common.Fetch:
        where, params = where_sql(tenant_id, query)
        order = "DESC" if backward else "ASC"
        after_op = "<" if backward else ">"

        def fetch(lo: int, hi: int, after: Cursor | None, n: int) -> list[LogRecord]:
            sql = f"SELECT {COLUMNS} FROM logs WHERE {where} AND ts_ns >= ? AND ts_ns < ?"
            args = [*params, lo, hi]
            if after is not None:
                sql += f" AND (ts_ns {after_op} ? OR (ts_ns = ? AND {ID_SQL} {after_op} ?))"
                args += [after.ts_ns, after.ts_ns, after.id]
            # By time alone, one row more: unless that row shares the last one's time (the
            # LIMIT may have cut a group of equal times), these are the first n by (time, id),
            # put in order here; an id as SQL in the ORDER BY would be computed for every row.
            rows = con.execute(f"{sql} ORDER BY ts_ns {order} LIMIT {int(n) + 1}", args)
            found = rows.fetchall()
            if len(found) > n and found[n][0] == found[n - 1][0]:
                exact = f"{sql} ORDER BY ts_ns {order}, {ID_SQL} {order} LIMIT {int(n)}"
                found = con.execute(exact, args).fetchall()
            records = [to_record(tenant_id, row) for row in found[:n]]
            records.sort(key=lambda r: (r.ts_ns, r.id), reverse=backward)
            return records

        return fetch

    def _histogram_sync(
        self,
        con: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        step_ns: int,
    ) -> list[HistogramBucket]:
        where, params = where_sql(tenant_id, query)
        args = [*params, start_ns, end_ns]
        counts: dict[int, dict[Severity, int]] = {}
        if not query.field_filters:
            bucket = f"ts_ns - ((ts_ns % {int(step_ns)}) + {int(step_ns)}) % {int(step_ns)}"
            rows = con.execute(
                f"SELECT {bucket} AS bucket, severity, count(*) FROM logs "
                f"WHERE {where} AND ts_ns >= ? AND ts_ns < ? GROUP BY ALL",
                args,
            ).fetchall()
            for start, code, count in rows:
                counts.setdefault(int(start), {})[_common.SEVERITIES[code]] = int(count)
        else:
            residual = logql.field_filter_test(query.field_filters)
            reader = con.execute(
                f"SELECT ts_ns, severity, message FROM logs "
                f"WHERE {where} AND ts_ns >= ? AND ts_ns < ?",
                args,
            )
            _common.count_filtered(_chunked(reader), residual, step_ns, self._max_scan, counts)
        return [HistogramBucket(start, counts[start]) for start in sorted(counts)]

    def _get_sync(
        self, con: duckdb.DuckDBPyConnection, tenant_id: UUID, record_id: str
    ) -> LogRecord | None:
        ms = record_id_ms(record_id)
        seq = int(record_id[11:], 16) if ms is not None else None
        if ms is not None:  # the id carries its time: read one millisecond's row groups
            # A row there kept as the number ``seq`` has this id (its time gives the rest).
            rows = con.execute(
                f"SELECT {COLUMNS} FROM logs WHERE tenant_id = ?::UUID AND id_seq = ? "
                "AND ts_ns >= ? AND ts_ns < ? LIMIT 1",
                [str(tenant_id), seq, ms * 1_000_000, (ms + 1) * 1_000_000],
            ).fetchall()
            if rows:
                return to_record(tenant_id, rows[0])
        # Anywhere: an id kept as text, or one of RecordIds' shape by its stored number.
        rows = con.execute(
            f"SELECT {COLUMNS} FROM logs WHERE tenant_id = ?::UUID AND (id_text = ? OR "
            f"(id_seq = ? AND {ID_SQL} = ?)) LIMIT 1",
            [str(tenant_id), record_id, seq, record_id],
        ).fetchall()
        return to_record(tenant_id, rows[0]) if rows else None

    async def _context_bounds(self, tenant_id: UUID, record: LogRecord) -> tuple[int, int]:
        # Searches clamp to the stored times themselves.
        return 0, _common.MAX_TS_NS

    def _label_names_sync(
        self, con: duckdb.DuckDBPyConnection, tenant_id: UUID, start_ns: int, end_ns: int
    ) -> list[str]:
        scope = "tenant_id = ?::UUID AND ts_ns >= ? AND ts_ns < ?"
        args = [str(tenant_id), start_ns, end_ns]
        row = con.execute(
            f"SELECT count(*) > 0, bool_or(agent <> ''), bool_or({HAS_TRACE_SQL}), "
            f"bool_or({HAS_SPAN_SQL}), bool_or(template_id IS NOT NULL) FROM logs WHERE {scope}",
            args,
        ).fetchall()[0]
        names: set[str] = set()
        if row[0]:
            names.update(("service", "severity"))
            for name, present in zip(FLAG_NAMES, row[1:], strict=True):
                if present:
                    names.add(name)
        keys = con.execute(
            "SELECT DISTINCT unnest(json_keys(labels)) FROM "
            f"(SELECT DISTINCT labels FROM logs WHERE {scope} AND labels <> '{{}}')",
            args,
        ).fetchall()
        names.update(key for (key,) in keys)
        return sorted(names)

    def _label_values_sync(
        self,
        con: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        name: str,
        start_ns: int,
        end_ns: int,
        limit: int,
        selector: LogQuery,
    ) -> list[str]:
        if limit <= 0:
            return []
        where, params = where_sql(tenant_id, selector)
        scope = f"{where} AND ts_ns >= ? AND ts_ns < ?"
        args: list[object] = [*params, start_ns, end_ns]
        if name == "severity":
            codes = con.execute(
                f"SELECT DISTINCT severity FROM logs WHERE {scope}", args
            ).fetchall()
            found = sorted(_common.SEVERITIES[code].value for (code,) in codes)
            return found[:limit]
        value, pointer = label_column(name)
        args = [*pointer, *args]
        rows = con.execute(
            f"SELECT DISTINCT v FROM (SELECT {value} AS v FROM logs WHERE {scope}) "
            f"WHERE v IS NOT NULL AND v <> '' ORDER BY v LIMIT {int(limit)}",
            args,
        ).fetchall()
        return [v for (v,) in rows]

    # --- retention ---------------------------------------------------------------------------

    def _delete_sync(self, cutoffs: dict[UUID, int], default_ns: int) -> int:
        con = self._db
        con.execute("BEGIN TRANSACTION")
        try:
            deleted = 0
            if cutoffs:
                table = pa.table(
                    {
                        "tenant": pa.array([str(t) for t in cutoffs], pa.string()),
                        "cutoff": pa.array(list(cutoffs.values()), pa.int64()),
                    }
                )
                con.register("_log_cutoffs", table)
                try:
                    deleted += row_count(
                        con.execute(
                            "DELETE FROM logs USING _log_cutoffs c WHERE "
                            "logs.tenant_id = CAST(c.tenant AS UUID) AND logs.ts_ns < c.cutoff"
                        )
                    )
                    deleted += row_count(
                        con.execute(
                            "DELETE FROM logs WHERE ts_ns < ? AND tenant_id NOT IN "
                            "(SELECT CAST(tenant AS UUID) FROM _log_cutoffs)",
                            [default_ns],
                        )
                    )
                finally:
                    con.unregister("_log_cutoffs")
            else:
                deleted += row_count(con.execute("DELETE FROM logs WHERE ts_ns < ?", [default_ns]))
            con.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise LogStoreError(f"log retention failed: {exc}") from exc
        if deleted:
            low = con.execute("SELECT min(ts_ns) FROM logs").fetchall()[0][0]
            self._min_ts = low
            if low is None:
                self._max_ts = None
        return deleted

    # --- misc --------------------------------------------------------------------------------

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the file (DuckDB also does this by itself)."""
        await self._run_writer(lambda: self._db.execute("CHECKPOINT"))

    async def snapshot(self, dest: Path) -> None:
        """A consistent copy of the store at ``dest`` (online backup): a checkpoint and a file
        copy on the writer thread, so writes wait for it and reads go on."""
        await self._run_writer(checkpoint_copy, self._db, self.path, dest)

    def disk_bytes(self) -> int:
        """The size of the database file and its write-ahead log."""
        return duckdb_disk_bytes(self.path)


def _chunked(reader: duckdb.DuckDBPyConnection) -> Iterator[tuple[int, int, str]]:
    while chunk := reader.fetchmany(_common.FIELD_CHUNK):
        yield from chunk


def _read_error(_cursor: duckdb.DuckDBPyConnection, exc: Exception) -> Exception | None:
    if isinstance(exc, duckdb.InvalidInputException):
        # What a reader passes in is a value, a regex or a range: DuckDB refusing it (such as
        # a regex its RE2 does not know) is the query's fault.
        return LogQueryError(f"the query cannot run: {exc}")
    if isinstance(exc, duckdb.Error):
        return LogStoreError(f"log store read failed: {exc}")
    return None


if TYPE_CHECKING:

    def _conforms(store: DuckDBLogStore) -> LogStore:  # mypy checks the protocol here
        return store
