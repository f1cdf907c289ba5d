"""The bus protocol and its event type."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

DEFAULT_SUBSCRIBER_QUEUE = 10_000


@dataclass(frozen=True, slots=True)
class Event:
    """One published event. ``seq`` increases by one per channel, starting at 1."""

    channel: str
    seq: int
    data: dict[str, Any]
    at: datetime


class BusClosed(RuntimeError):
    """The bus was closed."""


class BusOverflow(RuntimeError):
    """A subscriber fell behind and events were dropped for it (the publisher never waits).

    Raised once by the subscription's iterator; iteration may continue afterwards. Consumers
    that must not miss events use ``Bus.replay`` to fill the gap.
    """

    def __init__(self, dropped: int) -> None:
        super().__init__(f"{dropped} event(s) dropped for a slow subscriber")
        self.dropped = dropped


class Subscription(AsyncIterator[Event]):
    """Events on the channels matching one pattern, in publish order per channel.

    Bounded: when its queue is full, new events are dropped and the next read raises
    ``BusOverflow``. Ends (``StopAsyncIteration``) after ``aclose()`` or when the bus closes.
    """

    def __init__(self, pattern: str, maxsize: int) -> None:
        self.pattern = pattern
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=maxsize)
        self._dropped = 0
        self._closed = False

    def matches(self, channel: str) -> bool:
        return fnmatch.fnmatchcase(channel, self.pattern)

    def _deliver(self, event: Event) -> None:
        """Queue an event without ever waiting."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._dropped += 1

    def _end(self) -> None:
        if self._closed:
            return
        self._closed = True
        # wake a reader; when the queue is full the reader finds _closed after draining
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            raise BusOverflow(dropped)
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._end()


@runtime_checkable
class Bus(Protocol):
    """Publish/subscribe with per-channel sequence numbers and replay of durable channels."""

    async def publish(self, channel: str, data: dict[str, Any]) -> int:
        """Publish ``data`` (JSON-serialisable) on ``channel``; returns the event's seq.

        Never waits for subscribers.
        """
        ...

    async def subscribe(
        self, pattern: str, *, maxsize: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> Subscription:
        """Subscribe to channels matching a glob ``pattern`` (``*``, ``?``, ``[..]``).

        Events published after this returns are delivered.
        """
        ...

    async def replay(self, channel: str, after_seq: int) -> list[Event]:
        """Buffered events of a durable channel with seq > ``after_seq``, oldest first.

        The buffer keeps the last ``replay_size`` events; other channels return ``[]``.
        """
        ...

    async def close(self) -> None:
        """End every subscription and release connections. Idempotent."""
        ...


def is_durable(channel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(channel, p) for p in patterns)
