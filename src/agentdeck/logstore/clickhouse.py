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

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit
from uuid import UUID

from clickhouse_driver import Client  # type: ignore[import-untyped]
from clickhouse_driver import errors as ch_errors

from agentdeck.logstore import _common, logql
from agentdeck.logstore._clickhouse_sql import (
    COLUMNS,
    FLAG_NAMES,
    INSERT_COLUMNS,
    SIMPLE_COLUMNS,
    day_start_ns,
    error_message,
    insert_columns,
    table_ddl,
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

T = TypeVar("T")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DAY_NS = 86_400 * 1_000_000_000
_CANNOT_COMPILE_REGEXP = 427


class ClickHouseLogStore(LogStoreBase[Client, list[list[Any]]]):
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
        self._max_scan = max_scan
        self._mutation_timeout = mutation_timeout
        self._connect_timeout = connect_timeout
        self._query_timeout = query_timeout
        self._table = f"`{self.database}`.logs"
        self._writer_client: Client | None = None
        self._path = WritePath(
            "logstore-ch",
            read_connections,
            read_error=_read_error,
            linger=commit_linger,
            max_records=max_batch_records,
        )
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

    def _open_sync(self) -> None:
        client = self._client()
        try:
            self.server_version = str(client.execute("SELECT version()")[0][0])
            client.execute(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
            client.execute(table_ddl(self._table))
        except (ch_errors.Error, OSError, EOFError) as exc:
            client.disconnect()
            raise LogStoreError(
                f"cannot open the ClickHouse log store at {self._host}:{self._port}: "
                f"{error_message(exc)}"
            ) from exc
        self._writer_client = client
        for _ in range(self._path.threads.read_threads):
            self._path.threads.add_reader(self._client())

    def _close_sync(self) -> None:
        for client in [*self._path.threads.resources, self._writer_client]:
            if client is not None:
                client.disconnect()
        self._writer_client = None

    def _ping_sync(self, client: Client) -> None:
        client.execute("SELECT 1")

    @property
    def _write_client(self) -> Client:
        if self._writer_client is None:
            raise LogStoreError("the log store is closed")
        return self._writer_client

    # --- writes ------------------------------------------------------------------------------

    def _prepare_sync(self, parts: list[Batch]) -> list[list[Any]]:
        """The insert's columns (on the prepare thread, while the previous insert runs)."""
        try:
            records = [
                r
                for part in parts
                for r in (part.records() if isinstance(part, LogColumns) else part)
            ]
            return insert_columns(records)
        except (KeyError, TypeError, ValueError) as exc:
            raise LogStoreError(f"log records cannot be stored: {exc!r}") from exc

    def _insert_sync(self, columns: list[list[Any]]) -> None:
        client = self._write_client
        try:
            client.execute(
                f"INSERT INTO {self._table} ({INSERT_COLUMNS}) VALUES",
                columns,
                columnar=True,
                types_check=False,
            )
        except (ch_errors.Error, OSError, EOFError) as exc:
            client.disconnect()
            raise LogStoreError(f"ClickHouse log write failed: {error_message(exc)}") from exc

    # --- reads -------------------------------------------------------------------------------

    def _fetcher(
        self, client: Client, tenant_id: UUID, query: LogQuery, backward: bool
    ) -> _common.Fetch:
        where, params = where_sql(tenant_id, query)
        order = "DESC" if backward else "ASC"
        after_op = "<" if backward else ">"

        def fetch(lo: int, hi: int, after: Cursor | None, n: int) -> list[LogRecord]:
            args = dict(params, lo=lo, hi=hi)
            sql = (
                f"SELECT {COLUMNS} FROM {self._table} "
                f"WHERE {where} AND ts_ns >= %(lo)s AND ts_ns < %(hi)s"
            )
            if after is not None:
                sql += (
                    f" AND (ts_ns {after_op} %(after_ts)s OR "
                    f"(ts_ns = %(after_ts)s AND id {after_op} %(after_id)s))"
                )
                args.update(after_ts=after.ts_ns, after_id=after.id)
            sql += f" ORDER BY ts_ns {order}, id {order} LIMIT {int(n)}"
            return [to_record(tenant_id, row) for row in client.execute(sql, args)]

        return fetch

    def _histogram_sync(
        self,
        client: Client,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        step_ns: int,
    ) -> list[HistogramBucket]:
        where, params = where_sql(tenant_id, query)
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
            try:
                _common.count_filtered(rows, residual, step_ns, self._max_scan, counts)
            except LogQueryError:
                client.disconnect()  # drops the rest of the stream
                raise
        return [HistogramBucket(start, counts[start]) for start in sorted(counts)]

    def _get_sync(self, client: Client, tenant_id: UUID, record_id: str) -> LogRecord | None:
        sql = f"SELECT {COLUMNS} FROM {self._table} WHERE tenant_id = %(t)s AND id = %(id)s"
        args: dict[str, Any] = {"t": str(tenant_id), "id": record_id}
        ms = record_id_ms(record_id)
        if ms is not None:
            rows = client.execute(
                sql + " AND ts_ns >= %(lo)s AND ts_ns < %(hi)s LIMIT 1",
                dict(args, lo=ms * 1_000_000, hi=(ms + 1) * 1_000_000),
            )
            if rows:
                return to_record(tenant_id, rows[0])
        rows = client.execute(sql + " LIMIT 1", args)
        return to_record(tenant_id, rows[0]) if rows else None

    async def _context_bounds(self, tenant_id: UUID, record: LogRecord) -> tuple[int, int]:
        low, high = await self._run_reader(
            lambda client: client.execute(
                f"SELECT min(ts_ns), max(ts_ns) FROM {self._table} "
                "WHERE tenant_id = %(t)s AND service = %(s)s",
                {"t": str(tenant_id), "s": record.service},
            )[0]
        )
        return int(low), int(high) + 1

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
            names.update(n for n, present in zip(FLAG_NAMES, row[1:], strict=True) if present)
        keys = client.execute(
            f"SELECT DISTINCT arrayJoin(labels.key) FROM {self._table} WHERE {scope}", args
        )
        names.update(key for (key,) in keys)
        return sorted(names)

    def _label_values_sync(
        self,
        client: Client,
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
        scope = f"{where} AND ts_ns >= %(lo)s AND ts_ns < %(hi)s"
        args: dict[str, Any] = dict(params, lo=start_ns, hi=end_ns, e="")
        if name == "severity":
            codes = client.execute(
                f"SELECT DISTINCT severity FROM {self._table} WHERE {scope}", args
            )
            return sorted(_common.SEVERITIES[code].value for (code,) in codes)[:limit]
        if name in SIMPLE_COLUMNS:
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
                if day_start_ns(day) + _DAY_NS <= oldest_kept:
                    client.execute(
                        f"ALTER TABLE {self._table} DROP PARTITION %(p)s", {"p": str(day)}
                    )
            # ... the rest as a delete mutation, waited for.
            if int(client.execute(count_sql, args)[0][0]):
                client.execute(f"ALTER TABLE {self._table} DELETE WHERE {condition}", args)
                self._wait_for_mutations(client)
        except (ch_errors.Error, OSError, EOFError) as exc:
            raise LogStoreError(f"ClickHouse log retention failed: {error_message(exc)}") from exc
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


def _read_error(client: Client, exc: Exception) -> Exception | None:
    if isinstance(exc, ch_errors.ServerException):
        if exc.code == _CANNOT_COMPILE_REGEXP:
            return LogQueryError(f"invalid regex: {error_message(exc)}")
        return LogStoreError(f"ClickHouse read failed: {error_message(exc)}")
    if isinstance(exc, ch_errors.Error | OSError | EOFError):
        client.disconnect()  # reconnects on next use
        return LogStoreError(f"ClickHouse read failed: {error_message(exc)}")
    return None


if TYPE_CHECKING:

    def _conforms(store: ClickHouseLogStore) -> LogStore:  # mypy checks the protocol here
        return store
