"""What both log stores do the same way around their own SQL: start and close (through
:class:`~agentdeck.logstore._writer.WritePath`), writes, ping, stats and the context of a line.

A store subclasses :class:`LogStoreBase` and supplies the functions the write path runs
(``_open_sync``, ``_prepare_sync``, ``_insert_sync``, ``_close_sync``), ``_ping_sync``,
``_delete_sync`` (retention), the SQL step of a search (``_fetcher``, and ``_clamp`` to skip
what holds no lines), the other reads as ``_*_sync(reader, ...)`` functions run on a reader
thread (``_histogram_sync``, ``_get_sync``, ``_label_names_sync``, ``_label_values_sync``) and
``_context_bounds``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

from agentdeck.logstore import _common, logql
from agentdeck.logstore._common import Fetch
from agentdeck.logstore._writer import Batch, WritePath
from agentdeck.logstore.base import (
    Cursor,
    HistogramBucket,
    LogColumns,
    LogContext,
    LogPage,
    LogQuery,
    LogRecord,
    Matcher,
)

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")


class LogStoreBase(ABC, Generic[R, P]):
    _path: WritePath[R, P]
    _max_scan: int

    # --- what a store supplies ---------------------------------------------------------------

    @abstractmethod
    def _open_sync(self) -> None: ...

    @abstractmethod
    def _prepare_sync(self, parts: list[Batch]) -> P: ...

    @abstractmethod
    def _insert_sync(self, prepared: P) -> None: ...

    @abstractmethod
    def _close_sync(self) -> None: ...

    @abstractmethod
    def _ping_sync(self, reader: R) -> None: ...

    @abstractmethod
    def _fetcher(self, reader: R, tenant_id: UUID, query: LogQuery, backward: bool) -> Fetch:
        """The SQL step of a search: ``fetch(lo, hi, after, n)`` → at most ``n`` matching
        lines with ``lo <= ts < hi`` strictly after the cursor ``after``, in the search's
        order (see :func:`~agentdeck.logstore._common.windowed_search`)."""

    def _clamp(self, start_ns: int, end_ns: int) -> tuple[int, int] | None:
        """The part of ``[start_ns, end_ns)`` that may hold lines (None: none)."""
        return start_ns, end_ns

    @abstractmethod
    def _delete_sync(self, cutoffs: dict[UUID, int], default_ns: int) -> int: ...

    @abstractmethod
    def _histogram_sync(
        self,
        reader: R,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        step_ns: int,
    ) -> list[HistogramBucket]: ...

    @abstractmethod
    def _get_sync(self, reader: R, tenant_id: UUID, record_id: str) -> LogRecord | None: ...

    @abstractmethod
    def _label_names_sync(
        self, reader: R, tenant_id: UUID, start_ns: int, end_ns: int
    ) -> list[str]: ...

    @abstractmethod
    def _label_values_sync(
        self,
        reader: R,
        tenant_id: UUID,
        name: str,
        start_ns: int,
        end_ns: int,
        limit: int,
        selector: LogQuery,
    ) -> list[str]: ...

    @abstractmethod
    async def _context_bounds(self, tenant_id: UUID, record: LogRecord) -> tuple[int, int]:
        """``[lo, hi)`` holding every line of ``record``'s service (for context's scans)."""
        ...

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self._path.start(self._open_sync, self._prepare_sync, self._insert_sync)

    async def close(self) -> None:
        await self._path.close(self._close_sync)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ping(self) -> None:
        self._path.check_running()
        await self._run_reader(self._ping_sync)

    async def _run_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._path.threads.run_writer(fn, *args)

    async def _run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._path.threads.run_reader(fn, *args)

    # --- writes ------------------------------------------------------------------------------

    async def write(self, records: Sequence[LogRecord]) -> None:
        await self._path.submit(records)

    async def write_columns(self, batch: LogColumns) -> None:
        await self._path.submit(batch)

    @property
    def stats(self) -> dict[str, int]:
        """Write calls, transactions (inserts) and records written since start."""
        return self._path.stats

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

    async def histogram(
        self, tenant_id: UUID, query: LogQuery, *, start_ns: int, end_ns: int, step_ns: int
    ) -> Sequence[HistogramBucket]:
        _common.check_step(step_ns, start_ns, end_ns)
        logql.validate(query)
        return await self._run_reader(
            self._histogram_sync, tenant_id, query, start_ns, end_ns, step_ns
        )

    async def get(self, tenant_id: UUID, record_id: str) -> LogRecord | None:
        return await self._run_reader(self._get_sync, tenant_id, record_id)

    async def label_names(self, tenant_id: UUID, *, start_ns: int, end_ns: int) -> Sequence[str]:
        return await self._run_reader(self._label_names_sync, tenant_id, start_ns, end_ns)

    async def label_values(
        self,
        tenant_id: UUID,
        name: str,
        *,
        start_ns: int,
        end_ns: int,
        limit: int,
        query: LogQuery | None = None,
    ) -> Sequence[str]:
        selector = LogQuery(matchers=query.matchers) if query is not None else LogQuery()
        logql.validate(selector)
        return await self._run_reader(
            self._label_values_sync, tenant_id, name, start_ns, end_ns, limit, selector
        )

    def _search_sync(
        self,
        reader: R,
        tenant_id: UUID,
        query: LogQuery,
        start_ns: int,
        end_ns: int,
        limit: int,
        backward: bool,
        cursor: Cursor | None,
    ) -> LogPage:
        clamped = self._clamp(start_ns, end_ns)
        if clamped is None:
            return LogPage([], None)
        return _common.windowed_search(
            self._fetcher(reader, tenant_id, query, backward),
            query,
            start_ns=clamped[0],
            end_ns=clamped[1],
            limit=limit,
            backward=backward,
            cursor=cursor,
            max_scan=self._max_scan,
        )

    # --- retention ---------------------------------------------------------------------------

    async def delete_before(self, cutoffs: Mapping[UUID, int], *, default_ns: int) -> int:
        return await self._run_writer(self._delete_sync, dict(cutoffs), default_ns)

    # --- context -----------------------------------------------------------------------------

    async def context(
        self, tenant_id: UUID, record_id: str, *, before: int, after: int
    ) -> LogContext | None:
        record = await self.get(tenant_id, record_id)
        if record is None:
            return None
        lo, hi = await self._context_bounds(tenant_id, record)
        same_service = LogQuery(matchers=(Matcher("service", "=", record.service),))
        here = Cursor(record.ts_ns, record.id)
        # One line more each side tells whether there are more.
        earlier = await self.search(
            tenant_id,
            same_service,
            start_ns=lo,
            end_ns=record.ts_ns + 1,
            limit=before + 1,
            direction="backward",
            cursor=here,
        )
        later = await self.search(
            tenant_id,
            same_service,
            start_ns=record.ts_ns,
            end_ns=hi,
            limit=after + 1,
            direction="forward",
            cursor=here,
        )
        earlier_lines = list(earlier.records)
        later_lines = list(later.records)
        return LogContext(
            list(reversed(earlier_lines[:before])),
            record,
            later_lines[:after],
            more_before=len(earlier_lines) > before,
            more_after=len(later_lines) > after,
        )
