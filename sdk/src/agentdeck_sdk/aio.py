"""The asyncio client: record from coroutines; a background task sends batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from agentdeck_sdk._core import BATCH_PATH, Backoff, Recorder, is_retryable
from agentdeck_sdk.client import _Metrics

log = logging.getLogger("agentdeck_sdk")


class AsyncClient(_Metrics):
    """Send metrics to agentdeck from asyncio code; the twin of :class:`~agentdeck_sdk.Client`.

    Recording (``gauge``, ``counter``, ``histogram``, ``timer``, ``record_llm_call``) is plain
    method calls that never wait; a task on the running loop sends batches, retrying 429, 5xx
    and connection errors with backoff and jitter. Use ``async with AsyncClient(...)`` or call
    :meth:`aclose` before the loop ends (there is no flush at interpreter exit for asyncio).
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        agent: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        max_buffer: int = 100_000,
        timeout: float = 10.0,
        backoff: Backoff | None = None,
        close_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._recorder = Recorder(agent, dict(labels or {}), max_buffer)
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._backoff = backoff or Backoff()
        self._close_timeout = close_timeout
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"X-API-Key": api_key, "User-Agent": "agentdeck-sdk"},
            timeout=timeout,
            transport=transport,
        )
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._wake = asyncio.Event()
            self._lock = asyncio.Lock()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="agentdeck-sdk")

    def _recorded(self) -> None:
        try:
            self._start()
        except RuntimeError:  # no running loop: the next flush sends it
            return
        if self._wake is not None and len(self._recorder.buffer) >= self._batch_size:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval)
            self._wake.clear()
            await self._drain(deadline=None)

    async def _drain(self, deadline: float | None) -> bool:
        assert self._lock is not None
        async with self._lock:
            self._recorder.snapshot()
            while True:
                batch = self._recorder.take(self._batch_size)
                if not batch:
                    return True
                try:
                    done = await self._send(batch, deadline)
                except asyncio.CancelledError:
                    self._recorder.give_back(batch)
                    raise
                if not done:
                    self._recorder.give_back(batch)
                    return False

    async def _send(self, batch: list[dict[str, Any]], deadline: float | None) -> bool:
        attempt = 0
        while True:
            retry_after: str | None = None
            try:
                response = await self._http.post(BATCH_PATH, json={"samples": batch})
            except httpx.TransportError as exc:
                log.debug("agentdeck: send failed: %r", exc)
            else:
                if response.status_code < 300:
                    try:
                        body = response.json()
                        self._recorder.sent += int(body["accepted"])
                        self._recorder.rejected += int(body["rejected"])
                    except (ValueError, KeyError, TypeError):
                        self._recorder.sent += len(batch)
                    return True
                if not is_retryable(response.status_code):
                    self._recorder.rejected += len(batch)
                    log.warning(
                        "agentdeck: batch refused (%s): %s",
                        response.status_code,
                        response.text[:300],
                    )
                    return True
                retry_after = response.headers.get("retry-after")
            delay = self._backoff.delay(attempt, retry_after)
            attempt += 1
            if deadline is not None and time.monotonic() + delay > deadline:
                return False
            await asyncio.sleep(delay)

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (same API as Client.flush)
        """Send everything recorded so far; True when the buffer was emptied in time."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        limit = self._close_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            done = await asyncio.wait_for(self._drain(deadline), limit)
        except TimeoutError:
            return False
        return done and self._recorder.pending() == 0

    async def aclose(self) -> None:
        """Stop the background task, flush within ``close_timeout``, close the connection."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        finally:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
