"""Cutting batches and analysing them: the work of the leased batch loop.

Each round, for every active stream: read its waiting chunks (every replica's, oldest first)
and take this replica's own lines from memory after them (the holder's lines need not go
through the database: :mod:`.buffers`), cut a batch of ``batch_size`` lines as often as they
fill one (closed by ``size``), and cut the rest when its oldest line has waited
``batch_timeout_seconds`` (closed by ``timeout``).
When the processor has only rule detectors (no analyser calling out, such as the LLM), the
batches cut in a round are analysed in the transaction that cuts them (up to
``MAX_BATCHES_PER_ROUND``): each is stored ``completed`` (or ``failed``) with its anomalies in
one commit per round, not three per batch. Otherwise, and for the batches past that bound, a
batch is stored ``pending`` with its statistics and lines, then analysed: ``processing``, then
``completed`` or ``failed`` (:class:`~agentdeck.logintel.anomalies.processor.BatchProcessor`).
If analysing in the cut's transaction raises, nothing of the round is kept and the round is cut
again the ``pending`` way, so a line still makes exactly one batch.
Chunks of stopped streams are dropped. Work is done under the loop's lease, so with several
replicas one of them cuts batches.
"""

from __future__ import annotations

import asyncio
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer

from agentdeck.db.base import utcnow
from agentdeck.logintel.anomalies.processor import BatchProcessor
from agentdeck.logintel.metrics import LogIntelMetrics
from agentdeck.logintel.streams.buffers import Pending, Row, StreamBuffers
from agentdeck.logintel.streams.models import LogBatch, LogStream, LogStreamChunk

log = structlog.get_logger(__name__)

#: Batches analysed per round at most (the rest wait for the next round).
MAX_BATCHES_PER_ROUND = 200
ERROR_SEVERITIES = ("ERROR", "CRITICAL")
_TS, _SERVICE, _SEVERITY = itemgetter(1), itemgetter(2), itemgetter(3)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def statistics(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """total, errors (ERROR + CRITICAL), warnings, error_rate, by_service, by_severity."""
    by_severity: Counter[str] = Counter()
    for severity, count in Counter(map(_SEVERITY, rows)).items():
        by_severity[str(severity)] += count  # a Severity from memory, a str from a chunk
    by_service = Counter(map(_SERVICE, rows))
    total = len(rows)
    errors = sum(by_severity.get(s, 0) for s in ERROR_SEVERITIES)
    return {
        "total": total,
        "errors": errors,
        "warnings": by_severity.get("WARNING", 0),
        "error_rate": errors / total if total else 0.0,
        "by_service": dict(sorted(by_service.items())),
        "by_severity": dict(sorted(by_severity.items())),
    }


def _ts(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def new_batch(
    stream: LogStream, rows: list[Row], *, opened: datetime, closed_by: str, now: datetime
) -> LogBatch:
    stats = statistics(rows)
    stamps = list(map(_TS, rows))
    return LogBatch(
        id=uuid.uuid4(),
        tenant_id=stream.tenant_id,
        stream_id=stream.id,
        status="pending",
        closed_by=closed_by,
        opened_at=opened,
        created_at=now,
        window_start=_ts(min(stamps)),
        window_end=_ts(max(stamps)),
        lines=rows,
        **stats,
    )


class Batcher:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        processor: BatchProcessor,
        metrics: LogIntelMetrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_alert: Callable[[], None] | None = None,
        buffers: StreamBuffers | None = None,
    ) -> None:
        self.sessions = sessions
        #: This replica's buffers: its own lines are cut from memory.
        self.buffers = buffers
        self.processor = processor
        self.metrics = metrics
        self.clock = clock
        self.on_alert = on_alert
        #: Lines of the batches cut this round, so analysing them does not read them back.
        self._fresh: dict[uuid.UUID, list[Row]] = {}
        #: The batches cut in the round under way (to analyse in its transaction).
        self._cut: list[tuple[LogBatch, LogStream, list[Row]]] = []
        #: Batches analysed in the cut's transaction since ``run_once`` last asked.
        self._analysed = 0

    async def cut(
        self, session: AsyncSession, stream: LogStream, now: datetime, local: Pending | None = None
    ) -> tuple[int, Pending | None]:
        """Cut the stream's full (and timed-out) batches from its chunks, then ``local`` (this
        replica's lines taken from memory); how many, and the local lines left uncut."""
        chunks = list(
            await session.scalars(
                select(LogStreamChunk)
                .where(LogStreamChunk.stream_id == stream.id)
                .order_by(LogStreamChunk.id)
            )
        )
        # the lines oldest first, this replica's last, in segments (a chunk, the local lines):
        # a line arrived with its segment (no object per line)
        lines: list[Row] = []
        starts: list[int] = []
        arrivals: list[datetime] = []
        for chunk in chunks:
            if chunk.lines:
                starts.append(len(lines))
                arrivals.append(_aware(chunk.received_at))
                lines.extend(chunk.lines)
        stored = len(lines)
        if local is not None and local.rows:
            starts.append(len(lines))
            arrivals.append(_aware(local.received_at))
            lines.extend(local.rows)
        if not lines:
            return 0, None

        def arrival(index: int) -> datetime:
            return arrivals[bisect_right(starts, index) - 1]

        size, cut, start = stream.batch_size, 0, 0
        timeout = timedelta(seconds=stream.batch_timeout_seconds)
        while start < len(lines):
            rest = len(lines) - start
            if rest >= size:
                closed_by, end = "size", start + size
            elif now - arrival(start) >= timeout:
                closed_by, end = "timeout", len(lines)
            else:
                break
            rows = lines[start:end]
            batch = new_batch(stream, rows, opened=arrival(start), closed_by=closed_by, now=now)
            session.add(batch)
            self._fresh[batch.id] = rows
            self._cut.append((batch, stream, rows))
            stream.batches_total += 1
            stream.lines_total += len(rows)
            stream.last_batch_at = now
            if self.metrics is not None:
                self.metrics.batches.labels(closed_by=closed_by).inc()
            start, cut = end, cut + 1
        left = None
        if local is not None and local.rows:
            first = max(start - stored, 0)
            left = Pending(received_at=local.received_at, rows=local.rows[first:])
        if not cut:
            return 0, left
        if chunks:
            await session.execute(
                delete(LogStreamChunk).where(LogStreamChunk.id.in_([c.id for c in chunks]))
            )
        if start < stored:  # the other replicas' lines left: back as one chunk
            session.add(
                LogStreamChunk(
                    tenant_id=stream.tenant_id,
                    stream_id=stream.id,
                    received_at=arrival(start),
                    lines=lines[start:stored],
                )
            )
        return cut, left

    async def cut_all(self, now: datetime | None = None) -> int:
        """Cut every active stream's batches (one transaction); with rule detectors only, the
        batches cut are analysed in it too (see the module docstring)."""
        now = now or self.clock()
        if self.processor.analyzers:
            return await self._cut_all(now, analyse=False)
        try:
            return await self._cut_all(now, analyse=True)
        except Exception:
            log.exception("log_batches_inline_analysis_failed")
            return await self._cut_all(now, analyse=False)

    async def _cut_all(self, now: datetime, *, analyse: bool) -> int:
        buffers = self.buffers
        taken: dict[uuid.UUID, Pending] = {}
        left: dict[uuid.UUID, Pending] = {}
        alerted = False
        analysed: list[uuid.UUID] = []
        self._cut = []
        try:
            async with self.sessions() as session:
                active = select(LogStream).where(LogStream.active.is_(True))
                streams = list(await session.scalars(active))
                cut = 0
                for stream in streams:
                    local = buffers.take(stream.id) if buffers is not None else None
                    if local is not None:
                        taken[stream.id] = local
                    done, rest = await self.cut(session, stream, now, local)
                    cut += done
                    if rest is not None:
                        left[stream.id] = rest
                stopped = select(LogStream.id).where(LogStream.active.is_(False))
                await session.execute(
                    delete(LogStreamChunk).where(LogStreamChunk.stream_id.in_(stopped))
                )
                if analyse and self._cut:
                    await session.flush()  # the batches, before their anomalies
                    for batch, stream, rows in self._cut[:MAX_BATCHES_PER_ROUND]:
                        outcome = await self.processor.process(
                            session, batch, stream, now=now, rows=rows
                        )
                        alerted = alerted or bool(outcome.alerts)
                        analysed.append(batch.id)
                        await asyncio.sleep(0)  # let requests in between batches
                await session.commit()
        except BaseException:
            self._fresh.clear()
            self._cut = []
            if buffers is not None:  # nothing was cut: every line taken goes back
                for stream_id, pending in taken.items():
                    buffers.give_back(stream_id, pending)
            raise
        self._cut = []
        for batch_id in analysed:
            del self._fresh[batch_id]
        self._analysed += len(analysed)
        if buffers is not None:
            for stream_id, pending in left.items():
                buffers.give_back(stream_id, pending)
        if alerted and self.on_alert is not None:
            self.on_alert()
        return cut

    async def process_pending(self, now: datetime | None = None) -> int:
        """Analyse the waiting batches (and any left ``processing`` by a stopped holder)."""
        async with self.sessions() as session:
            ids = list(
                await session.scalars(
                    select(LogBatch.id)
                    .where(LogBatch.status.in_(("pending", "processing")))
                    .order_by(LogBatch.created_at, LogBatch.id)
                    .limit(MAX_BATCHES_PER_ROUND)
                )
            )
        done = 0
        try:
            for batch_id in ids:
                await self._process_one(batch_id, now, self._fresh.pop(batch_id, None))
                done += 1
        finally:
            self._fresh.clear()
        return done

    async def _process_one(
        self, batch_id: uuid.UUID, now: datetime | None, rows: list[Row] | None
    ) -> None:
        async with self.sessions() as session:
            stmt = select(LogBatch).where(LogBatch.id == batch_id)
            if rows is not None:
                stmt = stmt.options(defer(LogBatch.lines))
            batch = await session.scalar(stmt)
            if batch is None:
                return
            stream = await session.get(LogStream, batch.stream_id)
            if stream is None:
                return
            batch.status = "processing"
            await session.commit()
            try:
                outcome = await self.processor.process(
                    session, batch, stream, now=now or self.clock(), rows=rows
                )
                await session.commit()
            except Exception as exc:
                log.exception("log_batch_failed", batch=str(batch_id))
                await session.rollback()
                batch = await session.get(LogBatch, batch_id, populate_existing=True)
                if batch is None:
                    return
                batch.status = "failed"
                batch.error = f"{exc!r}"[:2000]
                batch.processed_at = now or self.clock()
                await session.commit()
                if self.metrics is not None:
                    self.metrics.batches_done.labels(status="failed").inc()
                return
        if outcome.alerts and self.on_alert is not None:
            self.on_alert()

    async def gauges(self) -> None:
        """Refresh the gauges of active streams and open batches (all tenants)."""
        if self.metrics is None:
            return
        async with self.sessions() as session:
            active = await session.scalar(
                select(func.count()).select_from(LogStream).where(LogStream.active.is_(True))
            )
            rows = await session.execute(
                select(LogBatch.status, func.count())
                .where(LogBatch.status.in_(("pending", "processing")))
                .group_by(LogBatch.status)
            )
            counts: dict[str, int] = {str(row[0]): int(row[1]) for row in rows.all()}
        self.metrics.active_streams.set(active or 0)
        for status in ("pending", "processing"):
            self.metrics.open_batches.labels(status=status).set(counts.get(status, 0))

    async def run_once(self, now: datetime | None = None) -> tuple[int, int]:
        """One round: cut, then analyse; (batches cut, batches analysed)."""
        self._analysed = 0
        cut = await self.cut_all(now)
        done = self._analysed + await self.process_pending(now)
        await self.gauges()
        return cut, done
