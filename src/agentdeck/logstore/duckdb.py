"""The embedded log store: one DuckDB file of its own (see ``docs/logs-storage.md``).

One table, ``logs``, in arrival order, which for logs is time order: DuckDB keeps min/max per
row group, so a query of a time window reads only the row groups of that window. The message
is zstd-compressed; service, agent and the label set (canonical JSON, sorted keys) compress as
dictionaries, severity is a one-byte code.

Writes: one writer thread owns the connection that writes. Concurrent :meth:`write` calls queue
up and are coalesced into one INSERT (one transaction) from an Arrow table; each call returns
after the transaction holding its records committed (DuckDB writes and syncs its write-ahead
log on commit), so a line acknowledged to a client survives ``kill -9``. While writers overlap
a lone queued batch waits up to ``commit_linger`` seconds for company, as the metrics store's
writer does. Reads run on a pool of reader threads with their own cursors (MVCC: a read never
waits for a write), compiled from the parsed query into parameterised SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import duckdb
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.logstore import _common, logql
from agentdeck.logstore._writer import Batch, GroupCommit
from agentdeck.logstore.base import (
    COLUMN_FIELDS,
    Cursor,
    HistogramBucket,
    LogColumns,
    LogContext,
    LogPage,
    LogQuery,
    LogQueryError,
    LogRecord,
    LogStore,
    LogStoreError,
    Matcher,
    Severity,
    record_id_ms,
)

T = TypeVar("T")

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    tenant_id UUID NOT NULL,
    ts_ns BIGINT NOT NULL,
    id VARCHAR NOT NULL USING COMPRESSION zstd,
    service VARCHAR NOT NULL,
    severity UTINYINT NOT NULL,
    agent VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    message VARCHAR NOT NULL USING COMPRESSION zstd,
    labels VARCHAR NOT NULL,
    truncated BOOLEAN NOT NULL,
    template_id BIGINT,
    observed_ns BIGINT NOT NULL
);
"""
_COLUMNS = (
    "ts_ns, id, service, severity, agent, trace_id, span_id, message, labels, truncated, "
    "template_id, observed_ns"
)
_SIMPLE_COLUMNS = {"service", "agent", "trace_id", "span_id"}
# Column fields label_names reports when some line in the range has them.
FLAG_NAMES = ("agent", "trace_id", "span_id", "template")


class DuckDBLogStore:
    """The embedded :class:`~agentdeck.logstore.base.LogStore`.

    ``path``: the DuckDB file (created with its directory when missing). ``read_threads``:
    concurrent reads. ``duckdb_threads`` / ``memory_limit``: DuckDB's own settings (None: its
    defaults). ``max_batch_records``: most records coalesced into one transaction.
    ``commit_linger``: seconds a lone batch waits for company while writers overlap.
    ``max_scan``: rows a field-filtered (``| json``/``| logfmt``) search or histogram reads.
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
    ) -> None:
        self.path = Path(path)
        self._read_threads = read_threads
        self._duckdb_threads = duckdb_threads
        self._memory_limit = memory_limit
        self._max_batch_records = max_batch_records
        self._commit_linger = commit_linger
        self._max_scan = max_scan
        self._con: duckdb.DuckDBPyConnection | None = None
        self._cursors: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        self._all_cursors: list[duckdb.DuckDBPyConnection] = []
        self._writer: ThreadPoolExecutor | None = None
        self._preparer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._group: GroupCommit[tuple[pa.Table, int, int]] | None = None
        # Label sets seen lately → their JSON (label sets repeat: one per stream).
        self._labels_cache: dict[tuple[tuple[str, str], ...], str] = {}
        self._closing = False
        self._closed = False
        # Bounds of the stored times (for clamping open-ended scans such as context).
        self._min_ts: int | None = None
        self._max_ts: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._con is not None:
            return
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="logstore-duckdb-writer")
        self._preparer = ThreadPoolExecutor(1, thread_name_prefix="logstore-duckdb-prepare")
        self._readers = ThreadPoolExecutor(
            self._read_threads, thread_name_prefix="logstore-duckdb-read"
        )
        try:
            await self._run_writer(self._open_sync)
        except BaseException:
            self._writer.shutdown(wait=False)
            self._preparer.shutdown(wait=False)
            self._readers.shutdown(wait=False)
            raise
        self._group = GroupCommit(
            self._prepare_sync,
            self._insert_sync,
            self._writer,
            self._preparer,
            linger=self._commit_linger,
            max_records=self._max_batch_records,
            name="logstore-duckdb-writer",
        )
        self._group.start()

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
            raise LogStoreError(f"cannot open the log store {self.path}: {exc}") from exc
        try:
            con.execute(_SCHEMA)
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
        for _ in range(self._read_threads):
            cursor = con.cursor()
            self._all_cursors.append(cursor)
            self._cursors.put(cursor)

    async def close(self) -> None:
        if self._closed or self._con is None:
            self._closed = True
            return
        self._closing = True
        if self._group is not None:
            await self._group.close()
        self._closed = True
        loop = asyncio.get_running_loop()
        assert self._readers is not None and self._writer is not None
        await loop.run_in_executor(None, self._readers.shutdown, True)
        await self._run_writer(self._close_sync)
        self._writer.shutdown(wait=False)
        if self._preparer is not None:
            self._preparer.shutdown(wait=False)

    def _close_sync(self) -> None:
        for cursor in self._all_cursors:
            cursor.close()
        if self._con is not None:
            self._con.close()
            self._con = None

    async def __aenter__(self) -> DuckDBLogStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ping(self) -> None:
        if self._closing or self._group is None:
            raise LogStoreError("the log store is closed")
        if not self._group.running:
            raise LogStoreError("the log store's writer has stopped")
        await self._run_reader(lambda cursor: cursor.execute("SELECT 1").fetchall())

    async def _run_writer(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._writer is not None
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def _run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed or self._readers is None:
            raise LogStoreError("the log store is closed")

        def call() -> T:
            cursor = self._cursors.get()
            try:
                return fn(cursor, *args)
            except duckdb.InvalidInputException as exc:
                # What a reader passes in is a value, a regex or a range: DuckDB refusing it
                # (such as a regex its RE2 does not know) is the query's fault.
                raise LogQueryError(f"the query cannot run: {exc}") from exc
            except duckdb.Error as exc:
                raise LogStoreError(f"log store read failed: {exc}") from exc
            finally:
                self._cursors.put(cursor)

        return await asyncio.get_running_loop().run_in_executor(self._readers, call)

    @property
    def _db(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise LogStoreError("the log store is closed")
        return self._con

    # --- writes ------------------------------------------------------------------------------

    async def write(self, records: Sequence[LogRecord]) -> None:
        if self._closing or self._group is None:
            raise LogStoreError("the log store is closed")
        await self._group.submit(records)

    async def write_columns(self, batch: LogColumns) -> None:
        if self._closing or self._group is None:
            raise LogStoreError("the log store is closed")
        await self._group.submit(batch)

    @property
    def stats(self) -> dict[str, int]:
        """Write calls, transactions and records written since start."""
        group = self._group
        if group is None:
            return {"write_calls": 0, "transactions": 0, "records": 0}
        return {
            "write_calls": group.calls,
            "transactions": group.transactions,
            "records": group.records,
        }

    def _prepare_sync(self, parts: list[Batch]) -> tuple[pa.Table, int, int]:
        """The Arrow table of a group's lines and their time bounds (the prepare thread)."""
        cache = self._labels_cache
        tables = []
        low: int | None = None
        high: int | None = None
        try:
            records = [r for part in parts if not isinstance(part, LogColumns) for r in part]
            if records:
                tables.append(_arrow(records, cache))
                low = min(r.ts_ns for r in records)
                high = max(r.ts_ns for r in records)
            for part in parts:
                if isinstance(part, LogColumns) and len(part):
                    tables.append(_arrow_columns(part, cache))
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
            con.from_arrow(table).project(
                "CAST(tenant_id AS UUID), ts_ns, id, service, severity, agent, trace_id, "
                "span_id, message, labels, truncated, template_id, observed_ns"
            ).insert_into("logs")
        except duckdb.Error as exc:
            raise LogStoreError(f"log write failed: {exc}") from exc
        self._min_ts = low if self._min_ts is None else min(self._min_ts, low)
        self._max_ts = high if self._max_ts is None else max(self._max_ts, high)

    # --- reads -------------------------------------------------------------------------------

    async def search(
        self,
        tenant_id: UUID,
        query: LogQuery,
        *,
        start_ns: int,
        end_ns: int,
        limit: int,
        direction: str = "backward",
        cursor: Cursor | None = None,
    ) -> LogPage:
        backward = _common.check_direction(direction)
        _common.check_range(start_ns, end_ns, limit)
        logql.validate(query)
        return await self._run_reader(
            self._search_sync, tenant_id, query, start_ns, end_ns, limit, backward, cursor
        )

    def _search_sync(
        self,
        con: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        limit: int,
        backward: bool,
        cursor: Cursor | None,
    ) -> LogPage:
        if self._min_ts is None or self._max_ts is None:
            return LogPage([], None)
        start_ns = max(start_ns, self._min_ts)
        end_ns = min(end_ns, self._max_ts + 1)
        where, params = _where(tenant_id, query)
        order = "DESC" if backward else "ASC"
        after_op = "<" if backward else ">"

        def fetch(lo: int, hi: int, after: Cursor | None, n: int) -> list[LogRecord]:
            sql = f"SELECT {_COLUMNS} FROM logs WHERE {where} AND ts_ns >= ? AND ts_ns < ?"
            args = [*params, lo, hi]
            if after is not None:
                sql += f" AND (ts_ns {after_op} ? OR (ts_ns = ? AND id {after_op} ?))"
                args += [after.ts_ns, after.ts_ns, after.id]
            sql += f" ORDER BY ts_ns {order}, id {order} LIMIT {int(n)}"
            return [_record(tenant_id, row) for row in con.execute(sql, args).fetchall()]

        return _common.windowed_search(
            fetch,
            query,
            start_ns=start_ns,
            end_ns=end_ns,
            limit=limit,
            backward=backward,
            cursor=cursor,
            max_scan=self._max_scan,
        )

    async def histogram(
        self, tenant_id: UUID, query: LogQuery, *, start_ns: int, end_ns: int, step_ns: int
    ) -> Sequence[HistogramBucket]:
        _common.check_step(step_ns, start_ns, end_ns)
        logql.validate(query)
        return await self._run_reader(
            self._histogram_sync, tenant_id, query, start_ns, end_ns, step_ns
        )

    def _histogram_sync(
        self,
        con: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        step_ns: int,
    ) -> list[HistogramBucket]:
        where, params = _where(tenant_id, query)
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
            scanned = 0
            while chunk := reader.fetchmany(_common.FIELD_CHUNK):
                scanned += len(chunk)
                if scanned > self._max_scan:
                    raise LogQueryError(
                        f"field filters over more than {self._max_scan} lines: narrow the "
                        "range or add a line filter"
                    )
                for ts, code, message in chunk:
                    if residual(message):
                        per = counts.setdefault(_common.histogram_bucket(ts, step_ns), {})
                        severity = _common.SEVERITIES[code]
                        per[severity] = per.get(severity, 0) + 1
        return [HistogramBucket(start, counts[start]) for start in sorted(counts)]

    async def get(self, tenant_id: UUID, record_id: str) -> LogRecord | None:
        return await self._run_reader(self._get_sync, tenant_id, record_id)

    def _get_sync(
        self, con: duckdb.DuckDBPyConnection, tenant_id: UUID, record_id: str
    ) -> LogRecord | None:
        sql = f"SELECT {_COLUMNS} FROM logs WHERE tenant_id = ?::UUID AND id = ?"
        args: list[object] = [str(tenant_id), record_id]
        ms = record_id_ms(record_id)
        if ms is not None:  # the id carries its time: read one millisecond's row groups
            rows = con.execute(
                sql + " AND ts_ns >= ? AND ts_ns < ? LIMIT 1",
                [*args, ms * 1_000_000, (ms + 1) * 1_000_000],
            ).fetchall()
            if rows:
                return _record(tenant_id, rows[0])
        rows = con.execute(sql + " LIMIT 1", args).fetchall()
        return _record(tenant_id, rows[0]) if rows else None

    async def context(
        self, tenant_id: UUID, record_id: str, *, before: int, after: int
    ) -> LogContext | None:
        record = await self.get(tenant_id, record_id)
        if record is None:
            return None
        same_service = LogQuery(matchers=(Matcher("service", "=", record.service),))
        here = Cursor(record.ts_ns, record.id)
        earlier = await self.search(
            tenant_id,
            same_service,
            start_ns=0,
            end_ns=_common.MAX_TS_NS,
            limit=before,
            direction="backward",
            cursor=here,
        )
        later = await self.search(
            tenant_id,
            same_service,
            start_ns=0,
            end_ns=_common.MAX_TS_NS,
            limit=after,
            direction="forward",
            cursor=here,
        )
        return LogContext(list(reversed(earlier.records)), record, list(later.records))

    async def label_names(self, tenant_id: UUID, *, start_ns: int, end_ns: int) -> Sequence[str]:
        return await self._run_reader(self._label_names_sync, tenant_id, start_ns, end_ns)

    def _label_names_sync(
        self, con: duckdb.DuckDBPyConnection, tenant_id: UUID, start_ns: int, end_ns: int
    ) -> list[str]:
        scope = "tenant_id = ?::UUID AND ts_ns >= ? AND ts_ns < ?"
        args = [str(tenant_id), start_ns, end_ns]
        row = con.execute(
            "SELECT count(*) > 0, bool_or(agent <> ''), bool_or(trace_id <> ''), "
            f"bool_or(span_id <> ''), bool_or(template_id IS NOT NULL) FROM logs WHERE {scope}",
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

    async def label_values(
        self, tenant_id: UUID, name: str, *, start_ns: int, end_ns: int, limit: int
    ) -> Sequence[str]:
        return await self._run_reader(
            self._label_values_sync, tenant_id, name, start_ns, end_ns, limit
        )

    def _label_values_sync(
        self,
        con: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        name: str,
        start_ns: int,
        end_ns: int,
        limit: int,
    ) -> list[str]:
        if limit <= 0:
            return []
        scope = "tenant_id = ?::UUID AND ts_ns >= ? AND ts_ns < ?"
        args: list[object] = [str(tenant_id), start_ns, end_ns]
        if name == "severity":
            codes = con.execute(
                f"SELECT DISTINCT severity FROM logs WHERE {scope}", args
            ).fetchall()
            found = sorted(_common.SEVERITIES[code].value for (code,) in codes)
            return found[:limit]
        if name in _SIMPLE_COLUMNS:
            value = name
        elif name == "template":
            value = "CAST(template_id AS VARCHAR)"
        else:
            value = "json_extract_string(labels, ?)"
            args = [_json_pointer(name), *args]
        rows = con.execute(
            f"SELECT DISTINCT v FROM (SELECT {value} AS v FROM logs WHERE {scope}) "
            f"WHERE v IS NOT NULL AND v <> '' ORDER BY v LIMIT {int(limit)}",
            args,
        ).fetchall()
        return [v for (v,) in rows]

    # --- retention ---------------------------------------------------------------------------

    async def delete_before(self, cutoffs: Mapping[UUID, int], *, default_ns: int) -> int:
        return await self._run_writer(self._delete_sync, dict(cutoffs), default_ns)

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
                    deleted += _count(
                        con.execute(
                            "DELETE FROM logs USING _log_cutoffs c WHERE "
                            "logs.tenant_id = CAST(c.tenant AS UUID) AND logs.ts_ns < c.cutoff"
                        )
                    )
                    deleted += _count(
                        con.execute(
                            "DELETE FROM logs WHERE ts_ns < ? AND tenant_id NOT IN "
                            "(SELECT CAST(tenant AS UUID) FROM _log_cutoffs)",
                            [default_ns],
                        )
                    )
                finally:
                    con.unregister("_log_cutoffs")
            else:
                deleted += _count(con.execute("DELETE FROM logs WHERE ts_ns < ?", [default_ns]))
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

        def copy() -> None:
            self._db.execute("CHECKPOINT")
            shutil.copyfile(self.path, dest)

        await self._run_writer(copy)

    def disk_bytes(self) -> int:
        """The size of the database file and its write-ahead log."""
        total = 0
        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total


# --- SQL -------------------------------------------------------------------------------------


def _where(tenant_id: UUID, query: LogQuery) -> tuple[str, list[object]]:
    """The WHERE clause (tenant, matchers, line filters) and its parameters, in order."""
    parts = ["tenant_id = ?::UUID"]
    params: list[object] = [str(tenant_id)]
    for matcher in query.matchers:
        sql, args = _matcher_sql(matcher)
        parts.append(sql)
        params.extend(args)
    for line_filter in query.line_filters:
        op, value = line_filter.op, line_filter.value
        if op == "|=":
            parts.append("contains(message, ?)")
        elif op == "!=":
            parts.append("NOT contains(message, ?)")
        elif op == "|~":
            parts.append("regexp_matches(message, ?)")
            value = logql.line_regex(value)
        else:
            parts.append("NOT regexp_matches(message, ?)")
            value = logql.line_regex(value)
        params.append(value)
    return " AND ".join(parts), params


def _matcher_sql(matcher: Matcher) -> tuple[str, list[object]]:
    name, op, value = matcher.name, matcher.op, matcher.value
    if name == "severity":
        codes = _common.severity_codes(matcher)
        if codes.everything:
            return "TRUE", []
        if not codes.codes:
            return "FALSE", []
        return f"severity IN ({', '.join(str(c) for c in codes.codes)})", []
    if name == "template" and op in ("=", "!="):
        if value == "":
            return ("template_id IS NULL" if op == "=" else "template_id IS NOT NULL"), []
        number = _common.template_number(value)
        if number is None:
            return ("FALSE" if op == "=" else "TRUE"), []
        if op == "=":
            return "template_id = ?", [number]
        return "template_id IS DISTINCT FROM ?", [number]
    args: list[object] = []
    if name in _SIMPLE_COLUMNS:
        column = name
    elif name == "template":
        column = "coalesce(CAST(template_id AS VARCHAR), '')"
    else:
        column = "coalesce(json_extract_string(labels, ?), '')"
        args.append(_json_pointer(name))
    if op == "=":
        return f"{column} = ?", [*args, value]
    if op == "!=":
        return f"{column} <> ?", [*args, value]
    negate = "NOT " if op == "!~" else ""
    return f"{negate}regexp_matches({column}, ?)", [*args, logql.anchored_regex(value)]


def _json_pointer(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


def _labels_json(labels: Mapping[str, str]) -> str:
    if not labels:
        return "{}"
    return orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode()


_LABELS_CACHE_SIZE = 10_000


def _labels_texts(
    label_sets: Sequence[Mapping[str, str]], cache: dict[tuple[tuple[str, str], ...], str]
) -> list[str]:
    """The stored JSON of each label set (lines of one stream often share their object)."""
    texts: list[str] = []
    append = texts.append
    by_object: dict[int, str] = {}
    for labels in label_sets:
        text = by_object.get(id(labels))
        if text is None:
            key = tuple(labels.items())
            text = cache.get(key)
            if text is None:
                if len(cache) >= _LABELS_CACHE_SIZE:
                    cache.clear()
                text = cache[key] = _labels_json(labels)
            by_object[id(labels)] = text
        append(text)
    return texts


def _arrow(records: Sequence[LogRecord], cache: dict[tuple[tuple[str, str], ...], str]) -> pa.Table:
    tenants: dict[UUID, str] = {}
    for r in records:
        if r.tenant_id not in tenants:
            tenants[r.tenant_id] = str(r.tenant_id)
    return pa.table(
        {
            "tenant_id": pa.array([tenants[r.tenant_id] for r in records], pa.string()),
            "ts_ns": pa.array([r.ts_ns for r in records], pa.int64()),
            "id": pa.array([r.id for r in records], pa.string()),
            "service": pa.array([r.service for r in records], pa.string()),
            "severity": pa.array([_common.SEVERITY_CODE[r.severity] for r in records], pa.uint8()),
            "agent": pa.array([r.agent for r in records], pa.string()),
            "trace_id": pa.array([r.trace_id for r in records], pa.string()),
            "span_id": pa.array([r.span_id for r in records], pa.string()),
            "message": pa.array([r.message for r in records], pa.string()),
            "labels": pa.array(_labels_texts([r.labels for r in records], cache), pa.string()),
            "truncated": pa.array([r.truncated for r in records], pa.bool_()),
            "template_id": pa.array([r.template_id for r in records], pa.int64()),
            "observed_ns": pa.array([r.observed_ns for r in records], pa.int64()),
        }
    )


def _arrow_columns(batch: LogColumns, cache: dict[tuple[tuple[str, str], ...], str]) -> pa.Table:
    """The Arrow table of one tenant's columns: no Python object per line besides the label
    texts."""
    n = len(batch.id)
    for column in (batch.ts_ns, batch.service, batch.message, batch.labels, batch.observed_ns):
        if len(column) != n:
            raise ValueError("the columns of a batch differ in length")
    codes = _common.SEVERITY_CODE
    templates = batch.template_id
    return pa.table(
        {
            "tenant_id": pa.repeat(pa.scalar(str(batch.tenant_id), pa.string()), n),
            "ts_ns": pa.array(batch.ts_ns, pa.int64()),
            "id": pa.array(batch.id, pa.string()),
            "service": pa.array(batch.service, pa.string()),
            "severity": pa.array([codes[s] for s in batch.severity], pa.uint8()),
            "agent": pa.array(batch.agent, pa.string()),
            "trace_id": pa.array(batch.trace_id, pa.string()),
            "span_id": pa.array(batch.span_id, pa.string()),
            "message": pa.array(batch.message, pa.string()),
            "labels": pa.array(_labels_texts(batch.labels, cache), pa.string()),
            "truncated": pa.array(batch.truncated, pa.bool_()),
            "template_id": (
                pa.nulls(n, pa.int64()) if templates is None else pa.array(templates, pa.int64())
            ),
            "observed_ns": pa.array(batch.observed_ns, pa.int64()),
        }
    )


def _record(tenant_id: UUID, row: tuple[Any, ...]) -> LogRecord:
    ts, rid, service, code, agent, trace, span, message, labels, truncated, template, obs = row
    return LogRecord(
        id=rid,
        tenant_id=tenant_id,
        ts_ns=ts,
        service=service,
        severity=_common.SEVERITIES[code],
        message=message,
        agent=agent,
        labels=orjson.loads(labels) if labels != "{}" else {},
        trace_id=trace,
        span_id=span,
        truncated=bool(truncated),
        template_id=template,
        observed_ns=obs,
    )


def _count(result: duckdb.DuckDBPyConnection) -> int:
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


assert set(COLUMN_FIELDS) == _SIMPLE_COLUMNS | {"severity", "template"}

if TYPE_CHECKING:

    def _conforms(store: DuckDBLogStore) -> LogStore:  # mypy checks the protocol here
        return store
