"""Write coalescing for the VictoriaMetrics store: concurrent writes share one import request.

Each :meth:`ImportCoalescer.submit` queues one write's encoded ``/api/v1/import`` body (JSON
lines, so bodies join by concatenation). One task sends the queue: it joins the queued bodies,
up to ``max_request_samples`` samples, into one request and sends it; one request is in flight
at a time, so writes arriving meanwhile share the next one. While writers overlap (a write
arrived during the previous request), the next request also waits until its oldest write is
``linger`` seconds old (or a request's worth is queued), as PostgreSQL's ``commit_delay``
does; a lone writer never waits. Each caller's
``submit`` returns once the request holding its samples succeeded; when it failed, every
caller of that request gets its :class:`~agentdeck.tsdb.base.StoreError` (nothing of theirs
is acknowledged). A write is never split across requests.

Memory is bounded: while ``max_queued_samples`` samples are queued or in flight, a further
write is refused at once with a :class:`~agentdeck.tsdb.base.StoreError` (the store is
unavailable for now) instead of being buffered. :meth:`ImportCoalescer.close` sends what is
queued, then stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agentdeck.tsdb.base import StoreError


@dataclass(slots=True)
class _Write:
    body: bytes
    samples: int
    arrived: float  # loop time
    future: asyncio.Future[None]


class ImportCoalescer:
    """Coalesces writes into import requests sent by ``send(body)`` (raises on failure)."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        *,
        linger: float,
        max_request_samples: int,
        max_queued_samples: int,
    ) -> None:
        self._send = send
        self._linger_s = linger
        self._max_request = max_request_samples
        self._max_held = max_queued_samples
        self._pending: list[_Write] = []
        self._pending_samples = 0
        self._held = 0  # samples queued or in flight
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._submits = 0
        self.requests = 0  # import requests that succeeded
        self.failed_requests = 0

    @property
    def held_samples(self) -> int:
        """Samples queued or in flight."""
        return self._held

    async def submit(self, body: bytes, samples: int) -> None:
        """Queue one write; return when the request carrying it succeeded."""
        if self._closing:
            raise StoreError("the metrics store is closed")
        if self._held and self._held + samples > self._max_held:
            raise StoreError(
                f"VictoriaMetrics writes are backed up: {self._held} samples are waiting "
                f"(at most {self._max_held}, tsdb.victoriametrics_max_queued_samples)"
            )
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = loop.create_task(self._loop(), name="tsdb-victoriametrics-writer")
        self._submits += 1
        write = _Write(body, samples, loop.time(), loop.create_future())
        self._pending.append(write)
        self._pending_samples += samples
        self._held += samples
        if len(self._pending) == 1 or self._pending_samples >= self._max_request:
            self._wake.set()
        await write.future

    async def close(self) -> None:
        """Send what is queued (each caller answered as usual), then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        overlapping = False  # did a write arrive during the previous request?
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if overlapping:
                    await self._linger()
                group = self._take_group()
                submits = self._submits
                await self._send_group(group)
                overlapping = self._submits > submits
            if self._closing and not self._pending:
                return

    async def _linger(self) -> None:
        """Wait until the oldest queued write is ``linger`` old or a request's worth is queued."""
        if self._linger_s <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = self._pending[0].arrived + self._linger_s
        self._wake.clear()
        while self._pending_samples < self._max_request and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
            self._wake.clear()

    def _take_group(self) -> list[_Write]:
        taken = count = 0
        for write in self._pending:
            if count and taken + write.samples > self._max_request:
                break
            taken += write.samples
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        self._pending_samples -= taken
        return group

    async def _send_group(self, group: list[_Write]) -> None:
        body = group[0].body if len(group) == 1 else b"".join(w.body for w in group)
        try:
            await self._send(body)
        except Exception as exc:  # every caller of the request gets the failure
            self.failed_requests += 1
            for write in group:
                if not write.future.done():  # done: the caller was cancelled meanwhile
                    write.future.set_exception(exc)
        else:
            self.requests += 1
            for write in group:
                if not write.future.done():
                    write.future.set_result(None)
        finally:
            self._held -= sum(w.samples for w in group)
