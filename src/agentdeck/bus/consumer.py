"""A background task that consumes one subscription: the lifecycle every bus listener needs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from agentdeck.bus.base import Bus, BusOverflow, Event, Subscription


class BusConsumer:
    """Subscribes to ``pattern`` on :meth:`start` and hands each event to ``on_event`` in a
    task named ``name``; when events were dropped for it (it fell behind), ``on_overflow``
    gets the :class:`BusOverflow` instead, and consuming goes on. :meth:`stop` closes the
    subscription and ends the task."""

    def __init__(
        self,
        bus: Bus,
        pattern: str,
        *,
        on_event: Callable[[Event], None],
        on_overflow: Callable[[BusOverflow], None],
        name: str,
    ) -> None:
        self.bus = bus
        self.pattern = pattern
        self.on_event = on_event
        self.on_overflow = on_overflow
        self.name = name
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._subscription = await self.bus.subscribe(self.pattern)
        self._task = asyncio.create_task(self._consume(self._subscription), name=self.name)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.aclose()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _consume(self, subscription: Subscription) -> None:
        while True:
            try:
                event = await anext(subscription)
            except StopAsyncIteration:
                return
            except BusOverflow as exc:
                self.on_overflow(exc)
                continue
            self.on_event(event)
