"""Replica output into the logs pipeline: what supervised agents and pods print becomes log lines.

The fleet driver hands each batch of lines to a sink on the event loop (it must not block);
this bridge bounds them and queues them, and a task writes them through the log ingestor, one
request per tenant: the line's ``agent`` field, and the labels ``agent_id``, ``replica``,
``stream`` and ``version`` (what the replica's deployment rolled out). stderr lines are
``ERROR``, stdout lines ``INFO``; the service is the agent's name.

Bounds, so that one chatty or runaway replica cannot flood the log store:

- a line longer than ``max_line_bytes`` (UTF-8) is cut there;
- each replica may send ``lines_per_second`` lines on average, in bursts of ``burst``: the
  lines beyond are dropped and counted (``agentdeck_log_lines_rejected_total{reason=
  "fleet_rate_limit"}``), and a ``WARNING`` line of that replica says how many were dropped,
  so the gap shows on the Logs page;
- past ``max_pending`` queued lines (the store is slower than the fleet) the oldest batches
  are shed and counted (``reason="fleet_backlog"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

import structlog

from agentdeck.errors import DomainError
from agentdeck.fleet.driver import LogLine
from agentdeck.logs.ingest.entry import Decoded, RawEntry
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.tokenbucket import TokenBucket

log = structlog.get_logger(__name__)

#: The ``path`` label of these lines on ``agentdeck_log_lines_ingested_total``.
PATH = "fleet"
#: How often dropped-line notices are written for replicas that went quiet after a flood.
NOTICE_SECONDS = 1.0
#: A replica's rate state is forgotten after this long without a line.
IDLE_SECONDS = 300.0


def _cut(line: LogLine, max_bytes: int) -> LogLine:
    raw = line.line.encode("utf-8")
    if len(raw) <= max_bytes:
        return line
    text = raw[:max_bytes].decode("utf-8", errors="ignore")
    return dataclasses.replace(line, line=text)


@dataclasses.dataclass(slots=True)
class _Replica:
    """One replica's rate: its bucket, the lines dropped since its last notice, and a line of
    it to file the notice under."""

    bucket: TokenBucket
    sample: LogLine
    dropped: int = 0
    seen: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class Notice(LogLine):
    """The bridge's own line about a replica (its dropped lines), filed under the replica."""


def _severity(line: LogLine) -> str:
    if isinstance(line, Notice):
        return "WARNING"
    return "ERROR" if line.stream == "stderr" else "INFO"


def _entry(line: LogLine) -> RawEntry:
    return RawEntry(
        timestamp=line.at.isoformat(),
        severity=_severity(line),
        service=line.agent,
        message=line.line,
        agent=line.agent,
        # ``agent`` is a field of the line; the rest are its labels
        labels={k: v for k, v in line.labels.items() if k != "agent"},
    )


class FleetLogBridge:
    """Queues replica output and writes it through :class:`LogIngestor` in the background."""

    def __init__(
        self,
        ingestor: LogIngestor,
        *,
        max_pending: int = 100_000,
        lines_per_second: float = 1000.0,
        burst: float = 2000.0,
        max_line_bytes: int = 16 * 1024,
        clock: Callable[[], float] = time.monotonic,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        """``on_failure(exc)``: told of each write the store refused (lines shed)."""
        self.ingestor = ingestor
        self.on_failure = on_failure
        self.max_pending = max_pending
        self.lines_per_second = lines_per_second
        self.burst = max(burst, 1.0)
        self.max_line_bytes = max_line_bytes
        self.clock = clock
        self.pending: deque[Sequence[LogLine]] = deque()
        self.pending_lines = 0
        self.shed_lines = 0
        self.dropped_lines = 0
        self.written_lines = 0
        self._replicas: dict[tuple[UUID, str], _Replica] = {}
        self._pruned = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _bounded(self, lines: Sequence[LogLine]) -> list[LogLine]:
        """The lines each replica's rate allows, cut to the length cap; a notice first for a
        replica whose earlier lines were dropped."""
        now = self.clock()
        kept: list[LogLine] = []
        dropped = 0
        for line in lines:
            key = (line.agent_id, line.replica)
            state = self._replicas.get(key)
            if state is None:
                bucket = TokenBucket.full(self.lines_per_second, self.burst, now)
                state = self._replicas[key] = _Replica(bucket, line)
            state.seen = now
            if state.bucket.take(now) > 0:
                state.dropped += 1
                dropped += 1
                continue
            if state.dropped:
                kept.append(self._notice(state))
            kept.append(_cut(line, self.max_line_bytes))
        if dropped:
            self.dropped_lines += dropped
            self.ingestor.metrics.rejected.labels(reason="fleet_rate_limit").inc(dropped)
        return kept

    def _notice(self, state: _Replica) -> LogLine:
        count, state.dropped = state.dropped, 0
        fields = {f.name: getattr(state.sample, f.name) for f in dataclasses.fields(LogLine)}
        fields["at"] = datetime.now(UTC)
        fields["line"] = (
            f"agentdeck: {count} lines of this replica were dropped (more than "
            f"fleet.log_lines_per_second = {self.lines_per_second:g} per second)"
        )
        return Notice(**fields)

    def _notices(self) -> list[LogLine]:
        """Notices of replicas that went quiet with dropped lines; idle replicas forgotten."""
        now = self.clock()
        out = [self._notice(s) for s in self._replicas.values() if s.dropped]
        if now - self._pruned >= IDLE_SECONDS:
            self._pruned = now
            for key in [k for k, s in self._replicas.items() if now - s.seen > IDLE_SECONDS]:
                del self._replicas[key]
        return out

    def sink(self, lines: Sequence[LogLine]) -> None:
        """The driver's line sink: bound, queue and return at once."""
        lines = self._bounded(lines)
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
        notices = self._notices()
        if notices:
            self.pending.append(notices)
            self.pending_lines += len(notices)
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
                    if self.on_failure is not None:
                        self.on_failure(exc)
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
            # woken by new lines; at least every NOTICE_SECONDS for dropped-line notices
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), NOTICE_SECONDS)
            self._wake.clear()
            await self.flush()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(DomainError):
            await self.flush()
