"""The log store seam: log records, the parsed query, pages and the protocol.

A *record* is one log line inside a tenant: when it happened (ns since the epoch), which
service and agent wrote it, its severity, the message, labels (resource and log attributes,
flattened to strings), trace/span ids and the template id that log intelligence assigns.

Two implementations share the contract (``tests/logstore/test_contract.py``): the embedded
DuckDB store and the scale-out ClickHouse store. The query language is a LogQL subset parsed
by :mod:`agentdeck.logstore.logql` into :class:`LogQuery`; each store compiles that into its
own SQL, so both answer the same query the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable
from uuid import UUID


class Severity(StrEnum):
    """The five severities (seed 003), lowest first; stored and shown upper-case."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


#: Severity order, for sorting and "at least" filters.
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}

#: Common spellings of the five severities (lower-case) beside their own names.
SEVERITY_ALIASES: Mapping[str, Severity] = {
    "trace": Severity.DEBUG,
    "dbg": Severity.DEBUG,
    "information": Severity.INFO,
    "informational": Severity.INFO,
    "notice": Severity.INFO,
    "warn": Severity.WARNING,
    "err": Severity.ERROR,
    "crit": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "panic": Severity.CRITICAL,
    "alert": Severity.CRITICAL,
    "emerg": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
}


def severity_from_text(text: str) -> Severity | None:
    """The severity a name or common alias means (any case), or None when it names none."""
    folded = text.strip().lower()
    alias = SEVERITY_ALIASES.get(folded)
    if alias is not None:
        return alias
    try:
        return Severity(folded.upper())
    except ValueError:
        return None


class LogStoreError(RuntimeError):
    """The store failed to carry out a call (I/O, backend down, backend refused)."""


class LogQueryError(ValueError):
    """A query cannot be run as written; ``position`` is the 0-based offset of the fault."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One stored log line.

    ``id`` is unique within the tenant and sorts with time: ids of records with equal
    ``ts_ns`` break the tie, so (``ts_ns``, ``id``) is a total order (cursors rely on it).
    """

    id: str
    tenant_id: UUID
    ts_ns: int
    service: str
    severity: Severity
    message: str
    agent: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    trace_id: str = ""
    span_id: str = ""
    truncated: bool = False
    template_id: int | None = None
    #: When the store received it (ns); set by the ingest path.
    observed_ns: int = 0


@dataclass(slots=True)
class LogColumns:
    """One tenant's batch of lines as columns, the ingest path's shape: the column at index
    ``i`` of every field is line ``i``. Cheaper than records to build and to store (a store
    turns columns into its insert without a Python object per line); :meth:`records` gives
    the lines as :class:`LogRecord` where one is needed. ``template_id`` None: none set."""

    tenant_id: UUID
    id: Sequence[str]
    ts_ns: Sequence[int]
    service: Sequence[str]
    severity: Sequence[Severity]
    message: Sequence[str]
    agent: Sequence[str]
    labels: Sequence[Mapping[str, str]]
    trace_id: Sequence[str]
    span_id: Sequence[str]
    truncated: Sequence[bool]
    observed_ns: Sequence[int]
    template_id: Sequence[int | None] | None = None

    def __len__(self) -> int:
        return len(self.id)

    def records(self) -> list[LogRecord]:
        """The lines as records, in order."""
        tenant = self.tenant_id
        templates = self.template_id or (None,) * len(self.id)
        return [
            LogRecord(
                id=rid,
                tenant_id=tenant,
                ts_ns=ts,
                service=service,
                severity=severity,
                message=message,
                agent=agent,
                labels=labels,
                trace_id=trace,
                span_id=span,
                truncated=truncated,
                template_id=template,
                observed_ns=observed,
            )
            for rid, ts, service, severity, message, agent, labels, trace, span, truncated, template, observed in zip(  # noqa: E501
                self.id,
                self.ts_ns,
                self.service,
                self.severity,
                self.message,
                self.agent,
                self.labels,
                self.trace_id,
                self.span_id,
                self.truncated,
                templates,
                self.observed_ns,
                strict=True,
            )
        ]

    @classmethod
    def of(cls, tenant_id: UUID, records: Sequence[LogRecord]) -> LogColumns:
        """The columns of ``records`` (all of ``tenant_id``)."""
        templates = [r.template_id for r in records]
        return cls(
            tenant_id=tenant_id,
            id=[r.id for r in records],
            ts_ns=[r.ts_ns for r in records],
            service=[r.service for r in records],
            severity=[r.severity for r in records],
            message=[r.message for r in records],
            agent=[r.agent for r in records],
            labels=[r.labels for r in records],
            trace_id=[r.trace_id for r in records],
            span_id=[r.span_id for r in records],
            truncated=[r.truncated for r in records],
            observed_ns=[r.observed_ns for r in records],
            template_id=templates if any(t is not None for t in templates) else None,
        )


class RecordIds:
    """Makes record ids: 26 hex digits, the record's time in ms, a random per-generator node and
    a counter (``{ms:011x}{node:08x}{seq:07x}``).

    Ids from one generator increase with every call, so records of equal ``ts_ns`` keep their
    order; ids from different processes differ by node. The time prefix lets a store find a
    record by id without a scan (:func:`record_id_ms`), and ids of neighbouring lines share
    most of their digits, which keeps them small once compressed. Any other unique string
    works as an id too (stores then look it up by scanning).
    """

    __slots__ = ("_node", "_node_bits", "_seq")

    def __init__(self, node: int | None = None) -> None:
        self._node = (secrets.randbits(32) if node is None else node) & 0xFFFF_FFFF
        self._node_bits = self._node << 28
        self._seq = secrets.randbits(20)

    def next(self, ts_ns: int) -> str:
        """A new id for a record at ``ts_ns``."""
        self._seq = seq = (self._seq + 1) & 0xFFF_FFFF
        # One number of 104 bits (ms: 44, node: 32, seq: 28) formatted once: the same digits
        # as formatting the three apart, in a third of the time.
        ms = (ts_ns // 1_000_000 if ts_ns > 0 else 0) & 0xFFF_FFFF_FFFF
        return f"{(ms << 60) | self._node_bits | seq:026x}"


def record_id_ms(record_id: str) -> int | None:
    """The time (ms) a :class:`RecordIds` id carries, or None for ids of another shape."""
    if len(record_id) != 26 or not _HEX.issuperset(record_id):
        return None
    return int(record_id[:11], 16)


_HEX = frozenset("0123456789abcdef")


# --- the parsed query ------------------------------------------------------------------------

#: Stream-selector fields that are columns rather than labels.
COLUMN_FIELDS = ("service", "severity", "agent", "trace_id", "span_id", "template")


@dataclass(frozen=True, slots=True)
class Matcher:
    """``name op value`` in a stream selector: ``op`` is ``=``, ``!=``, ``=~`` or ``!~``.

    ``name`` is one of :data:`COLUMN_FIELDS` or a label name. Regexes are RE2 and anchored
    (as in LogQL and PromQL: ``service=~"api.*"`` matches the whole value).
    """

    name: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class LineFilter:
    """``op "value"`` on the message: ``|=`` contains, ``!=`` not, ``|~`` / ``!~`` RE2."""

    op: str
    value: str


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """After ``| json`` or ``| logfmt``: ``name op value`` on a field parsed from the message.

    ``op`` is ``=``, ``!=``, ``=~`` or ``!~``; a line without the field has it as ``""``.
    """

    parser: str
    name: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class LogQuery:
    """A parsed query: every matcher, line filter and field filter must hold (AND)."""

    matchers: tuple[Matcher, ...] = ()
    line_filters: tuple[LineFilter, ...] = ()
    field_filters: tuple[FieldFilter, ...] = ()


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: strictly after (``ts_ns``, ``id``) in the page's direction."""

    ts_ns: int
    id: str


@dataclass(frozen=True, slots=True)
class LogPage:
    """Records in the asked direction and the cursor of the next page (None: no more)."""

    records: Sequence[LogRecord]
    next_cursor: Cursor | None


@dataclass(frozen=True, slots=True)
class HistogramBucket:
    """Lines per severity in ``[start_ns, start_ns + step)``."""

    start_ns: int
    counts: Mapping[Severity, int]


@dataclass(frozen=True, slots=True)
class LogContext:
    """The lines around one line of the same tenant and service, oldest first each side."""

    before: Sequence[LogRecord]
    record: LogRecord
    after: Sequence[LogRecord]
    #: Are there older (newer) lines of the service beyond ``before`` (``after``)?
    more_before: bool = False
    more_after: bool = False


@runtime_checkable
class LogStore(Protocol):
    """Where log lines are kept. Every call is tenant-scoped; times are ns since the epoch."""

    #: ``"duckdb"`` or ``"clickhouse"``.
    backend: str

    async def start(self) -> None:
        """Open connections and create the schema if missing."""

    async def close(self) -> None:
        """Flush pending writes and release everything."""

    async def ping(self) -> None:
        """Raise :class:`LogStoreError` when the store cannot serve (for /readyz)."""

    async def write(self, records: Sequence[LogRecord]) -> None:
        """Store ``records``; when this returns they are durable (survive kill -9)."""

    async def write_columns(self, batch: LogColumns) -> None:
        """Store one tenant's lines given as columns; durable when this returns."""

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
        """Matching records with ``start_ns <= ts_ns < end_ns``; ``backward`` = newest first."""

    async def histogram(
        self, tenant_id: UUID, query: LogQuery, *, start_ns: int, end_ns: int, step_ns: int
    ) -> Sequence[HistogramBucket]:
        """Counts per severity per step; buckets aligned to multiples of ``step_ns``, empty
        buckets omitted, oldest first."""

    async def get(self, tenant_id: UUID, record_id: str) -> LogRecord | None:
        """One record by id, or None (another tenant's record is None too)."""

    async def context(
        self, tenant_id: UUID, record_id: str, *, before: int, after: int
    ) -> LogContext | None:
        """The ``before`` lines before and ``after`` lines after one record, same service."""

    async def label_names(self, tenant_id: UUID, *, start_ns: int, end_ns: int) -> Sequence[str]:
        """Column fields that have values plus every label name seen in the range, sorted."""

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
        """Distinct values of a column field or label in the range, sorted, at most ``limit``;
        with ``query``, only on the lines its stream selector (its matchers) selects."""

    async def delete_before(self, cutoffs: Mapping[UUID, int], *, default_ns: int) -> int:
        """Drop records older than their tenant's cutoff (``default_ns`` for tenants not in
        ``cutoffs``); return how many were dropped (an estimate where the backend drops whole
        partitions)."""
