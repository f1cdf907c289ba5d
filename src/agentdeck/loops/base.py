"""The ``Loop`` base class: one periodic job of the server.

A subclass names itself, says how often it runs and implements :meth:`Loop.tick`. The
:class:`~agentdeck.loops.runner.LoopRunner` runs every loop as an asyncio task: it waits
``interval`` ± ``jitter`` between ticks, logs and counts failed ticks without stopping, and, for
loops with ``lease = True``, ticks only while this process holds the loop's lease in the state
database (so several replicas never do the same periodic work at once). A loop whose work
another loop produces can be woken early (:meth:`Loop.wake`), e.g. the dispatcher after the
evaluator changed an alert, so a notification does not wait for each loop's poll interval in
turn.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar


class Loop(ABC):
    """One background job. Override :meth:`tick`; keep each tick shorter than ``interval``."""

    #: Unique name: the metrics label and the lease name.
    name: ClassVar[str]
    #: Seconds between the end of one tick and the start of the next.
    interval: float = 60.0
    #: Fraction of ``interval`` added or removed at random, so replicas spread out.
    jitter: float = 0.1
    #: Tick only while holding the lease ``loop:<name>`` in the state database.
    lease: ClassVar[bool] = False
    #: Seconds before the first tick; ``None`` waits one (jittered) interval.
    initial_delay: float | None = None

    #: Set by the runner when it starts the loop; see :meth:`wake`.
    waker: Callable[[], None] | None = None

    @property
    def lease_ttl(self) -> float:
        """How long a lease lives without renewal: three intervals (at least 1 s)."""
        return max(3.0 * self.interval, 1.0)

    def wake(self) -> None:
        """Start the next tick now instead of after the interval (a no-op until started)."""
        if self.waker is not None:
            self.waker()

    @abstractmethod
    async def tick(self) -> None:
        """Do one round of work. Exceptions are logged and counted; the loop goes on."""

    async def close(self) -> None:  # noqa: B027 - an optional hook
        """Called once after the last tick, when the runner stops."""
