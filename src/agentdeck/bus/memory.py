"""The in-process bus: fan-out to bounded subscriber queues in this process."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agentdeck.bus.base import (
    DEFAULT_SUBSCRIBER_QUEUE,
    BusClosed,
    Event,
    Subscription,
    is_durable,
)


class MemoryBus:
    """One process only. Durable channels (matching ``durable``) keep the last
    ``replay_size`` events in memory for ``replay``."""

    def __init__(self, *, replay_size: int = 100, durable: Sequence[str] = ()) -> None:
        self.replay_size = replay_size
        self.durable = tuple(durable)
        self._seq: dict[str, int] = defaultdict(int)
        self._buffers: dict[str, deque[Event]] = {}
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    async def publish(self, channel: str, data: dict[str, Any]) -> int:
        if self._closed:
            raise BusClosed("the bus is closed")
        self._seq[channel] += 1
        event = Event(channel=channel, seq=self._seq[channel], data=data, at=datetime.now(UTC))
        if is_durable(channel, self.durable):
            buffer = self._buffers.get(channel)
            if buffer is None:
                buffer = self._buffers[channel] = deque(maxlen=self.replay_size)
            buffer.append(event)
        for subscription in list(self._subscriptions):
            if subscription.matches(channel):
                subscription._deliver(event)
        return event.seq

    async def subscribe(
        self, pattern: str, *, maxsize: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> Subscription:
        if self._closed:
            raise BusClosed("the bus is closed")
        subscription = _MemorySubscription(self, pattern, maxsize)
        self._subscriptions.add(subscription)
        return subscription

    async def replay(self, channel: str, after_seq: int) -> list[Event]:
        buffer = self._buffers.get(channel)
        if buffer is None:
            return []
        return [event for event in buffer if event.seq > after_seq]

    async def close(self) -> None:
        self._closed = True
        for subscription in list(self._subscriptions):
            subscription._end()
        self._subscriptions.clear()

    def _forget(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, pattern: str, maxsize: int) -> None:
        super().__init__(pattern, maxsize)
        self._bus = bus

    async def aclose(self) -> None:
        self._bus._forget(self)
        self._end()
