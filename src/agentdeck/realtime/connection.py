"""One WebSocket connection: its subscriptions, bounded send queue, coalescing and heartbeat.

A ``logs`` subscription (the live tail) holds matching lines in a buffer of its own, bounded
in lines and bytes, and sends them in frames while the send queue is less than half full; a
client that reads slower than lines arrive loses the oldest buffered lines, and the next frame
says how many with ``dropped``. The connection is never closed for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from starlette.websockets import WebSocket, WebSocketState

from agentdeck.bus.base import Event
from agentdeck.identity.principal import Principal
from agentdeck.logs.schemas import Row, row_line, row_record
from agentdeck.logstore.base import LogQuery
from agentdeck.logstore.logql import matches
from agentdeck.realtime.protocol import (
    CLOSE_ACCESS_ENDED,
    CLOSE_HEARTBEAT_TIMEOUT,
    CLOSE_SLOW_CONSUMER,
    ChannelRef,
    MetricsFilter,
    close_reason,
    dump,
    event_frame,
    series_key,
)
from agentdeck.tokenbucket import TokenBucket

if TYPE_CHECKING:
    from agentdeck.realtime.hub import Hub

log = structlog.get_logger(__name__)
CLOSE_TIMEOUT_SECONDS = 5.0
#: Bytes of messages a live-tail subscription buffers at most (besides its line cap).
TAIL_MAX_BYTES = 8 * 1024 * 1024
#: How soon a tail waiting for room in the send queue tries again (seconds).
TAIL_RETRY_SECONDS = 0.05


@dataclass(eq=False)
class ChannelSubscription:
    """A connection's subscription to one channel."""

    ref: ChannelRef
    internal: str
    filter: MetricsFilter | None = None
    interval: float = 1.0
    last_seq: int = 0
    # events that arrive while a snapshot or a replay is being prepared (None: live)
    held: list[Event] | None = field(default_factory=list)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending_seq: int = 0
    timer: asyncio.TimerHandle | None = None
    bucket: TokenBucket | None = None  # metrics only: set when the subscription goes live
    # logs only: the query lines must match (None: all), and the lines waiting to be sent
    log_query: LogQuery | None = None
    tail: deque[Row] = field(default_factory=deque)
    since_ns: int | None = None  # replay the lines after it in the snapshot
    replayed: set[str] = field(default_factory=set)  # their ids, not sent again live
    tail_bytes: int = 0
    dropped: int = 0


#: Samples of one metrics event with their series keys (computed once per event by the hub).
KeyedSamples = list[tuple[str, dict[str, Any]]]


class Connection:
    def __init__(
        self,
        hub: Hub,
        websocket: WebSocket,
        principal: Principal,
        queue_size: int,
        expires_at: datetime | None = None,
    ) -> None:
        self.hub = hub
        self.websocket = websocket
        # who is connected; the hub replaces it when the role changes, closes on lost access
        self.principal = principal
        self.expires_at = expires_at  # of the credential (token or API key): closed then
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.subscriptions: dict[str, ChannelSubscription] = {}  # by internal channel
        self.last_seen = time.monotonic()
        self.close_code: int | None = None
        self.close_text = ""
        self._closing = asyncio.Event()

    # --- sending -------------------------------------------------------------------------

    def enqueue(self, frame: str) -> bool:
        """Queue a frame without waiting; False (and the connection closes) when full."""
        if self._closing.is_set():
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.request_close(
                CLOSE_SLOW_CONSUMER,
                "send queue overflow: reconnect and resume from your last seq",
            )
            return False
        return True

    def send(self, frame: dict[str, Any]) -> bool:
        return self.enqueue(dump(frame))

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def request_close(self, code: int, reason: str) -> None:
        if not self._closing.is_set():
            self.close_code, self.close_text = code, reason
            self._closing.set()

    # --- events from the hub -------------------------------------------------------------

    def deliver(self, subscription: ChannelSubscription, event: Event) -> None:
        if not _admit(subscription, event):
            return
        if subscription.ref.kind == "metrics":
            self._coalesce(subscription, event)
        elif subscription.ref.kind == "logs":
            rows = event.data.get("lines")
            if isinstance(rows, list):
                self._tail(subscription, self._matching(subscription, rows))
        else:
            self.enqueue(
                event_frame(subscription.ref.name, event.seq, event.data, event.at.isoformat())
            )

    def deliver_samples(
        self, subscription: ChannelSubscription, event: Event, matched: KeyedSamples
    ) -> None:
        """A metrics event whose samples the hub already matched against this subscription's
        filter (the hub routes by an index instead of asking every subscription)."""
        if not _admit(subscription, event):
            return
        self._add_pending(subscription, event.seq, matched)

    # --- the live tail ----------------------------------------------------------------------

    def _matching(self, subscription: ChannelSubscription, rows: list[Row]) -> list[Row]:
        query = subscription.log_query
        if query is None:
            return rows
        tenant = self.principal.tenant_id
        return [row for row in rows if matches(query, row_record(tenant, row))]

    def deliver_lines(
        self, subscription: ChannelSubscription, event: Event, matched: list[Row]
    ) -> None:
        """A logs event whose lines the hub already matched against this subscription."""
        if not _admit(subscription, event):
            return
        self._tail(subscription, matched)

    def _tail(self, subscription: ChannelSubscription, rows: list[Row]) -> None:
        """Buffer ``rows``, dropping the oldest beyond the caps, and send what fits."""
        if subscription.replayed:
            rows = [row for row in rows if row[0] not in subscription.replayed]
        if not rows:
            return
        tail = subscription.tail
        cap = self.hub.tail_lines
        for row in rows:
            tail.append(row)
            subscription.tail_bytes += len(row[5])
        dropped = 0
        while len(tail) > cap or (subscription.tail_bytes > TAIL_MAX_BYTES and len(tail) > 1):
            subscription.tail_bytes -= len(tail.popleft()[5])
            dropped += 1
        if dropped:
            subscription.dropped += dropped
            self.hub.tail_dropped(dropped)
        if subscription.held is None and subscription.timer is None:
            self._send_tail(subscription)

    def _send_tail(self, subscription: ChannelSubscription) -> None:
        """Frames of buffered lines while the send queue is under half full; otherwise try
        again shortly (lines keep arriving into the bounded buffer meanwhile)."""
        subscription.timer = None
        tail = subscription.tail
        size = self.hub.tail_frame_lines
        while tail and not self._closing.is_set():
            if self.queue.qsize() >= self.queue.maxsize // 2:
                if subscription.timer is None:
                    loop = asyncio.get_running_loop()
                    subscription.timer = loop.call_later(
                        TAIL_RETRY_SECONDS, self._send_tail, subscription
                    )
                return
            lines: list[dict[str, Any]] = []
            while tail and len(lines) < size:
                row = tail.popleft()
                subscription.tail_bytes -= len(row[5])
                lines.append(row_line(row))
            data: dict[str, Any] = {"lines": lines}
            if subscription.dropped:
                data["dropped"], subscription.dropped = subscription.dropped, 0
            self.enqueue(event_frame(subscription.ref.name, subscription.last_seq, data))

    def release(self, subscription: ChannelSubscription) -> None:
        """Go live: deliver what was held while the snapshot or replay was prepared."""
        held, subscription.held = subscription.held or [], None
        if subscription.ref.kind == "metrics":
            subscription.bucket = TokenBucket.after_snapshot(
                subscription.interval, self.hub.settings.metrics_burst, self.hub.clock()
            )
        for event in held:
            self.deliver(subscription, event)
        subscription.replayed = set()

    def _coalesce(self, subscription: ChannelSubscription, event: Event) -> None:
        samples = event.data.get("samples")
        if not isinstance(samples, list):
            return
        flt = subscription.filter
        matched = [
            (series_key(sample), sample)
            for sample in samples
            if isinstance(sample, dict) and (flt is None or flt.matches(sample))
        ]
        self._add_pending(subscription, event.seq, matched)

    def _add_pending(
        self, subscription: ChannelSubscription, seq: int, matched: KeyedSamples
    ) -> None:
        """Fold samples into the next frame, which goes at once when the subscription's token
        bucket has a token, otherwise as soon as it has one (holding the latest sample of each
        series by then)."""
        pending = subscription.pending
        for key, sample in matched:
            pending[key] = sample
        subscription.pending_seq = seq
        if not pending:
            return
        if subscription.bucket is not None:  # None: not live yet (release() sets it)
            self._try_send(subscription)

    def _flush(self, subscription: ChannelSubscription) -> None:
        """The timer of a subscription that waits for a token or for room in the queue."""
        subscription.timer = None
        if subscription.pending and not self._closing.is_set():
            self._try_send(subscription)

    def _try_send(self, subscription: ChannelSubscription) -> None:
        """Send the pending frame if the queue has room and the bucket a token; otherwise make
        sure a timer tries again when the token is due."""
        assert subscription.bucket is not None
        if self.queue.qsize() >= self.queue.maxsize // 2:
            # keep coalescing rather than crowd out events that must not be dropped
            wait = subscription.interval
        else:
            wait = subscription.bucket.take(self.hub.clock())
        timer = subscription.timer
        if wait > 0:
            if timer is None:
                loop = asyncio.get_running_loop()
                subscription.timer = loop.call_later(wait, self._flush, subscription)
            return
        if timer is not None:
            timer.cancel()  # the token came before the timer fired
            subscription.timer = None
        samples = list(subscription.pending.values())
        subscription.pending.clear()
        self.enqueue(
            event_frame(subscription.ref.name, subscription.pending_seq, {"samples": samples})
        )

    def drop(self, subscription: ChannelSubscription) -> None:
        if subscription.timer is not None:
            subscription.timer.cancel()
            subscription.timer = None
        subscription.pending.clear()
        subscription.tail.clear()
        subscription.tail_bytes = 0

    # --- the connection's life -----------------------------------------------------------

    async def run(self) -> None:
        """Read, send and watch the heartbeat until the client leaves or a close is due."""
        tasks = {
            asyncio.create_task(self._read_loop(), name="ws-read"),
            asyncio.create_task(self._send_loop(), name="ws-send"),
            asyncio.create_task(self._heartbeat_loop(), name="ws-heartbeat"),
            asyncio.create_task(self._closing.wait(), name="ws-closing"),
        }
        if self.expires_at is not None:
            tasks.add(asyncio.create_task(self._expiry(self.expires_at), name="ws-expiry"))
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                log.debug("websocket task ended", error=repr(result))
        if self.close_code is not None:
            await self.close(self.close_code, self.close_text)

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.websocket.close(code=code, reason=close_reason(reason)),
                CLOSE_TIMEOUT_SECONDS,
            )

    async def _read_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            self.last_seen = time.monotonic()
            text = message.get("text")
            if text is None:
                self.send({"type": "error", "code": "invalid-message", "message": "send JSON text"})
                continue
            await self.hub.handle(self, text)

    async def _send_loop(self) -> None:
        while True:
            frame = await self.queue.get()
            await self.websocket.send_text(frame)

    async def _expiry(self, expires_at: datetime) -> None:
        """Close when the credential expires (a connection is authenticated once, at open)."""
        await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
        self.request_close(CLOSE_ACCESS_ENDED, "the credential expired: renew it and reconnect")

    async def _heartbeat_loop(self) -> None:
        interval = self.hub.settings.heartbeat_seconds
        while True:
            await asyncio.sleep(interval)
            silent = time.monotonic() - self.last_seen
            if silent > 2 * interval:
                self.request_close(
                    CLOSE_HEARTBEAT_TIMEOUT,
                    f"heartbeat timeout: no message for {silent:.1f} s",
                )
                return
            self.send({"type": "heartbeat"})


def _admit(subscription: ChannelSubscription, event: Event) -> bool:
    """Whether to send ``event`` now: not while the subscription's snapshot or replay is
    prepared (the event is held for after it), nor when it was sent already (replay and live
    overlap); an admitted event becomes the subscription's latest."""
    if subscription.held is not None:
        subscription.held.append(event)
        return False
    if event.seq <= subscription.last_seq:
        return False
    subscription.last_seq = event.seq
    return True
