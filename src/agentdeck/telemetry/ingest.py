"""The shared ingest core: validate samples, enforce the series cap, write one durable batch.

Every ingest path (JSON batch, per-agent report, OTLP/HTTP, remote write, scraping) turns its
wire format into samples and calls :func:`ingest` (or, where it already holds plain columns,
:func:`ingest_rows`). The core

* validates each sample against the Prometheus name and label rules and the tenant limits
  (``settings.tsdb``) and reports every refused sample as a :class:`SampleError` naming the
  sample's ``index``, the ``field`` at fault and why;
* keeps the valid samples (a bad sample never sinks its batch);
* enforces the per-tenant active-series cap: series the tenant already has keep flowing, new
  ones beyond ``max_active_series`` are refused with a message naming the cap;
* writes the valid samples as one :class:`~agentdeck.tsdb.base.SampleBatch` (durable when
  :meth:`Store.write` returns);
* upserts metric metadata (type, unit, help) in the caller's session without committing;
* counts accepted and refused samples for ``/metrics`` (:func:`exposition`).

Per-store bookkeeping (validated label sets and known series per tenant, counters) lives in a
:class:`_StoreState` attached to the store object, so every app (and every test app) has its
own and nothing is global.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import numpy as np
import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.db.base import utcnow
from agentdeck.identity.service import effective_retention_days
from agentdeck.settings import TSDBSettings
from agentdeck.telemetry.models import MetricMetadata, MetricType
from agentdeck.tsdb.base import (
    ACTIVE_WINDOW_MS,
    MAX_TIMESTAMP_MS,
    Matcher,
    MatchOp,
    SampleBatch,
    SeriesKey,
    Store,
)
from agentdeck.tsdb.names import METRIC_NAME_LABEL, is_valid_label_name, is_valid_metric_name

log = structlog.get_logger(__name__)

#: How long a cached active-series count is trusted before it is read from the store again.
COUNT_TTL_SECONDS = 30.0
#: How often (at most) a tenant's known series are reloaded from the store near the cap.
RELOAD_INTERVAL_SECONDS = 5.0
#: The shortest retention a tenant can have (one day): younger samples need no tenant lookup.
MIN_RETENTION_MS = 86_400_000
_NAN_MESSAGE = "value is NaN, which cannot be stored"
#: Validated label sets remembered per tenant (cleared when full).
_LABEL_CACHE_MAX = 200_000


@dataclass(slots=True)
class RawSample:
    """One sample as a wire format delivered it (not validated yet).

    ``index`` is the sample's position in the request (several samples may share one when
    they come from one data point, as a histogram's buckets do); errors carry it back.
    ``timestamp_ms`` ``None`` means "now".
    """

    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None
    index: int


@dataclass(slots=True)
class MetricMeta:
    """Metadata of a metric family: type, unit and help (the newest report wins)."""

    name: str
    type: MetricType
    unit: str = ""
    help: str = ""


@dataclass(slots=True)
class SampleError:
    """Why the sample at ``index`` was refused; ``field`` names the part at fault."""

    index: int
    field: str
    message: str


@dataclass(slots=True)
class IngestResult:
    accepted: int
    rejected: int
    errors: list[SampleError]


# --- per-store state -----------------------------------------------------------------------


class IngestStats:
    """Counters of one store's ingest, shown on ``/metrics``."""

    __slots__ = ("accepted", "rejected")

    def __init__(self) -> None:
        self.accepted = 0
        self.rejected: Counter[str] = Counter()


class _Entry:
    """A validated series of one tenant, cached by its labels as a wire format gave them.

    Equal series share one entry (see :meth:`_TenantSeries.entry`), so a request can tell
    series apart by ``id(entry)`` instead of hashing label tuples again. ``gen`` equals the
    tenant's generation when the series is known to count as active (for the cap).
    """

    __slots__ = ("error", "gen", "key")

    def __init__(self, key: SeriesKey | None, error: Invalid | None) -> None:
        self.key = key
        self.error = error
        self.gen = -1


@dataclass(slots=True)
class _TenantSeries:
    """What this process knows of a tenant's series: validated label sets and the cap."""

    #: (name, labels as given) → entry; cleared when it grows past _LABEL_CACHE_MAX.
    cache: dict[Any, _Entry] = field(default_factory=dict)
    canonical: dict[SeriesKey, _Entry] = field(default_factory=dict)
    #: Entries whose ``gen`` equals this are known active; a reload starts a new generation.
    gen: int = 0
    #: The active series read from the store at the last reload.
    reloaded: set[SeriesKey] = field(default_factory=set)
    count: int = 0
    count_at: float = -math.inf
    reloaded_at: float = -math.inf
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def entry(self, name: Any, labels: Mapping[str, Any] | None, settings: TSDBSettings) -> _Entry:
        checked = _check_series(name, labels, settings)
        if not isinstance(checked, SeriesKey):
            return _Entry(None, checked)
        entry = self.canonical.get(checked)
        if entry is None:
            entry = self.canonical[checked] = _Entry(checked, None)
            if checked in self.reloaded:
                entry.gen = self.gen
        return entry


WriteListener = Callable[[UUID, SampleBatch], None]


@dataclass(slots=True)
class _StoreState:
    stats: IngestStats = field(default_factory=IngestStats)
    tenants: dict[UUID, _TenantSeries] = field(default_factory=dict)
    metadata: dict[tuple[UUID, str], tuple[str, str, str]] = field(default_factory=dict)
    listeners: list[WriteListener] = field(default_factory=list)


_STATES: weakref.WeakKeyDictionary[Any, _StoreState] = weakref.WeakKeyDictionary()


def _state(store: Store) -> _StoreState:
    state = _STATES.get(store)
    if state is None:
        state = _STATES[store] = _StoreState()
    return state


def add_write_listener(store: Store, listener: WriteListener) -> None:
    """Call ``listener(tenant_id, batch)`` after each batch written to ``store`` (it must be
    quick and not raise; its errors are logged and ignored)."""
    _state(store).listeners.append(listener)


def ingest_stats(store: Store) -> IngestStats:
    """The ingest counters of ``store`` (one set per store, hence per app)."""
    return _state(store).stats


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

Invalid = tuple[str, str, str]  # (reason, field, message)


def _check_series(
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


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


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


# --- the core ------------------------------------------------------------------------------


async def ingest(
    *,
    store: Store,
    session: AsyncSession,
    settings: TSDBSettings,
    tenant_id: UUID,
    samples: Sequence[RawSample],
    metadata: Sequence[MetricMeta] = (),
    now_ms: int | None = None,
) -> IngestResult:
    """Validate ``samples``, write the valid ones durably, upsert ``metadata``.

    Returns how many were accepted and refused, with one :class:`SampleError` per refused
    sample (sorted by index). Raises :class:`~agentdeck.tsdb.base.StoreError` when the store
    fails (nothing of the batch is then acknowledged). The caller commits the session.
    """
    return await ingest_rows(
        store=store,
        session=session,
        settings=settings,
        tenant_id=tenant_id,
        rows=[(s.name, s.labels, s.value, s.timestamp_ms, s.index) for s in samples],
        metadata=metadata,
        now_ms=now_ms,
    )


Row = tuple[Any, Mapping[str, Any] | None, Any, int | None, int]


async def ingest_rows(
    *,
    store: Store,
    session: AsyncSession,
    settings: TSDBSettings,
    tenant_id: UUID,
    rows: Sequence[Row],
    metadata: Sequence[MetricMeta] = (),
    errors: Sequence[SampleError] = (),
    error_reasons: Sequence[str] = (),
    now_ms: int | None = None,
) -> IngestResult:
    """:func:`ingest` on plain ``(name, labels, value, timestamp_ms, index)`` tuples.

    ``errors`` (with their ``error_reasons`` for ``/metrics``) are samples the caller already
    refused while decoding; they are counted and returned with the others.
    """
    now = _now_ms() if now_ms is None else now_ms
    state = _state(store)
    tenant = state.tenants.get(tenant_id)
    if tenant is None:
        tenant = state.tenants[tenant_id] = _TenantSeries()
    cache = tenant.cache
    if len(cache) > _LABEL_CACHE_MAX:
        cache.clear()
        tenant.canonical.clear()

    bad: list[tuple[int, str, str, str]] = []  # (index, reason, field, message)
    positions: dict[int, int] = {}  # id(entry) → position in `entries`
    entries: list[_Entry] = []
    series_index: list[int] = []
    timestamps: list[int] = []
    values: list[float] = []
    indexes: list[int] = []
    isnan = math.isnan
    with paused_gc():
        for name, labels, value, ts, index in rows:
            raw_key = (name, tuple(labels.items())) if labels else name
            try:
                entry = cache.get(raw_key)
            except TypeError:  # unhashable: let the checker say what is wrong
                entry = tenant.entry(name, labels, settings)
            else:
                if entry is None:
                    entry = cache[raw_key] = tenant.entry(name, labels, settings)
            if entry.error is not None:
                reason, where, message = entry.error
                bad.append((index, reason, where, message))
                continue
            if type(value) is not float:
                if type(value) is int or (
                    isinstance(value, (int, float)) and type(value) is not bool
                ):
                    value = float(value)
                else:
                    bad.append((index, "invalid_value", "value", "value must be a number"))
                    continue
            if isnan(value):
                bad.append((index, "invalid_value", "value", _NAN_MESSAGE))
                continue
            position = positions.get(id(entry))
            if position is None:
                position = positions[id(entry)] = len(entries)
                entries.append(entry)
            series_index.append(position)
            timestamps.append(now if ts is None else ts)
            values.append(value)
            indexes.append(index)

    ts_array = np.asarray(timestamps, dtype=np.int64) if timestamps else np.empty(0, np.int64)
    keep = np.ones(len(ts_array), dtype=bool)
    if len(ts_array):
        newest = now + settings.future_tolerance_seconds * 1000
        days = settings.retention_days
        if int(ts_array.min()) < now - MIN_RETENTION_MS:
            # Only samples over a day old can be past a retention: look the tenant's up then.
            days = await effective_retention_days(session, tenant_id, days)
        oldest = now - days * 86_400_000
        future = ts_array > newest
        old = ts_array < oldest
        if future.any():
            keep &= ~future
            tolerance = settings.future_tolerance_seconds
            for i in np.flatnonzero(future).tolist():
                ts = int(ts_array[i])
                if ts > MAX_TIMESTAMP_MS:
                    message = f"timestamp {ts} is not a millisecond time (above {MAX_TIMESTAMP_MS})"
                else:
                    message = f"timestamp is more than {tolerance} s in the future"
                bad.append((indexes[i], "too_far_in_future", "timestamp", message))
        if old.any():
            keep &= ~old
            for i in np.flatnonzero(old).tolist():
                bad.append(
                    (
                        indexes[i],
                        "too_old",
                        "timestamp",
                        f"timestamp is older than the retention of {days} days",
                    )
                )

    series: list[SeriesKey] = [e.key for e in entries]  # type: ignore[misc]
    index_array = np.asarray(series_index, dtype=np.int32)
    value_array = np.asarray(values, dtype=np.float64)
    if len(series):
        used = np.zeros(len(series), dtype=bool)
        used[index_array[keep]] = True
        refused = await _admit(tenant, store, settings, tenant_id, entries, used, now)
        if refused.any():
            blocked = refused[index_array] & keep
            cap = settings.max_active_series
            message = f"new series refused: the tenant has reached its limit of {cap} active series"
            for i in np.flatnonzero(blocked).tolist():
                bad.append((indexes[i], "series_limit", "name", message))
            keep &= ~blocked

    accepted = int(np.count_nonzero(keep))
    if accepted:
        if accepted == len(keep):
            batch = SampleBatch(tuple(series), index_array, ts_array, value_array)
        else:
            kept_index = index_array[keep]
            present = np.unique(kept_index)
            remap = np.full(len(series), -1, dtype=np.int32)
            remap[present] = np.arange(len(present), dtype=np.int32)
            batch = SampleBatch(
                tuple(series[i] for i in present.tolist()),
                remap[kept_index],
                ts_array[keep],
                value_array[keep],
            )
        await store.write(tenant_id, batch)
        for listener in state.listeners:
            try:
                listener(tenant_id, batch)
            except Exception:
                log.exception("write_listener_failed")

    if metadata and (accepted or not rows):
        # Metadata rides with samples: a request whose every sample was refused changes
        # nothing (it is answered with an error and not committed).
        await _upsert_metadata(state, session, tenant_id, metadata)

    stats = state.stats
    stats.accepted += accepted
    for reason in error_reasons:
        stats.rejected[reason] += 1
    for _, reason, _, _ in bad:
        stats.rejected[reason] += 1
    all_errors = list(errors)
    all_errors.extend(SampleError(index, where, message) for index, _, where, message in bad)
    all_errors.sort(key=lambda e: e.index)
    return IngestResult(accepted=accepted, rejected=len(errors) + len(bad), errors=all_errors)


async def _admit(
    tenant: _TenantSeries,
    store: Store,
    settings: TSDBSettings,
    tenant_id: UUID,
    entries: list[_Entry],
    used: np.ndarray[Any, np.dtype[np.bool_]],
    now: int,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which series of the batch are refused by the active-series cap (a boolean mask).

    Series this process has seen for the tenant pass without any store call. New ones are
    counted against a cached active-series count; only when they would pass the cap are the
    tenant's active series reloaded from the store (throttled), so series that exist (written
    by another replica, or before a restart) keep flowing.
    """
    refused = np.zeros(len(entries), dtype=bool)
    gen = tenant.gen
    flags = used.tolist()
    new = [i for i, e in enumerate(entries) if e.gen != gen and flags[i]]
    if not new:
        return refused
    cap = settings.max_active_series
    async with tenant.lock:
        gen = tenant.gen
        new = [i for i in new if entries[i].gen != gen]
        if not new:
            return refused
        clock = time.monotonic()
        if clock - tenant.count_at > COUNT_TTL_SECONDS:
            tenant.count = await store.active_series_count(tenant_id, now_ms=now)
            tenant.count_at = clock
        if tenant.count + len(new) > cap and clock - tenant.reloaded_at > RELOAD_INTERVAL_SECONDS:
            active = await store.series(
                tenant_id,
                [Matcher(METRIC_NAME_LABEL, MatchOp.re, ".+")],
                now - ACTIVE_WINDOW_MS,
                now,
            )
            reloaded: set[SeriesKey] = set()
            for labels in active:
                metric = dict(labels)
                name = metric.pop(METRIC_NAME_LABEL, "")
                reloaded.add(SeriesKey.of(name, metric))
            tenant.gen = gen = gen + 1
            tenant.reloaded = reloaded
            for key in reloaded:
                entry = tenant.canonical.get(key)
                if entry is not None:
                    entry.gen = gen
            tenant.count = len(reloaded)
            tenant.count_at = tenant.reloaded_at = clock
            new = [i for i in new if entries[i].gen != gen]
        room = max(cap - tenant.count, 0)
        for i in new[room:]:
            refused[i] = True
        admitted = new[:room]
        for i in admitted:
            entries[i].gen = gen
        tenant.count += len(admitted)
    return refused


async def _upsert_metadata(
    state: _StoreState, session: AsyncSession, tenant_id: UUID, metadata: Sequence[MetricMeta]
) -> None:
    """Insert or update the tenant's metric metadata rows that changed (no commit)."""
    latest: dict[str, MetricMeta] = {}
    for meta in metadata:
        if is_valid_metric_name(meta.name):
            try:
                kind = MetricType(meta.type)
            except ValueError:
                kind = MetricType.unknown
            latest[meta.name] = MetricMeta(meta.name, kind, meta.unit, meta.help)
    changed = [
        m
        for m in latest.values()
        if state.metadata.get((tenant_id, m.name)) != (m.type.value, m.unit, m.help)
    ]
    if not changed:
        return
    if len(state.metadata) > _LABEL_CACHE_MAX:
        state.metadata.clear()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        {
            "tenant_id": tenant_id,
            "name": m.name,
            "type": m.type,
            "unit": m.unit[:64],
            "help": m.help[:1024],
            "updated_at": utcnow(),
        }
        for m in changed
    ]
    stmt = insert(MetricMetadata).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[MetricMetadata.tenant_id, MetricMetadata.name],
        set_={
            "type": stmt.excluded.type,
            "unit": stmt.excluded.unit,
            "help": stmt.excluded.help,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)
    for m in changed:
        state.metadata[(tenant_id, m.name)] = (m.type.value, m.unit, m.help)
