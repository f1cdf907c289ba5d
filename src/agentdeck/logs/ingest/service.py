"""The log write path: normalise → line processors → durable write → write listeners.

:class:`LogIngestor` is per app (``AppState.logs``). Routers decode a wire format into
:class:`~agentdeck.logs.ingest.entry.Decoded` and call :meth:`LogIngestor.ingest`, which

1. normalises the entries (:mod:`.normalize`): each bad one becomes an error by index, the
   others records;
2. passes the records through the registered *line processors* (``add_processor``): the hook
   where log intelligence assigns template ids; a processor returns the records to keep going
   with (e.g. copies with ``template_id`` set) or None to leave them as they are; a *column
   processor* (``add_column_processor``) gets the columns and may set some in place (no
   record per line: log intelligence's template ids);
3. writes them to the :class:`~agentdeck.logstore.base.LogStore`: when that returns they are
   durable, and only then does the request get its 2xx;
4. hands them to the *write listeners* (``add_listener``): the live tail's publisher
   (``realtime.publish``) registers one; a listener must be quick and never raise.

The lines travel as columns (:class:`~agentdeck.logstore.base.LogColumns`): no record object
per line is made unless a processor is registered (it gets records, as before).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import structlog

from agentdeck.errors import Unavailable
from agentdeck.logs.ingest.entry import Decoded, EntryError
from agentdeck.logs.ingest.normalize import NS, LabelCache, Limits, Normaliser, StreamTracker
from agentdeck.logs.metrics import LogMetrics
from agentdeck.logstore.base import LogColumns, LogRecord, LogStore, LogStoreError, RecordIds
from agentdeck.settings import LogsSettings

log = structlog.get_logger(__name__)

DAY_NS = 86_400 * NS
#: How long a tenant's retention is remembered before it is read again.
RETENTION_CACHE_NS = 60 * NS

#: Called with the tenant and the records about to be written; returns the records to write
#: instead (same order, same ids) or None to keep them.
LineProcessor = Callable[[UUID, Sequence[LogRecord]], Sequence[LogRecord] | None]
#: Called with the tenant and the lines about to be written, as columns (no record per line);
#: may set columns in place (log intelligence sets ``template_id``), same order, same lines.
ColumnProcessor = Callable[[UUID, LogColumns], None]
#: Called with the tenant and the lines just written (durable), as columns.
WriteListener = Callable[[UUID, LogColumns], None]
#: A tenant's log retention in days.
RetentionLookup = Callable[[UUID], Awaitable[int]]


@dataclass(slots=True)
class IngestResult:
    accepted: int
    rejected: int
    errors: list[EntryError] = field(default_factory=list)
    truncated: int = 0


class LogIngestor:
    def __init__(
        self,
        *,
        store: LogStore,
        settings: LogsSettings,
        metrics: LogMetrics,
        retention_days: RetentionLookup | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.limits = Limits.of(settings)
        self.streams = StreamTracker(
            settings.max_streams_per_tenant, int(settings.stream_idle_seconds * NS)
        )
        self.label_cache: LabelCache = {}
        self.ids = RecordIds()
        self.processors: list[LineProcessor] = []
        self.column_processors: list[ColumnProcessor] = []
        self.listeners: list[WriteListener] = []
        self._retention_days = retention_days
        self._retention: dict[UUID, tuple[int, int]] = {}  # tenant → (days, read at ns)
        self.clock_ns = clock_ns

    def add_processor(self, processor: LineProcessor) -> None:
        """Run ``processor`` on every batch of records before it is written."""
        self.processors.append(processor)

    def add_column_processor(self, processor: ColumnProcessor) -> None:
        """Run ``processor`` on every batch of lines, as columns, before it is written (after
        the line processors)."""
        self.column_processors.append(processor)

    def add_listener(self, listener: WriteListener) -> None:
        """Call ``listener`` with every batch of records once it is written."""
        self.listeners.append(listener)

    async def retention_days(self, tenant_id: UUID, now_ns: int) -> int:
        """The tenant's log retention (its own, else ``logs.retention_days``), cached a minute."""
        if self._retention_days is None:
            return self.settings.retention_days
        cached = self._retention.get(tenant_id)
        if cached is not None and now_ns - cached[1] < RETENTION_CACHE_NS:
            return cached[0]
        days = await self._retention_days(tenant_id)
        if len(self._retention) > 100_000:
            self._retention.clear()
        self._retention[tenant_id] = (days, now_ns)
        return days

    async def ingest(
        self, *, tenant_id: UUID, decoded: Decoded, path: str, body_bytes: int = 0
    ) -> IngestResult:
        """Normalise, process, write durably and announce; see the module docstring.

        Raises :class:`~agentdeck.errors.Unavailable` when the store fails (nothing of the
        request is acknowledged then)."""
        now = self.clock_ns()
        days = await self.retention_days(tenant_id, now)
        errors = list(decoded.errors)
        normaliser = Normaliser(
            tenant_id=tenant_id,
            limits=self.limits,
            streams=self.streams,
            oldest_ns=now - days * DAY_NS,
            now_ns=now,
            label_cache=self.label_cache,
            ids=self.ids,
        )
        normaliser.retention_days = days
        batch = normaliser.run_columns(decoded.entries, errors)
        if self.processors and len(batch):
            records: Sequence[LogRecord] = batch.records()
            for processor in self.processors:
                changed = processor(tenant_id, records)
                if changed is not None:
                    records = changed
            batch = LogColumns.of(tenant_id, records)
        if len(batch):
            for column_processor in self.column_processors:
                column_processor(tenant_id, batch)
        metrics = self.metrics
        if body_bytes:
            metrics.bytes.labels(path=path).inc(body_bytes)
        accepted = len(batch)
        if accepted:
            started = time.perf_counter()
            try:
                await self.store.write_columns(batch)
            except LogStoreError as exc:
                log.warning("log_store_write_failed", error=str(exc))
                raise Unavailable(
                    f"the log store failed, retry later: {exc}",
                    kind="log-store-unavailable",
                    retry_after=1,
                ) from exc
            metrics.write_seconds.observe(time.perf_counter() - started)
            metrics.ingested.labels(path=path).inc(accepted)
            for listener in self.listeners:
                try:
                    listener(tenant_id, batch)
                except Exception:
                    log.exception("log_write_listener_failed")
        truncated = sum(batch.truncated)
        if truncated:
            metrics.truncated.inc(truncated)
        for error in errors:
            metrics.rejected.labels(reason=error.reason).inc()
        errors.sort(key=lambda e: e.index)
        return IngestResult(
            accepted=accepted, rejected=len(errors), errors=errors, truncated=truncated
        )
