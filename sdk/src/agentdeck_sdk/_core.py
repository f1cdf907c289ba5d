"""What the sync and async clients share: the recorder (buffer and metric state) and retries.

The recorder keeps gauges as timestamped samples in a bounded buffer (the oldest are dropped
beyond ``max_buffer`` and counted) and counters and histograms as cumulative state per series,
turned into samples when a batch is cut. Memory therefore stays bounded by the buffer size and
the number of distinct series.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Default histogram buckets (seconds), Prometheus's defaults.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Buckets for LLM call durations (seconds), as the OpenTelemetry GenAI conventions advise.
LLM_DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
#: Buckets for token counts per call, as the OpenTelemetry GenAI conventions advise.
TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**i) for i in range(14))

BATCH_PATH = "/api/v1/metrics/batch"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

LabelKey = tuple[tuple[str, str], ...]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _format_le(bound: float) -> str:
    if math.isinf(bound):
        return "+Inf"
    return repr(float(bound))


@dataclass(slots=True)
class _Histogram:
    bounds: tuple[float, ...]
    counts: list[int]
    total: float = 0.0
    count: int = 0


@dataclass(slots=True)
class _Series:
    name: str
    labels: dict[str, str]


@dataclass
class Recorder:
    """Thread-safe metric state and the bounded outgoing buffer."""

    agent: str | None
    base_labels: dict[str, str]
    max_buffer: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    dropped: int = 0
    rejected: int = 0
    sent: int = 0
    counters: dict[tuple[str, LabelKey], float] = field(default_factory=dict)
    histograms: dict[tuple[str, LabelKey], _Histogram] = field(default_factory=dict)
    dirty: set[tuple[str, LabelKey]] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)
    typed: set[str] = field(default_factory=set)

    def labels_of(self, labels: Mapping[str, str] | None) -> LabelKey:
        merged = dict(self.base_labels)
        if self.agent:
            merged["agent"] = self.agent
        if labels:
            merged.update({str(k): str(v) for k, v in labels.items()})
        return tuple(sorted(merged.items()))

    def _push(self, sample: dict[str, Any]) -> None:
        # Caller holds the lock.
        if len(self.buffer) >= self.max_buffer:
            self.buffer.popleft()
            self.dropped += 1
        self.buffer.append(sample)

    def _sample(self, name: str, key: LabelKey, value: float, ts: int) -> dict[str, Any]:
        sample: dict[str, Any] = {"name": name, "value": value, "timestamp": ts}
        if key:
            sample["labels"] = dict(key)
        kind = self.types.get(name)
        if kind and name not in self.typed:
            sample["type"] = kind
            self.typed.add(name)
        return sample

    # --- recording -------------------------------------------------------------------------

    def gauge(self, name: str, value: float, labels: Mapping[str, str] | None) -> None:
        key = self.labels_of(labels)
        with self.lock:
            self.types.setdefault(name, "gauge")
            self._push(self._sample(name, key, float(value), _now_ms()))

    def counter(self, name: str, inc: float, labels: Mapping[str, str] | None) -> None:
        if inc < 0:
            raise ValueError("a counter only goes up: inc must be >= 0")
        key = (name, self.labels_of(labels))
        with self.lock:
            self.types.setdefault(name, "counter")
            self.counters[key] = self.counters.get(key, 0.0) + float(inc)
            self.dirty.add(key)

    def histogram(
        self,
        name: str,
        value: float,
        buckets: Iterable[float],
        labels: Mapping[str, str] | None,
    ) -> None:
        key = (name, self.labels_of(labels))
        with self.lock:
            state = self.histograms.get(key)
            if state is None:
                bounds = tuple(sorted(float(b) for b in buckets if not math.isinf(b)))
                state = self.histograms[key] = _Histogram(bounds, [0] * len(bounds))
                for suffix in ("_bucket", "_sum", "_count"):
                    self.types.setdefault(name + suffix, "histogram")
            for i, bound in enumerate(state.bounds):
                if value <= bound:
                    state.counts[i] += 1
            state.total += float(value)
            state.count += 1
            self.dirty.add(key)

    # --- cutting batches -------------------------------------------------------------------

    def snapshot(self) -> None:
        """Turn changed counters and histograms into samples (cumulative, timestamp now)."""
        with self.lock:
            if not self.dirty:
                return
            ts = _now_ms()
            for key in sorted(self.dirty):
                name, labels = key
                total = self.counters.get(key)
                if total is not None:
                    self._push(self._sample(name, labels, total, ts))
                    continue
                state = self.histograms[key]
                for bound, count in zip(state.bounds, state.counts, strict=True):
                    le = (*labels, ("le", _format_le(bound)))
                    self._push(self._sample(name + "_bucket", le, float(count), ts))
                le = (*labels, ("le", "+Inf"))
                self._push(self._sample(name + "_bucket", le, float(state.count), ts))
                self._push(self._sample(name + "_sum", labels, state.total, ts))
                self._push(self._sample(name + "_count", labels, float(state.count), ts))
            self.dirty.clear()

    def take(self, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            n = min(limit, len(self.buffer))
            return [self.buffer.popleft() for _ in range(n)]

    def give_back(self, batch: list[dict[str, Any]]) -> None:
        """Return an unsent batch to the front of the buffer (dropping the oldest if full)."""
        with self.lock:
            room = self.max_buffer - len(self.buffer)
            if room < len(batch):
                lost = len(batch) - max(room, 0)
                self.dropped += lost
                batch = batch[lost:]
            self.buffer.extendleft(reversed(batch))

    def pending(self) -> int:
        with self.lock:
            return len(self.buffer) + (1 if self.dirty else 0)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when given."""

    base: float = 0.2
    cap: float = 30.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.cap * 4)
        return random.uniform(0, min(self.cap, self.base * 2**attempt))  # noqa: S311


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def is_retryable(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500
