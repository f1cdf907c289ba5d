"""Each replica's buffer of lines matched by streams, fed by the log ingestor's write listener.

:meth:`StreamBuffers.listener` runs on the ingest path for every written batch of lines: it
keeps the lines each active stream of the tenant matches (services, severities) as compact
rows ``(id, ts_ns, service, severity, message, agent, template_id)``, and nothing else; a
stream that takes every line of a batch keeps the batch's columns (no Python work nor object
per line on the request), made rows when the batch or flush loop reads them. The flush loop
(:meth:`StreamBuffers.flush`, on every replica) writes them as one chunk per stream to the
state database, where the leased batch loop cuts batches from every replica's chunks.

On the replica that holds the batch loop's lease (:meth:`StreamBuffers.hold`, renewed by each
of its ticks) the flush loop leaves the lines in memory for up to ``HOLD_SECONDS``: the batch
loop takes them (:meth:`take`) and cuts them into batches together with the other replicas'
chunks, so a busy stream's lines are never written to the database and read back before they
make a batch. Lines are taken out of the buffer before they are cut and given back
(:meth:`give_back`) when the cut is not committed, so each line makes exactly one batch; once
the lease is lost (no tick for a lease's time to live) or the server stops (the flush loop's
``close``), the lines held go to the database like any replica's. A crash of the holder loses
at most ``HOLD_SECONDS`` of its own lines (the other replicas lose at most one flush interval).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.logintel.metrics import LogIntelMetrics
from agentdeck.logintel.streams.models import LogStream, LogStreamChunk
from agentdeck.logstore.base import LogColumns

#: Seconds the lease holder keeps a stream's own lines in memory, for the batch loop to cut
#: straight into batches, before they are written to the database like any replica's.
HOLD_SECONDS = 10.0
#: A buffered line: ``(id, ts_ns, service, severity, message, agent, template_id)``.
Row = tuple[Any, ...] | list[Any]


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What the listener needs of a stream."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    services: frozenset[str]
    severities: frozenset[str]
    batch_size: int

    @classmethod
    def of(cls, stream: LogStream) -> StreamFilter:
        return cls(
            id=stream.id,
            tenant_id=stream.tenant_id,
            services=frozenset(stream.services),
            severities=frozenset(stream.severity_filter),
            batch_size=stream.batch_size,
        )


# a stream created on this replica, or (tenant, stream) of one stopped
_Change = StreamFilter | tuple[uuid.UUID, uuid.UUID]


class Pending:
    """A stream's lines waiting on this replica, and when the first of them arrived.

    Lines the listener keeps whole (a stream taking every line of a batch) wait as the
    ingest batch's columns: they become rows (tuples) when :attr:`rows` is first read, by
    the batch loop or the flush loop, not on the request that brought them."""

    __slots__ = ("_columns", "_rows", "_waiting", "received_at", "woke")

    def __init__(
        self, received_at: datetime, rows: list[Row] | None = None, woke: bool = False
    ) -> None:
        self.received_at = received_at
        self.woke = woke
        self._rows: list[Row] = rows if rows is not None else []
        self._columns: list[tuple[Sequence[Any], ...]] = []
        self._waiting = 0  # lines in ``_columns``

    def __len__(self) -> int:
        return len(self._rows) + self._waiting

    @property
    def rows(self) -> list[Row]:
        """The lines as rows ``(id, ts_ns, service, severity, message, agent, template_id)``,
        in arrival order (a list the caller may extend)."""
        if self._columns:
            for columns in self._columns:
                self._rows.extend(zip(*columns, strict=True))
            self._columns, self._waiting = [], 0
        return self._rows

    def add_columns(self, columns: tuple[Sequence[Any], ...]) -> None:
        """Keep lines given as columns of equal length (made rows when read)."""
        self._columns.append(columns)
        self._waiting += len(columns[0])


class StreamBuffers:
    def __init__(
        self,
        *,
        max_lines: int,
        metrics: LogIntelMetrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.max_lines = max_lines
        self.metrics = metrics
        self.clock = clock
        self.by_tenant: dict[uuid.UUID, list[StreamFilter]] = {}
        self.pending: dict[uuid.UUID, Pending] = {}
        #: Called (once per fill) when a stream's buffer reaches its batch size.
        self.on_full: Callable[[], None] | None = None
        #: Streams created or stopped on this replica while a refresh reads the database,
        #: one journal per refresh under way (re-applied on what it read).
        self._journals: list[list[_Change]] = []
        #: Until when (``time.monotonic``) this replica holds the batch loop's lease.
        self.holding_until = 0.0

    # -- the directory of active streams

    def set_streams(self, streams: Iterable[StreamFilter]) -> None:
        by_tenant: dict[uuid.UUID, list[StreamFilter]] = {}
        for stream in streams:
            by_tenant.setdefault(stream.tenant_id, []).append(stream)
        self.by_tenant = by_tenant
        live = {s.id for filters in by_tenant.values() for s in filters}
        for stream_id in [s for s in self.pending if s not in live]:
            del self.pending[stream_id]

    def add_stream(self, stream: StreamFilter) -> None:
        for journal in self._journals:
            journal.append(stream)
        filters = [s for s in self.by_tenant.get(stream.tenant_id, []) if s.id != stream.id]
        self.by_tenant[stream.tenant_id] = [*filters, stream]

    def remove_stream(self, tenant_id: uuid.UUID, stream_id: uuid.UUID) -> None:
        for journal in self._journals:
            journal.append((tenant_id, stream_id))
        filters = [s for s in self.by_tenant.get(tenant_id, []) if s.id != stream_id]
        self.by_tenant[tenant_id] = filters
        self.pending.pop(stream_id, None)

    async def refresh(self, session: AsyncSession) -> None:
        """Reload the active streams (another replica may have created or stopped some).

        A stream this replica creates or stops while the query runs may be missing from (or
        still in) what it reads: those changes are applied again on top of it, so the
        refresh cannot undo them.
        """
        journal: list[_Change] = []
        self._journals.append(journal)
        try:
            rows = await session.scalars(select(LogStream).where(LogStream.active.is_(True)))
            loaded = [StreamFilter.of(row) for row in rows]
        finally:
            self._journals = [j for j in self._journals if j is not journal]
        by_id = {s.id: s for s in loaded}
        for change in journal:
            if isinstance(change, StreamFilter):
                by_id[change.id] = change
            else:
                by_id.pop(change[1], None)
        self.set_streams(by_id.values())

    # -- the ingest path

    def listener(self, tenant_id: uuid.UUID, lines: LogColumns) -> None:
        """The log ingestor's write listener: buffer what each of the tenant's streams matches."""
        filters = self.by_tenant.get(tenant_id)
        if not filters:
            return
        templates = lines.template_id or (None,) * len(lines.id)
        matched = dropped = 0
        kinds: set[Any] | None = None
        every = (
            lines.id,
            lines.ts_ns,
            lines.service,
            lines.severity,
            lines.message,
            lines.agent,
            templates,
        )
        size = len(lines.id)
        for stream in filters:
            services, severities = stream.services, stream.severities
            pending = self.pending.get(stream.id)
            if pending is None:
                pending = self.pending[stream.id] = Pending(received_at=self.clock())
            room = self.max_lines - len(pending)
            if kinds is None:
                kinds = set(lines.severity)
            if not services and kinds <= severities:  # every line: no work per line
                taken = max(0, min(room, size))
                if taken:
                    pending.add_columns(every if taken == size else tuple(c[:taken] for c in every))
                matched += taken
                dropped += size - taken
            else:
                rows = pending.rows
                for row in zip(*every, strict=True):
                    if row[3] not in severities or (services and row[2] not in services):
                        continue
                    if room <= 0:
                        dropped += 1
                        continue
                    rows.append(row)
                    room -= 1
                    matched += 1
            if not len(pending):
                del self.pending[stream.id]
            elif len(pending) >= stream.batch_size and not pending.woke:
                pending.woke = True
                if self.on_full is not None:
                    self.on_full()
        if self.metrics is not None:
            if matched:
                self.metrics.stream_lines.inc(matched)
            if dropped:
                self.metrics.dropped.inc(dropped)

    # -- the lease holder's lines, cut straight from memory

    def hold(self, seconds: float) -> None:
        """This replica holds the batch loop's lease for ``seconds`` more: its flush loop
        leaves young lines in memory for the batch loop."""
        self.holding_until = time.monotonic() + seconds

    def holding(self) -> bool:
        return time.monotonic() < self.holding_until

    def ready(self) -> bool:
        """Whether a stream's buffer on this replica holds a full batch."""
        live = {s.id: s.batch_size for filters in self.by_tenant.values() for s in filters}
        return any(len(p) >= live.get(sid, 1 << 62) for sid, p in self.pending.items())

    def take(self, stream_id: uuid.UUID) -> Pending | None:
        """The stream's lines waiting on this replica, taken out of the buffer (the caller
        cuts them into batches, or gives them back)."""
        return self.pending.pop(stream_id, None)

    def give_back(self, stream_id: uuid.UUID, taken: Pending) -> None:
        """Put lines taken (and not cut) back in front of what arrived meanwhile; dropped if
        the stream was stopped meanwhile."""
        if not len(taken) or not any(
            s.id == stream_id for filters in self.by_tenant.values() for s in filters
        ):
            return
        current = self.pending.get(stream_id)
        if current is None:
            self.pending[stream_id] = Pending(received_at=taken.received_at, rows=taken.rows)
            return
        current.rows[:0] = taken.rows
        current.received_at = min(current.received_at, taken.received_at)

    # -- the flush loop

    async def flush(
        self, sessions: async_sessionmaker[AsyncSession], *, everything: bool = False
    ) -> int:
        """Write the buffered lines (one chunk per stream) and reload the active streams;
        returns how many lines were written. While this replica holds the batch loop's lease,
        lines younger than ``HOLD_SECONDS`` stay for the batch loop (unless ``everything``)."""
        async with sessions() as session:
            await self.refresh(session)
            keep = self.holding() and not everything
            oldest = self.clock() - timedelta(seconds=HOLD_SECONDS)
            taken: dict[uuid.UUID, Pending] = {}
            for stream_id, pending in list(self.pending.items()):
                if not keep or _aware(pending.received_at) <= _aware(oldest):
                    taken[stream_id] = self.pending.pop(stream_id)
            live = {s.id: s for filters in self.by_tenant.values() for s in filters}
            written = 0
            for stream_id, pending in taken.items():
                stream = live.get(stream_id)
                if stream is None or not pending.rows:
                    continue  # stopped meanwhile
                session.add(
                    LogStreamChunk(
                        tenant_id=stream.tenant_id,
                        stream_id=stream_id,
                        received_at=pending.received_at,
                        lines=pending.rows,
                    )
                )
                written += len(pending.rows)
            try:
                await session.commit()
            except BaseException:
                for stream_id, pending in taken.items():
                    self.give_back(stream_id, pending)
                raise
        return written


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
