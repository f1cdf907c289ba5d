"""Each replica's buffer of lines matched by streams, fed by the log ingestor's write listener.

:meth:`StreamBuffers.listener` runs on the ingest path for every written batch of lines: it
keeps the lines each active stream of the tenant matches (services, severities) as compact
rows ``[id, ts_ns, service, severity, message, agent, template_id]``, and nothing else. The
flush loop (:meth:`StreamBuffers.flush`, on every replica) writes them as one chunk per stream
to the state database, where the leased batch loop cuts batches from every replica's chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.logintel.metrics import LogIntelMetrics
from agentdeck.logintel.streams.models import LogStream, LogStreamChunk
from agentdeck.logstore.base import LogColumns


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


@dataclass(slots=True)
class _Pending:
    received_at: datetime
    rows: list[list[object]] = field(default_factory=list)
    woke: bool = False


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
        self.pending: dict[uuid.UUID, _Pending] = {}
        #: Called (once per fill) when a stream's buffer reaches its batch size.
        self.on_full: Callable[[], None] | None = None
        #: Streams created or stopped on this replica while a refresh reads the database,
        #: one journal per refresh under way (re-applied on what it read).
        self._journals: list[list[_Change]] = []

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
        for stream in filters:
            services, severities = stream.services, stream.severities
            pending = self.pending.get(stream.id)
            if pending is None:
                pending = self.pending[stream.id] = _Pending(received_at=self.clock())
            rows = pending.rows
            room = self.max_lines - len(rows)
            for rid, ts, service, severity, message, agent, template in zip(
                lines.id,
                lines.ts_ns,
                lines.service,
                lines.severity,
                lines.message,
                lines.agent,
                templates,
                strict=True,
            ):
                if severity not in severities or (services and service not in services):
                    continue
                if room <= 0:
                    dropped += 1
                    continue
                rows.append([rid, ts, service, str(severity), message, agent, template])
                room -= 1
                matched += 1
            if not rows:
                del self.pending[stream.id]
            elif len(rows) >= stream.batch_size and not pending.woke:
                pending.woke = True
                if self.on_full is not None:
                    self.on_full()
        if self.metrics is not None:
            if matched:
                self.metrics.stream_lines.inc(matched)
            if dropped:
                self.metrics.dropped.inc(dropped)

    # -- the flush loop

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Write the buffered lines (one chunk per stream) and reload the active streams;
        returns how many lines were written."""
        async with sessions() as session:
            await self.refresh(session)
            taken, self.pending = self.pending, {}
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
            await session.commit()
        return written
