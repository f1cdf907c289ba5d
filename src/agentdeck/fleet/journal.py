"""What every fleet driver keeps for the fleet: numbered events per workload, the change
listeners, and the sinks that get replicas' output lines.

Both drivers (``local``, ``kubernetes``) hold one ``Journal`` and one ``LineSinks``; the fleet
reads ``events`` after the last sequence number it saw, and ``epoch`` tells it when the
numbering started over (a new driver instance).
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from agentdeck.fleet.driver import ChangeListener, DriverEvent, LineSink, LogLine

log = structlog.get_logger(__name__)

#: Events kept per workload (the oldest go first).
EVENTS_PER_WORKLOAD = 1000

_T = TypeVar("_T")


def _added(items: list[_T], item: _T) -> Callable[[], None]:
    """Append ``item`` to ``items``; the answer removes it again (a second call does nothing)."""
    items.append(item)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            items.remove(item)

    return remove


class Journal:
    """Events per workload, numbered in one sequence per driver instance, and the listeners
    told when a workload changed."""

    def __init__(self, *, per_workload: int = EVENTS_PER_WORKLOAD) -> None:
        self.epoch = secrets.token_hex(6)
        self._per_workload = per_workload
        self._seq = 0
        self._events: dict[uuid.UUID, deque[DriverEvent]] = {}
        self._listeners: list[ChangeListener] = []

    def emit(
        self,
        agent_id: uuid.UUID,
        kind: str,
        message: str,
        replica: str | None,
        spec_hash: str | None,
    ) -> DriverEvent:
        """Record one event of the agent's workload (listeners are not told: ``changed``)."""
        self._seq += 1
        event = DriverEvent(
            seq=self._seq,
            at=datetime.now(UTC),
            agent_id=agent_id,
            kind=kind,
            message=message,
            replica=replica,
            spec_hash=spec_hash,
        )
        events = self._events.get(agent_id)
        if events is None:
            events = self._events[agent_id] = deque(maxlen=self._per_workload)
        events.append(event)
        return event

    def events(self, agent_id: uuid.UUID, *, after: int = 0) -> list[DriverEvent]:
        return [e for e in self._events.get(agent_id, ()) if e.seq > after]

    def forget(self, agent_id: uuid.UUID) -> None:
        """Drop the events of a workload that is gone."""
        self._events.pop(agent_id, None)

    def add_listener(self, listener: ChangeListener) -> Callable[[], None]:
        """Tell ``listener`` of every changed workload; the answer removes it again."""
        return _added(self._listeners, listener)

    def changed(self, agent_id: uuid.UUID) -> None:
        for listener in list(self._listeners):
            try:
                listener(agent_id)
            except Exception:
                log.exception("fleet change listener failed")


class LineSinks:
    """Where replicas' output lines go (the logs pipeline); one failing sink stops no other."""

    def __init__(self) -> None:
        self._sinks: list[LineSink] = []

    def add(self, sink: LineSink) -> Callable[[], None]:
        """Add ``sink``; the answer removes it again."""
        return _added(self._sinks, sink)

    def deliver(self, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        for sink in list(self._sinks):
            try:
                sink(lines)
            except Exception:  # one failing sink must not stop the others or the tailing
                log.exception("fleet log sink failed")
