"""Replica output into the logs pipeline: what supervised agents print becomes log lines.

The fleet driver hands each batch of lines to a sink on the event loop (it must not block);
this bridge queues them (bounded: past ``max_pending`` lines the oldest batches are shed and
counted) and a task writes them through the log ingestor, one request per tenant: the line's
``agent`` field, and the labels ``agent_id``, ``replica`` and ``stream``. stderr lines are
``ERROR``, stdout lines ``INFO``; the service is the agent's name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from uuid import UUID

import structlog

from agentdeck.errors import DomainError
from agentdeck.fleet.driver import LogLine
from agentdeck.logs.ingest.entry import Decoded, RawEntry
from agentdeck.logs.ingest.service import LogIngestor

log = structlog.get_logger(__name__)

#: The ``path`` label of these lines on ``agentdeck_log_lines_ingested_total``.
PATH = "fleet"


def _entry(line: LogLine) -> RawEntry:
    return RawEntry(
        timestamp=line.at.isoformat(),
        severity="ERROR" if line.stream == "stderr" else "INFO",
        service=line.agent,
        message=line.line,
        agent=line.agent,
        # ``agent`` is a field of the line; the rest are its labels
        labels={k: v for k, v in line.labels.items() if k != "agent"},
    )


class FleetLogBridge:
    """Queues replica output and writes it through :class:`LogIngestor` in the background."""

    def __init__(self, ingestor: LogIngestor, *, max_pending: int = 100_000) -> None:
        self.ingestor = ingestor
        self.max_pending = max_pending
        self.pending: deque[Sequence[LogLine]] = deque()
        self.pending_lines = 0
        self.shed_lines = 0
        self.written_lines = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def sink(self, lines: Sequence[LogLine]) -> None:
        """The driver's line sink: queue and return at once."""
        if not lines:
            return
        self.pending.append(lines)
        self.pending_lines += len(lines)
        while self.pending_lines > self.max_pending and len(self.pending) > 1:
            dropped = self.pending.popleft()
            self.pending_lines -= len(dropped)
            self.shed_lines += len(dropped)
            self.ingestor.metrics.rejected.labels(reason="fleet_backlog").inc(len(dropped))
        self._wake.set()

    def start(self, add_sink: Callable[[Callable[[Sequence[LogLine]], None]], object]) -> None:
        add_sink(self.sink)
        self._task = asyncio.create_task(self._run(), name="fleet-log-bridge")

    async def flush(self) -> None:
        """Write everything queued now (the task's step; also used at shutdown)."""
        while self.pending:
            by_tenant: defaultdict[UUID, list[RawEntry | None]] = defaultdict(list)
            while self.pending:
                batch = self.pending.popleft()
                self.pending_lines -= len(batch)
                for line in batch:
                    by_tenant[line.tenant_id].append(_entry(line))
            for tenant_id, entries in by_tenant.items():
                try:
                    result = await self.ingestor.ingest(
                        tenant_id=tenant_id, decoded=Decoded(entries=entries), path=PATH
                    )
                except DomainError as exc:  # the store is down: these lines are lost
                    self.shed_lines += len(entries)
                    self.ingestor.metrics.rejected.labels(reason="store_unavailable").inc(
                        len(entries)
                    )
                    log.warning("fleet_log_lines_shed", lines=len(entries), error=str(exc))
                    continue
                self.written_lines += result.accepted
                if result.errors:  # the ingestor counted them by reason
                    first = result.errors[0]
                    log.warning(
                        "fleet_log_lines_refused",
                        lines=result.rejected,
                        field=first.field,
                        error=first.message,
                    )

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(DomainError):
            await self.flush()
