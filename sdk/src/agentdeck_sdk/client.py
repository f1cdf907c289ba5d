"""The synchronous client: record from any thread; a background thread sends batches."""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from agentdeck_sdk._core import (
    BATCH_PATH,
    DEFAULT_BUCKETS,
    LLM_DURATION_BUCKETS,
    TOKEN_BUCKETS,
    Backoff,
    Recorder,
    is_retryable,
)

log = logging.getLogger("agentdeck_sdk")


class _Metrics:
    """The recording API shared by :class:`Client` and the async client."""

    _recorder: Recorder

    def gauge(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record the current value of a gauge."""
        self._recorder.gauge(name, value, labels)
        self._recorded()

    def counter(self, name: str, inc: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add ``inc`` to a counter; the running total is sent (name it ``…_total``)."""
        self._recorder.counter(name, inc, labels)
        self._recorded()

    def histogram(
        self,
        name: str,
        value: float,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Observe ``value``; sent as ``name_bucket{le}``, ``name_sum`` and ``name_count``."""
        self._recorder.histogram(name, value, buckets, labels)
        self._recorded()

    @contextlib.contextmanager
    def timer(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Iterator[None]:
        """Time the block into histogram ``name`` (seconds), also when it raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.histogram(name, time.perf_counter() - started, buckets, labels)

    def record_llm_call(
        self,
        model: str,
        tokens_in: int,
        tokens_out: int,
        latency: float,
        cost: float = 0.0,
        *,
        operation: str = "chat",
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Record one LLM call (latency in seconds, cost in US dollars).

        Emits the OpenTelemetry GenAI histograms ``gen_ai_client_operation_duration_seconds``
        and ``gen_ai_client_token_usage`` (by ``gen_ai_token_type``) and the counters
        ``agent_tokens_total{type}`` and ``agent_cost_usd_total`` (see docs/metrics.md).
        """
        base = {**(labels or {}), "gen_ai_request_model": model}
        genai = {**base, "gen_ai_operation_name": operation}
        recorder = self._recorder
        recorder.histogram(
            "gen_ai_client_operation_duration_seconds", latency, LLM_DURATION_BUCKETS, genai
        )
        for kind, tokens in (("input", tokens_in), ("output", tokens_out)):
            recorder.histogram(
                "gen_ai_client_token_usage",
                tokens,
                TOKEN_BUCKETS,
                {**genai, "gen_ai_token_type": kind},
            )
            recorder.counter("agent_tokens_total", tokens, {**(labels or {}), "type": kind})
        if cost:
            recorder.counter("agent_cost_usd_total", cost, base)
        self._recorded()

    @property
    def dropped_samples(self) -> int:
        """Samples dropped because the buffer was full (the oldest go first)."""
        return self._recorder.dropped

    @property
    def rejected_samples(self) -> int:
        """Samples the server refused as invalid (they are not retried)."""
        return self._recorder.rejected

    @property
    def sent_samples(self) -> int:
        """Samples the server accepted."""
        return self._recorder.sent

    def _recorded(self) -> None:
        """Hook: a sample was recorded."""


class _Closer:
    """Flush-on-exit without keeping the client alive."""

    def __init__(self, client: Client) -> None:
        self._client = weakref.ref(client)

    def __call__(self) -> None:
        client = self._client()
        if client is not None:
            client.close()


class Client(_Metrics):
    """Send metrics to agentdeck from synchronous code.

    ``Client(url, api_key, agent="planner")`` labels every sample with ``agent``. Recording
    never blocks on the network: samples are buffered (at most ``max_buffer``; beyond it the
    oldest are dropped and counted in :attr:`dropped_samples`) and a background thread posts
    them every ``flush_interval`` seconds, or sooner when ``batch_size`` are waiting, to
    ``POST /api/v1/metrics/batch``. 429, 5xx and connection errors are retried with
    exponential backoff and jitter (``Retry-After`` honoured); the batch is kept meanwhile.
    :meth:`close` (also run at interpreter exit) sends what is left.
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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._recorder = Recorder(agent, dict(labels or {}), max_buffer)
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._backoff = backoff or Backoff()
        self._close_timeout = close_timeout
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"X-API-Key": api_key, "User-Agent": "agentdeck-sdk"},
            timeout=timeout,
            transport=transport,
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="agentdeck-sdk", daemon=True)
        self._thread.start()
        self._closer = _Closer(self)
        atexit.register(self._closer)

    def _recorded(self) -> None:
        if len(self._recorder.buffer) >= self._batch_size:
            self._wake.set()

    # --- sending ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            self._drain(deadline=None)

    def _drain(self, deadline: float | None) -> bool:
        """Send everything buffered; False when it gave up (stopping, or the deadline)."""
        with self._idle:
            self._busy = True
        try:
            self._recorder.snapshot()
            while True:
                batch = self._recorder.take(self._batch_size)
                if not batch:
                    return True
                if not self._send(batch, deadline):
                    self._recorder.give_back(batch)
                    return False
        finally:
            with self._idle:
                self._busy = False
                self._idle.notify_all()

    def _send(self, batch: list[dict[str, Any]], deadline: float | None) -> bool:
        attempt = 0
        while True:
            retry_after: str | None = None
            try:
                response = self._http.post(BATCH_PATH, json={"samples": batch})
            except httpx.TransportError as exc:
                log.debug("agentdeck: send failed: %r", exc)
            else:
                if response.status_code < 300:
                    self._accepted(response, len(batch))
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
            if self._stop.wait(delay) and deadline is None:
                return False

    def _accepted(self, response: httpx.Response, size: int) -> None:
        try:
            body = response.json()
            accepted, rejected = int(body["accepted"]), int(body["rejected"])
        except (ValueError, KeyError, TypeError):
            accepted, rejected = size, 0
        self._recorder.sent += accepted
        self._recorder.rejected += rejected
        if rejected:
            log.warning("agentdeck: %d samples refused: %s", rejected, body.get("errors", [])[:3])

    # --- public ----------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything recorded so far; True when the buffer was emptied.

        Waits for the background thread if it is sending, then sends in this thread, retrying
        until ``timeout`` (default: ``close_timeout``) runs out.
        """
        limit = self._close_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._idle:
            self._idle.wait_for(lambda: not self._busy, timeout=limit)
        return self._drain(deadline=deadline) and self._recorder.pending() == 0

    def close(self) -> None:
        """Flush (within ``close_timeout``) and stop the background thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._closer)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self._close_timeout)
        self._stop.clear()
        try:
            self.flush()
        finally:
            self._stop.set()
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
