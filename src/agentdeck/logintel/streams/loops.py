"""The background loops of log streams.

* :class:`StreamFlushLoop` — on every replica (not leased): writes the lines its streams
  matched to the state database, every ``logstreams.flush_interval_seconds`` or as soon as a
  stream's buffer holds a batch; then wakes the batch loop. On the lease holder young lines
  stay in memory for the batch loop (:mod:`.buffers`); on stop every line is written.
* :class:`LogBatchLoop` — leased (one replica): cuts batches (from the chunks and its own
  replica's lines in memory) and analyses them.
* :class:`LogIntelCleanupLoop` — leased: deletes batches and anomalies past
  ``logstreams.retention_days`` (anomalies whose alert is unresolved stay).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.logintel.streams import service
from agentdeck.logintel.streams.batcher import Batcher
from agentdeck.logintel.streams.buffers import StreamBuffers
from agentdeck.loops.base import Loop

log = structlog.get_logger(__name__)


class StreamFlushLoop(Loop):
    name = "logintel_stream_flush"
    lease = False
    jitter = 0.0
    initial_delay = 0.0

    def __init__(
        self,
        *,
        buffers: StreamBuffers,
        sessions: async_sessionmaker[AsyncSession],
        interval: float,
        after_flush: Callable[[], None] | None = None,
    ) -> None:
        self.buffers = buffers
        self.sessions = sessions
        self.interval = interval
        self.after_flush = after_flush
        buffers.on_full = self.wake

    async def tick(self) -> None:
        written = await self.buffers.flush(self.sessions)
        if (written or self.buffers.ready()) and self.after_flush is not None:
            self.after_flush()

    async def close(self) -> None:
        """The server stops: every line still buffered (held ones too) goes to the database,
        where the next holder cuts it."""
        await self.buffers.flush(self.sessions, everything=True)


class LogBatchLoop(Loop):
    name = "logintel_batches"
    lease = True
    jitter = 0.05

    def __init__(self, *, batcher: Batcher, interval: float) -> None:
        self.batcher = batcher
        self.interval = interval

    async def tick(self) -> None:
        if self.batcher.buffers is not None:  # ticking means holding the lease
            self.batcher.buffers.hold(self.lease_ttl)
        await self.batcher.run_once()


class LogIntelCleanupLoop(Loop):
    name = "logintel_cleanup"
    lease = True
    jitter = 0.05

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        retention_days: int,
        interval: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.retention_days = retention_days
        self.interval = interval
        self.clock = clock

    async def tick(self) -> None:
        async with self.sessions() as session:
            batches, anomalies = await service.cleanup(
                session, retention_days=self.retention_days, now=self.clock()
            )
            await session.commit()
        if batches or anomalies:
            log.info("log batches cleaned up", batches=batches, anomalies=anomalies)
