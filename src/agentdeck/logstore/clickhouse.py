"""The scale-out log store: ClickHouse over its native protocol (``clickhouse-driver``).

The DDL and every query hold on ClickHouse 18.16 (Debian's package, the version the tests run)
as on current releases: no ``DateTime64``, ``Map``, ``LowCardinality``, codecs, ``TTL`` or
skipping indexes. One ``MergeTree`` table, partitioned by UTC day of the line's time and
ordered by ``(tenant_id, ts_ns, id)``, so a tenant's time window reads only its granules;
labels are a ``Nested(key, value)`` pair of arrays; severity is a one-byte code. Regexes run
through ``match()`` (RE2, the same wrapped patterns as the other engines), substrings through
``position()``. Values travel as driver-escaped parameters (18.16 has no server-side query
parameters); identifiers (the database name) are checked and quoted.

Writes are coalesced like the embedded store's (one INSERT per group of concurrent calls:
ClickHouse wants few, large inserts); a write returns once ClickHouse acknowledged the insert.
Retention drops whole day partitions that every tenant's cutoff has passed and deletes the
rest with ``ALTER TABLE … DELETE`` (a mutation), waiting until the mutation is done.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit
from uuid import UUID

from clickhouse_driver import Client  # type: ignore[import-untyped]
from clickhouse_driver import errors as ch_errors

from agentdeck.logstore import _common, logql
from agentdeck.logstore._writer import GroupCommit
from agentdeck.logstore.base import (
    Cursor,
    HistogramBucket,
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

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_SIMPLE_COLUMNS = {"service", "agent", "trace_id", "span_id"}
_FLAG_NAMES = ("agent", "trace_id", "span_id", "template")
_COLUMNS = (
    "ts_ns, id, service, severity, agent, trace_id, span_id, message, labels.key, "
    "labels.value, truncated, template_id, observed_ns"
)
_INSERT_COLUMNS = (
    "tenant_id, ts_ns, id, service, severity, agent, trace_id, span_id, message, "
    "labels.key, labels.value, truncated, template_id, observed_ns"
)
_DAY_NS = 86_400 * 1_000_000_000
_CANNOT_COMPILE_REGEXP = 427


class ClickHouseLogStore:
    """The scale-out :class:`~agentdeck.logstore.base.LogStore`.

    ``url``: ``clickhouse://[user[:password]@]host[:port][/database]`` (native TCP, port 9000
    by default). ``database``, ``user``, ``password`` override the URL's. ``read_connections``:
    concurrent reads. ``max_batch_records`` / ``commit_linger``: write coalescing (ClickHouse
    makes a part per insert, so it lingers longer than DuckDB by default). ``max_scan``: rows a
    field-filtered search or histogram reads. ``mutation_timeout``: seconds retention waits for
    its delete mutation. ``connect_timeout`` / ``query_timeout``: seconds.
    """

    backend = "clickhouse"

    def __init__(
        self,
        url: str = "clickhouse://127.0.0.1:9000",
        *,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        read_connections: int = 4,
        max_batch_records: int = 200_000,
        commit_linger: float = 0.01,
        max_scan: int = _common.DEFAULT_MAX_SCAN,
        mutation_timeout: float = 300.0,
        connect_timeout: float = 10.0,
        query_timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("clickhouse", "tcp", ""):
            raise ValueError(f"unsupported ClickHouse URL scheme {parts.scheme!r} (clickhouse://)")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 9000
        path_db = parts.path.strip("/")
        self.database = database or path_db or "agentdeck"
        if not _IDENTIFIER.fullmatch(self.database):
            raise ValueError(f"invalid ClickHouse database name {self.database!r}")
        self._user = user or (unquote(parts.username) if parts.username else "default")
        self._password = (
            password
            if password is not None
            else (unquote(parts.password) if parts.password else "")
        )
        self._read_connections = read_connections
        self._max_batch_records = max_batch_records
        self._commit_linger = commit_linger
        self._max_scan = max_scan
        self._mutation_timeout = mutation_timeout
        self._connect_timeout = connect_timeout
        self._query_timeout = query_timeout
        self._table = f"`{self.database}`.logs"
        self._clients: queue.SimpleQueue[Client] = queue.SimpleQueue()
        self._all_clients: list[Client] = []
        self._writer_client: Client | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._preparer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._group: GroupCommit[list[list[Any]]] | None = None
        self._closing = False
        self._closed = False
        self.server_version = ""

    # --- lifecycle ---------------------------------------------------------------------------

    def _client(self) -> Client:
        return Client(
            host=self._host,
            port=self._port,
            user=self._user,
            password=self._password,
            connect_timeout=self._connect_timeout,
            send_receive_timeout=self._query_timeout,
            settings={"max_execution_time": int(self._query_timeout)},
        )

    async def start(self) -> None:
        if self._writer is not None:
            return
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="logstore-ch-writer")
        self._preparer = ThreadPoolExecutor(1, thread_name_prefix="logstore-ch-prepare")
        self._readers = ThreadPoolExecutor(
            self._read_connections, thread_name_prefix="logstore-ch-read"
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
            name="logstore-clickhouse-writer",
        )
        self._group.start()

    def _open_sync(self) -> None:
        client = self._client()
        try:
            self.server_version = str(client.execute("SELECT version()")[0][0])
            client.execute(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
            client.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self._table} (
                    tenant_id UUID,
                    ts_ns Int64,
                    id String,
                    service String,
                    severity UInt8,
                    agent String,
                    trace_id String,
                    span_id String,
                    message String,
                    labels Nested(key String, value String),
                    truncated UInt8,
                    template_id Nullable(Int64),
                    observed_ns Int64
                ) ENGINE = MergeTree()
                PARTITION BY toDate(toDateTime(intDiv(ts_ns, 1000000000), 'UTC'))
                ORDER BY (tenant_id, ts_ns, id)
                """
            )
        except (ch_errors.Error, OSError, EOFError) as exc:
            client.disconnect()
            raise LogStoreError(
                f"cannot open the ClickHouse log store at {self._host}:{self._port}: "
                f"{_message(exc)}"
            ) from exc
        self._writer_client = client
        for _ in range(self._read_connections):
            reader = self._client()
            self._all_clients.append(reader)
            self._clients.put(reader)

    async def close(self) -> None:
        if self._closed or self._writer is None:
            self._closed = True
            return
        self._closing = True
        if self._group is not None:
            await self._group.close()
        self._closed = True
        loop = asyncio.get_running_loop()
        assert self._readers is not None
        await loop.run_in_executor(None, self._readers.shutdown, True)
        await self._run_writer(self._close_sync)
        self._writer.shutdown(wait=False)
        if self._preparer is not None:
            self._preparer.shutdown(wait=False)

    def _close_sync(self) -> None:
        for client in [*self._all_clients, self._writer_client]:
            if client is not None:
                client.disconnect()
        self._writer_client = None

    async def __aenter__(self) -> ClickHouseLogStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ping(self) -> None:
        if self._closing or self._group is None:
            raise LogStoreError("the log store is closed")
        if not self._group.running:
            raise LogStoreError("the log store's writer has stopped")
        await self._run_reader(lambda client: client.execute("SELECT 1"))

    async def _run_writer(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._writer is not None
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def _run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed or self._readers is None:
            raise LogStoreError("the log store is closed")

        def call() -> T:
            client = self._clients.get()
            try:
                return fn(client, *args)
            except ch_errors.ServerException as exc:
                if exc.code == _CANNOT_COMPILE_REGEXP:
                    raise LogQueryError(f"invalid regex: {_message(exc)}") from exc
                raise LogStoreError(f"ClickHouse read failed: {_message(exc)}") from exc
            except (ch_errors.Error, OSError, EOFError) as exc:
                client.disconnect()  # reconnects on next use
                raise LogStoreError(f"ClickHouse read failed: {_message(exc)}") from exc
            finally:
                self._clients.put(client)

        return await asyncio.get_running_loop().run_in_executor(self._readers, call)

    @property
    def _write_client(self) -> Client:
        if self._writer_client is None:
            raise LogStoreError("the log store is closed")
        return self._writer_client

    # --- writes ------------------------------------------------------------------------------

    async def write(self, records: Sequence[LogRecord]) -> None:
        if self._closing or self._group is None:
            raise LogStoreError("the log store is closed")
        await self._group.submit(records)

    @property
    def stats(self) -> dict[str, int]:
        """Write calls, inserts and records written since start."""
        group = self._group
        if group is None:
            return {"write_calls": 0, "transactions": 0, "records": 0}
        return {
            "write_calls": group.calls,
            "transactions": group.transactions,
            "records": group.records,
        }

    def _prepare_sync(self, parts: list[Sequence[LogRecord]]) -> list[list[Any]]:
        """The insert's columns (on the prepare thread, while the previous insert runs)."""
        records = [r for part in parts for r in part] if len(parts) > 1 else list(parts[0])
        try:
            return _columns(records)
        except (KeyError, TypeError, ValueError) as exc:
            raise LogStoreError(f"log records cannot be stored: {exc!r}") from exc

    def _insert_sync(self, columns: list[list[Any]]) -> None:
        client = self._write_client
        try:
            client.execute(
                f"INSERT INTO {self._table} ({_INSERT_COLUMNS}) VALUES",
                columns,
                columnar=True,
                types_check=False,
            )
        except (ch_errors.Error, OSError, EOFError) as exc:
            client.disconnect()
            raise LogStoreError(f"ClickHouse log write failed: {_message(exc)}") from exc

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
        client: Client,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        limit: int,
        backward: bool,
        cursor: Cursor | None,
    ) -> LogPage:
        where, params = _where(tenant_id, query)
        order = "DESC" if backward else "ASC"
        after_op = "<" if backward else ">"

        def fetch(lo: int, hi: int, after: Cursor | None, n: int) -> list[LogRecord]:
            args = dict(params, lo=lo, hi=hi)
            sql = (
                f"SELECT {_COLUMNS} FROM {self._table} "
                f"WHERE {where} AND ts_ns >= %(lo)s AND ts_ns < %(hi)s"
            )
            if after is not None:
                sql += (
                    f" AND (ts_ns {after_op} %(after_ts)s OR "
                    f"(ts_ns = %(after_ts)s AND id {after_op} %(after_id)s))"
                )
                args.update(after_ts=after.ts_ns, after_id=after.id)
            sql += f" ORDER BY ts_ns {order}, id {order} LIMIT {int(n)}"
            return [_record(tenant_id, row) for row in client.execute(sql, args)]

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
        client: Client,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        step_ns: int,
    ) -> list[HistogramBucket]:
        where, params = _where(tenant_id, query)
        args = dict(params, lo=start_ns, hi=end_ns, step=step_ns)
        scope = f"{where} AND ts_ns >= %(lo)s AND ts_ns < %(hi)s"
        counts: dict[int, dict[Severity, int]] = {}
        if not query.field_filters:
            bucket = "ts_ns - modulo(modulo(ts_ns, %(step)s) + %(step)s, %(step)s)"
            rows = client.execute(
                f"SELECT {bucket} AS bucket, severity, count() FROM {self._table} "
                f"WHERE {scope} GROUP BY bucket, severity",
                args,
            )
            for start, code, count in rows:
                counts.setdefault(int(start), {})[_common.SEVERITIES[code]] = int(count)
        else:
            residual = logql.field_filter_test(query.field_filters)
            rows = client.execute_iter(
                f"SELECT ts_ns, severity, message FROM {self._table} WHERE {scope}", args
            )
            for scanned, (ts, code, message) in enumerate(rows, 1):
                if scanned > self._max_scan:
                    client.disconnect()  # drops the rest of the stream
                    raise LogQueryError(
                        f"field filters over more than {self._max_scan} lines: narrow the "
                        "range or add a line filter"
                    )
                if residual(message):
                    per = counts.setdefault(_common.histogram_bucket(ts, step_ns), {})
                    severity = _common.SEVERITIES[code]
                    per[severity] = per.get(severity, 0) + 1
        return [HistogramBucket(start, counts[start]) for start in sorted(counts)]

    async def get(self, tenant_id: UUID, record_id: str) -> LogRecord | None:
        return await self._run_reader(self._get_sync, tenant_id, record_id)

    def _get_sync(self, client: Client, tenant_id: UUID, record_id: str) -> LogRecord | None:
        sql = f"SELECT {_COLUMNS} FROM {self._table} WHERE tenant_id = %(t)s AND id = %(id)s"
        args: dict[str, Any] = {"t": str(tenant_id), "id": record_id}
        ms = record_id_ms(record_id)
        if ms is not None:
            rows = client.execute(
                sql + " AND ts_ns >= %(lo)s AND ts_ns < %(hi)s LIMIT 1",
                dict(args, lo=ms * 1_000_000, hi=(ms + 1) * 1_000_000),
            )
            if rows:
                return _record(tenant_id, rows[0])
        rows = client.execute(sql + " LIMIT 1", args)
        return _record(tenant_id, rows[0]) if rows else None

    async def context(
        self, tenant_id: UUID, record_id: str, *, before: int, after: int
    ) -> LogContext | None:
        record = await self.get(tenant_id, record_id)
        if record is None:
            return None
        bounds = await self._run_reader(
            lambda client: client.execute(
                f"SELECT min(ts_ns), max(ts_ns) FROM {self._table} "
                "WHERE tenant_id = %(t)s AND service = %(s)s",
                {"t": str(tenant_id), "s": record.service},
            )[0]
        )
        same_service = LogQuery(matchers=(Matcher("service", "=", record.service),))
        here = Cursor(record.ts_ns, record.id)
        earlier = await self.search(
            tenant_id,
            same_service,
            start_ns=int(bounds[0]),
            end_ns=record.ts_ns + 1,
            limit=before,
            direction="backward",
            cursor=here,
        )
        later = await self.search(
            tenant_id,
            same_service,
            start_ns=record.ts_ns,
            end_ns=int(bounds[1]) + 1,
            limit=after,
            direction="forward",
            cursor=here,
        )
        return LogContext(list(reversed(earlier.records)), record, list(later.records))

    async def label_names(self, tenant_id: UUID, *, start_ns: int, end_ns: int) -> Sequence[str]:
        return await self._run_reader(self._label_names_sync, tenant_id, start_ns, end_ns)

    def _label_names_sync(
        self, client: Client, tenant_id: UUID, start_ns: int, end_ns: int
    ) -> list[str]:
        scope = "tenant_id = %(t)s AND ts_ns >= %(lo)s AND ts_ns < %(hi)s"
        args = {"t": str(tenant_id), "lo": start_ns, "hi": end_ns, "e": ""}
        row = client.execute(
            "SELECT count() > 0, max(agent != %(e)s), max(trace_id != %(e)s), "
            f"max(span_id != %(e)s), max(isNotNull(template_id)) FROM {self._table} "
            f"WHERE {scope}",
            args,
        )[0]
        names: set[str] = set()
        if row[0]:
            names.update(("service", "severity"))
            names.update(n for n, present in zip(_FLAG_NAMES, row[1:], strict=True) if present)
        keys = client.execute(
            f"SELECT DISTINCT arrayJoin(labels.key) FROM {self._table} WHERE {scope}", args
        )
        names.update(key for (key,) in keys)
        return sorted(names)

    async def label_values(
        self, tenant_id: UUID, name: str, *, start_ns: int, end_ns: int, limit: int
    ) -> Sequence[str]:
        return await self._run_reader(
            self._label_values_sync, tenant_id, name, start_ns, end_ns, limit
        )

    def _label_values_sync(
        self, client: Client, tenant_id: UUID, name: str, start_ns: int, end_ns: int, limit: int
    ) -> list[str]:
        if limit <= 0:
            return []
        scope = "tenant_id = %(t)s AND ts_ns >= %(lo)s AND ts_ns < %(hi)s"
        args: dict[str, Any] = {"t": str(tenant_id), "lo": start_ns, "hi": end_ns, "e": ""}
        if name == "severity":
            codes = client.execute(
                f"SELECT DISTINCT severity FROM {self._table} WHERE {scope}", args
            )
            return sorted(_common.SEVERITIES[code].value for (code,) in codes)[:limit]
        if name in _SIMPLE_COLUMNS:
            value = name
        elif name == "template":
            value = "ifNull(toString(template_id), %(e)s)"
        else:
            value = "labels.value[indexOf(labels.key, %(k)s)]"
            args["k"] = name
        rows = client.execute(
            f"SELECT DISTINCT {value} AS v FROM {self._table} WHERE {scope} AND v != %(e)s "
            f"ORDER BY v LIMIT {int(limit)}",
            args,
        )
        return [v for (v,) in rows]

    # --- retention ---------------------------------------------------------------------------

    async def delete_before(self, cutoffs: Mapping[UUID, int], *, default_ns: int) -> int:
        return await self._run_writer(self._delete_sync, dict(cutoffs), default_ns)

    def _delete_sync(self, cutoffs: dict[UUID, int], default_ns: int) -> int:
        client = self._write_client
        args: dict[str, Any] = {"default": default_ns}
        if cutoffs:
            args.update(tenants=[str(t) for t in cutoffs], cuts=list(cutoffs.values()))
            condition = (
                "ts_ns < transform(toString(tenant_id), CAST(%(tenants)s AS Array(String)), "
                "CAST(%(cuts)s AS Array(Int64)), toInt64(%(default)s))"
            )
        else:
            condition = "ts_ns < %(default)s"
        count_sql = f"SELECT count() FROM {self._table} WHERE {condition}"
        try:
            count = int(client.execute(count_sql, args)[0][0])
            if not count:
                return 0
            # Whole days that every tenant's cutoff has passed go as partitions (cheap) ...
            oldest_kept = min([default_ns, *cutoffs.values()])
            partitions = client.execute(
                "SELECT DISTINCT partition FROM system.parts WHERE database = %(d)s AND "
                "table = 'logs' AND active",
                {"d": self.database},
            )
            for (partition,) in partitions:
                day = dt.date.fromisoformat(str(partition).strip("'"))
                if _day_start_ns(day) + _DAY_NS <= oldest_kept:
                    client.execute(
                        f"ALTER TABLE {self._table} DROP PARTITION %(p)s", {"p": str(day)}
                    )
            # ... the rest as a delete mutation, waited for.
            if int(client.execute(count_sql, args)[0][0]):
                client.execute(f"ALTER TABLE {self._table} DELETE WHERE {condition}", args)
                self._wait_for_mutations(client)
        except (ch_errors.Error, OSError, EOFError) as exc:
            raise LogStoreError(f"ClickHouse log retention failed: {_message(exc)}") from exc
        return count

    def _wait_for_mutations(self, client: Client) -> None:
        deadline = time.monotonic() + self._mutation_timeout
        delay = 0.01
        while True:
            (pending,) = client.execute(
                "SELECT count() FROM system.mutations WHERE database = %(d)s AND "
                "table = 'logs' AND is_done = 0",
                {"d": self.database},
            )[0]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise LogStoreError(
                    f"the ClickHouse delete mutation did not finish in {self._mutation_timeout} s"
                )
            time.sleep(delay)  # polling the server for the mutation's end, with backoff
            delay = min(delay * 2, 0.5)

    async def optimize(self) -> None:
        """Merge parts now (``OPTIMIZE TABLE … FINAL``); ClickHouse merges by itself too."""
        await self._run_writer(
            lambda: self._write_client.execute(f"OPTIMIZE TABLE {self._table} FINAL")
        )

    async def disk_bytes(self) -> int:
        """Compressed bytes of the table's active parts."""
        rows = await self._run_reader(
            lambda client: client.execute(
                "SELECT sum(bytes) FROM system.parts WHERE database = %(d)s AND "
                "table = 'logs' AND active",
                {"d": self.database},
            )
        )
        return int(rows[0][0] or 0)


# --- SQL -------------------------------------------------------------------------------------


def _where(tenant_id: UUID, query: LogQuery) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (tenant, matchers, line filters) and its named parameters."""
    params: dict[str, Any] = {"tenant": str(tenant_id), "empty": ""}
    parts = ["tenant_id = %(tenant)s"]
    for i, matcher in enumerate(query.matchers):
        parts.append(_matcher_sql(matcher, f"m{i}", params))
    for i, line_filter in enumerate(query.line_filters):
        key = f"l{i}"
        op, value = line_filter.op, line_filter.value
        if op == "|=":
            parts.append(f"position(message, %({key})s) > 0")
        elif op == "!=":
            parts.append(f"position(message, %({key})s) = 0")
        else:
            value = logql.line_regex(value)
            negate = "NOT " if op == "!~" else ""
            parts.append(f"{negate}match(message, %({key})s)")
        params[key] = value
    return " AND ".join(parts), params


def _matcher_sql(matcher: Matcher, key: str, params: dict[str, Any]) -> str:
    name, op, value = matcher.name, matcher.op, matcher.value
    if name == "severity":
        codes = _common.severity_codes(matcher)
        if codes.everything:
            return "1"
        if not codes.codes:
            return "0"
        return f"severity IN ({', '.join(str(c) for c in codes.codes)})"
    if name == "template" and op in ("=", "!="):
        if value == "":
            return "isNull(template_id)" if op == "=" else "isNotNull(template_id)"
        number = _common.template_number(value)
        if number is None:
            return "0" if op == "=" else "1"
        params[key] = number
        if op == "=":
            return f"ifNull(template_id = %({key})s, 0)"
        return f"ifNull(template_id != %({key})s, 1)"
    if name in _SIMPLE_COLUMNS:
        column = name
    elif name == "template":
        column = "ifNull(toString(template_id), %(empty)s)"
    else:
        params[f"{key}_name"] = name
        column = f"labels.value[indexOf(labels.key, %({key}_name)s)]"
    if op == "=":
        params[key] = value
        return f"{column} = %({key})s"
    if op == "!=":
        params[key] = value
        return f"{column} != %({key})s"
    params[key] = logql.anchored_regex(value)
    negate = "NOT " if op == "!~" else ""
    return f"{negate}match({column}, %({key})s)"


def _columns(records: Sequence[LogRecord]) -> list[list[Any]]:
    return [
        [r.tenant_id for r in records],
        [r.ts_ns for r in records],
        [r.id for r in records],
        [r.service for r in records],
        [_common.SEVERITY_CODE[r.severity] for r in records],
        [r.agent for r in records],
        [r.trace_id for r in records],
        [r.span_id for r in records],
        [r.message for r in records],
        [list(r.labels) for r in records],
        [list(r.labels.values()) for r in records],
        [1 if r.truncated else 0 for r in records],
        [r.template_id for r in records],
        [r.observed_ns for r in records],
    ]


def _record(tenant_id: UUID, row: Sequence[Any]) -> LogRecord:
    ts, rid, service, code, agent, trace, span, message, keys, values, truncated, tpl, obs = row
    return LogRecord(
        id=rid,
        tenant_id=tenant_id,
        ts_ns=ts,
        service=service,
        severity=_common.SEVERITIES[code],
        message=message,
        agent=agent,
        labels=dict(zip(keys, values, strict=True)),
        trace_id=trace,
        span_id=span,
        truncated=bool(truncated),
        template_id=tpl,
        observed_ns=obs,
    )


def _day_start_ns(day: dt.date) -> int:
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(midnight.timestamp()) * 1_000_000_000


def _message(exc: BaseException) -> str:
    """The first line of a driver error (server errors carry a whole stack trace)."""
    text = str(getattr(exc, "message", "") or exc)
    return text.split(". Stack trace:", 1)[0].splitlines()[0] if text else type(exc).__name__


if TYPE_CHECKING:

    def _conforms(store: ClickHouseLogStore) -> LogStore:  # mypy checks the protocol here
        return store
