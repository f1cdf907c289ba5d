"""Per-store ingest state: validated series per tenant, counters and write listeners.

Everything here hangs off the store object (:func:`store_state`), so every app (and every
test app) has its own and nothing is global. The ingest core (:mod:`.ingest`) is the only
writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import math
import weakref
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import SampleBatch, SeriesKey, Store
from agentdeck.tsdb.names import is_valid_label_name, is_valid_metric_name

#: Validated label sets remembered per tenant (cleared when full).
LABEL_CACHE_MAX = 200_000

#: Why a sample is refused: (reason for /metrics, field at fault, message).
Invalid = tuple[str, str, str]

_uids = itertools.count()


class IngestStats:
    """Counters of one store's ingest, shown on ``/metrics``."""

    __slots__ = ("accepted", "rejected")

    def __init__(self) -> None:
        self.accepted = 0
        self.rejected: Counter[str] = Counter()


class Entry:
    """A validated series of one tenant (or why its name or labels are refused).

    Equal series share one entry (see :meth:`TenantSeries.entry`), so a request tells series
    apart by ``uid`` (unique per entry, never reused) instead of hashing label tuples again.
    ``gen`` equals the tenant's generation when the series is known to count as active (for
    the cap).
    """

    __slots__ = ("error", "gen", "key", "ok", "uid")

    def __init__(self, key: SeriesKey | None, error: Invalid | None) -> None:
        self.key = key
        self.error = error
        self.ok = error is None
        self.gen = -1
        self.uid = next(_uids)


@dataclass(slots=True)
class TenantSeries:
    """What this process knows of a tenant's series: validated label sets and the cap."""

    #: (name, labels as given) → entry, for callers that hand over label mappings.
    cache: dict[Any, Entry] = field(default_factory=dict)
    #: (name, label-set token) → entry, for callers that hand over columns with tokens.
    tokens: dict[tuple[str, Hashable], Entry] = field(default_factory=dict)
    canonical: dict[SeriesKey, Entry] = field(default_factory=dict)
    #: Entries whose ``gen`` equals this are known active; a reload starts a new generation.
    gen: int = 0
    #: The active series read from the store at the last reload.
    reloaded: set[SeriesKey] = field(default_factory=set)
    count: int = 0
    count_at: float = -math.inf
    reloaded_at: float = -math.inf
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def trim(self) -> None:
        """Forget validated label sets when the caches are full (they refill as needed)."""
        if len(self.cache) + len(self.tokens) > LABEL_CACHE_MAX:
            self.cache.clear()
            self.tokens.clear()
            self.canonical.clear()

    def entry(self, name: Any, labels: Mapping[str, Any] | None, settings: TSDBSettings) -> Entry:
        checked = check_series(name, labels, settings)
        if not isinstance(checked, SeriesKey):
            return Entry(None, checked)
        entry = self.canonical.get(checked)
        if entry is None:
            entry = self.canonical[checked] = Entry(checked, None)
            if checked in self.reloaded:
                entry.gen = self.gen
        return entry


WriteListener = Callable[[UUID, SampleBatch], None]


@dataclass(slots=True)
class StoreState:
    stats: IngestStats = field(default_factory=IngestStats)
    tenants: dict[UUID, TenantSeries] = field(default_factory=dict)
    metadata: dict[tuple[UUID, str], tuple[str, str, str]] = field(default_factory=dict)
    listeners: list[WriteListener] = field(default_factory=list)

    def tenant(self, tenant_id: UUID) -> TenantSeries:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            tenant = self.tenants[tenant_id] = TenantSeries()
        tenant.trim()
        return tenant


_STATES: weakref.WeakKeyDictionary[Any, StoreState] = weakref.WeakKeyDictionary()


def store_state(store: Store) -> StoreState:
    state = _STATES.get(store)
    if state is None:
        state = _STATES[store] = StoreState()
    return state


def add_write_listener(store: Store, listener: WriteListener) -> None:
    """Call ``listener(tenant_id, batch)`` after each batch written to ``store`` (it must be
    quick and not raise; its errors are logged and ignored)."""
    store_state(store).listeners.append(listener)


def ingest_stats(store: Store) -> IngestStats:
    """The ingest counters of ``store`` (one set per store, hence per app)."""
    return store_state(store).stats


class _IngestCollector(Collector):
    def __init__(self, stats: IngestStats) -> None:
        self._stats = stats

    def collect(self) -> Iterable[CounterMetricFamily]:
        accepted = CounterMetricFamily(
            "agentdeck_ingested_samples", "Samples accepted by ingest and written to the store."
        )
        accepted.add_metric([], float(self._stats.accepted))
        yield accepted
        rejected = CounterMetricFamily(
            "agentdeck_rejected_samples",
            "Samples refused by ingest, by reason.",
            labels=["reason"],
        )
        for reason, count in sorted(self._stats.rejected.items()):
            rejected.add_metric([reason], float(count))
        yield rejected


def exposition(store: Store) -> bytes:
    """``agentdeck_ingested_samples_total`` and ``agentdeck_rejected_samples_total{reason}``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_IngestCollector(ingest_stats(store)))
    return generate_latest(registry)


# --- validation ----------------------------------------------------------------------------


def check_series(
    name: Any, labels: Mapping[str, Any] | None, settings: TSDBSettings
) -> SeriesKey | Invalid:
    """The canonical series key, or why the name or labels are refused."""
    if not isinstance(name, str) or not name:
        return ("missing_name", "name", "metric name is missing")
    if not is_valid_metric_name(name):
        return (
            "invalid_name",
            "name",
            f"metric name {name!r} does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
        )
    if not labels:
        return SeriesKey(name, ())
    if not isinstance(labels, Mapping):
        return ("invalid_labels", "labels", "labels must be an object of strings")
    kept: list[tuple[str, str]] = []
    limit = settings.max_label_value_bytes
    for label, value in labels.items():
        if not isinstance(label, str) or not is_valid_label_name(label):
            if isinstance(label, str) and label.startswith("__"):
                message = f"label name {label!r} starts with '__', which is reserved"
            else:
                message = f"label name {label!r} does not match [a-zA-Z_][a-zA-Z0-9_]*"
            return ("invalid_label_name", f"labels.{label}", message)
        if not isinstance(value, str):
            return ("invalid_label_value", f"labels.{label}", "label value must be a string")
        if not value:
            continue
        if len(value) * 4 > limit:  # cheap bound first: a code point is at most 4 bytes
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > limit:
                return (
                    "label_value_too_long",
                    f"labels.{label}",
                    f"label value is {size} bytes; the limit is {limit}",
                )
        kept.append((label, value))
    if len(kept) > settings.max_labels:
        return (
            "too_many_labels",
            "labels",
            f"{len(kept)} labels; the limit is {settings.max_labels}",
        )
    kept.sort()
    return SeriesKey(name, tuple(kept))


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector during a burst of allocations.

    Decoding and validating a 10,000-sample batch creates tens of thousands of containers;
    with the collector on, that triggers dozens of young-generation collections per request
    and a full collection of the server's whole heap every few requests. Pausing it over the
    (synchronous, await-free) burst leaves one collection afterwards. Nothing here creates
    reference cycles, so no memory is held longer than the burst.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
