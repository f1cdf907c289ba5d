"""The shared ingest core: validate samples, enforce the series cap, write one durable batch.

Every ingest path (JSON batch, per-agent report, OTLP/HTTP, remote write, scraping) turns its
wire format into samples and hands them to the core in one of three shapes:
:func:`ingest` (:class:`RawSample` objects), :func:`ingest_rows` (plain tuples) or
:func:`ingest_columns` (:class:`SampleColumns`: per-sample arrays and a token per label set,
so nothing walks one Python object per sample and each distinct label set is validated once
per tenant, not once per sample). All three behave alike. The core

* validates each sample against the Prometheus name and label rules and the tenant limits
  (``settings.tsdb``) and reports every refused sample as a :class:`SampleError` naming the
  sample's ``index``, the ``field`` at fault and why;
* keeps the valid samples (a bad sample never sinks its batch);
* enforces the per-tenant active-series cap: series the tenant already has keep flowing, new
  ones beyond ``max_active_series`` are refused with a message naming the cap;
* writes the valid samples as one :class:`~agentdeck.tsdb.base.SampleBatch` (durable when
  :meth:`Store.write` returns) and hands it to the write listeners (live publish);
* upserts metric metadata (type, unit, help) in the caller's session without committing;
* counts accepted and refused samples for ``/metrics`` (:func:`exposition`).

Per-store bookkeeping (validated label sets and known series per tenant, counters) lives in
:mod:`.series`, attached to the store object, so every app (and every test app) has
its own and nothing is global.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any
from uuid import UUID

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.service import effective_retention_days
from agentdeck.ingest._slots import BatchSeries
from agentdeck.ingest.series import (
    Entry,
    IngestStats,
    Invalid,
    MetricMeta,
    StoreState,
    TenantSeries,
    WriteListener,
    add_write_listener,
    admit,
    exposition,
    ingest_stats,
    paused_gc,
    shown,
    store_state,
    upsert_metadata,
)
from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import (
    MAX_TIMESTAMP_MS,
    Float64Array,
    IndexArray,
    Int64Array,
    SampleBatch,
    Store,
)

__all__ = [
    "IngestResult",
    "IngestStats",
    "Invalid",
    "KeyedColumns",
    "MetricMeta",
    "RawSample",
    "Row",
    "SampleColumns",
    "SampleError",
    "WriteListener",
    "add_write_listener",
    "columns_from_rows",
    "exposition",
    "ingest",
    "ingest_columns",
    "ingest_rows",
    "ingest_stats",
    "paused_gc",
    "shown",
]

log = structlog.get_logger(__name__)

#: The shortest retention a tenant can have (one day): younger samples need no tenant lookup.
MIN_RETENTION_MS = 86_400_000
_NAN_MESSAGE = "value is NaN, which cannot be stored"
_RANGE_MESSAGE = "value must be a finite number"
_UID = attrgetter("uid")
_FIRST, _SECOND, _THIRD, _FOURTH, _FIFTH = map(itemgetter, range(5))


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


@dataclass(slots=True)
class SampleColumns:
    """Samples as columns, for :func:`ingest_columns`.

    Sample ``i`` is metric ``names[i]`` with the label set ``label_sets[tokens[i]]`` at
    ``timestamps[i]`` (ms) with ``values[i]``; ``indexes[i]`` is its position in the request
    (``None``: ``0..n-1``). A token is any hashable value standing for one label set (the raw
    bytes of a JSON object, a tuple of pairs…): equal tokens must mean equal label sets, and
    ``label_sets`` must hold every token (a label mapping, ``None`` for no labels, or an
    :data:`Invalid` saying why the label set is refused). The core looks a token up only the
    first time a tenant sends it with a given name.
    """

    names: Sequence[str]
    tokens: Sequence[Hashable]
    label_sets: Mapping[Any, Mapping[str, Any] | Invalid | None]
    timestamps: Int64Array
    values: Float64Array
    indexes: Int64Array | None = None

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(slots=True)
class KeyedColumns:
    """Samples as columns with their names and label sets numbered, for
    :func:`ingest_columns`.

    Sample ``i`` is metric ``names[name_ids[i]]`` with the label set
    ``label_sets[tokens[token_ids[i]]]`` at ``timestamps[i]`` (ms) with ``values[i]``;
    ``indexes[i]`` is its position in the request (``None``: ``0..n-1``). Tokens are as in
    :class:`SampleColumns`. The core then looks series up once per distinct (name, token)
    pair of the batch, not once per sample.
    """

    names: Sequence[str]
    name_ids: IndexArray
    tokens: Sequence[Hashable]
    token_ids: IndexArray
    label_sets: Mapping[Any, Mapping[str, Any] | Invalid | None]
    timestamps: Int64Array
    values: Float64Array
    indexes: Int64Array | None = None

    def __len__(self) -> int:
        return len(self.timestamps)


def columns_from_rows(rows: Sequence[Row]) -> SampleColumns | None:
    """The same samples as :class:`SampleColumns`, in the same order, or ``None`` when the
    rows need :func:`ingest_rows` (a value that is not a float, a missing timestamp, labels
    that are not a dict).

    Meant for decoders that share one label dict between the rows of a series (as the OTLP
    translation does): label sets are told apart by object first, so each distinct dict is
    turned into a token once per request.
    """
    n = len(rows)
    if not n:
        return None
    values = list(map(_THIRD, rows))
    if set(map(type, values)) != {float}:
        return None
    stamps = list(map(_FOURTH, rows))
    dicts = list(map(_SECOND, rows))
    if None in stamps or set(map(type, dicts)) != {dict}:
        return None
    try:
        timestamps = np.fromiter(stamps, dtype=np.int64, count=n)
    except (OverflowError, TypeError):
        return None
    by_object = dict(zip(map(id, dicts), dicts, strict=True))  # the dicts stay alive meanwhile
    token_of = {key: tuple(labels.items()) for key, labels in by_object.items()}
    tokens = list(map(token_of.__getitem__, map(id, dicts)))
    label_sets = dict(zip(token_of.values(), by_object.values(), strict=True))
    return SampleColumns(
        list(map(_FIRST, rows)),
        tokens,
        label_sets,
        timestamps,
        np.fromiter(values, dtype=np.float64, count=n),
        np.fromiter(map(_FIFTH, rows), dtype=np.int64, count=n),
    )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


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
    state = store_state(store)
    tenant = state.tenant(tenant_id)
    cache = tenant.cache

    bad: list[tuple[int, str, str, str]] = []  # (index, reason, field, message)
    positions: dict[int, int] = {}  # entry uid → position in `entries`
    entries: list[Entry] = []
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
                    try:
                        value = float(value)
                    except OverflowError:  # an integer beyond float64
                        bad.append((index, "invalid_value", "value", _RANGE_MESSAGE))
                        continue
                else:
                    bad.append((index, "invalid_value", "value", "value must be a number"))
                    continue
            if isnan(value):
                bad.append((index, "invalid_value", "value", _NAN_MESSAGE))
                continue
            position = positions.get(entry.uid)
            if position is None:
                position = positions[entry.uid] = len(entries)
                entries.append(entry)
            series_index.append(position)
            timestamps.append(now if ts is None else ts)
            values.append(value)
            indexes.append(index)

    n = len(timestamps)
    keep = np.ones(n, dtype=bool)
    try:
        ts_array = np.asarray(timestamps, dtype=np.int64) if n else np.empty(0, np.int64)
    except OverflowError:  # beyond int64: refused like any other far-off timestamp
        ts_array = _outside_int64(timestamps, indexes, keep, bad)
    return await _finish(
        state=state,
        tenant=tenant,
        store=store,
        session=session,
        settings=settings,
        tenant_id=tenant_id,
        series=BatchSeries.of(entries),
        series_index=np.asarray(series_index, dtype=np.int32),
        timestamps=ts_array,
        values=np.asarray(values, dtype=np.float64),
        indexes=np.asarray(indexes, dtype=np.int64),
        keep=keep,
        bad=bad,
        metadata=metadata,
        errors=errors,
        error_reasons=error_reasons,
        now=now,
        empty=not rows,
    )


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _outside_int64(
    timestamps: list[int],
    indexes: list[int],
    keep: np.ndarray[Any, np.dtype[np.bool_]],
    bad: list[tuple[int, str, str, str]],
) -> Int64Array:
    """The timestamps as int64: those above it are refused here, those below it become the
    smallest int64 (and so older than any retention)."""
    fitted = []
    for i, ts in enumerate(timestamps):
        if ts > _INT64_MAX:
            message = f"timestamp {ts} is not a millisecond time (above {MAX_TIMESTAMP_MS})"
            bad.append((indexes[i], "too_far_in_future", "timestamp", message))
            keep[i] = False
            ts = 0
        fitted.append(max(ts, _INT64_MIN))
    return np.asarray(fitted, dtype=np.int64)


async def ingest_columns(
    *,
    store: Store,
    session: AsyncSession,
    settings: TSDBSettings,
    tenant_id: UUID,
    columns: SampleColumns | KeyedColumns,
    metadata: Sequence[MetricMeta] = (),
    errors: Sequence[SampleError] = (),
    error_reasons: Sequence[str] = (),
    now_ms: int | None = None,
) -> IngestResult:
    """:func:`ingest_rows` on columns: the same checks, errors and writes, but nothing walks
    the samples one by one in Python (series are told apart by C-level lookups and numpy).
    """
    now = _now_ms() if now_ms is None else now_ms
    state = store_state(store)
    tenant = state.tenant(tenant_id)
    n = len(columns)
    indexes = (
        np.arange(n, dtype=np.int64)
        if columns.indexes is None
        else np.asarray(columns.indexes, dtype=np.int64)
    )
    bad: list[tuple[int, str, str, str]] = []
    with paused_gc():
        if isinstance(columns, KeyedColumns):
            series, series_index = _keyed_series(tenant, columns, settings)
        else:
            resolved = _entries(tenant, columns.names, columns.tokens, columns.label_sets, settings)
            uids = np.fromiter(map(_UID, resolved), dtype=np.int64, count=len(resolved))
            distinct, first, inverse = np.unique(uids, return_index=True, return_inverse=True)
            series = BatchSeries.of(list(map(resolved.__getitem__, first.tolist())))
            series_index = inverse.astype(np.int32, copy=False).reshape(-1)
    values = columns.values
    valid = series.ok
    refused = ~valid[series_index] if not valid.all() else np.zeros(n, dtype=bool)
    nan = np.isnan(values)
    keep = ~(refused | nan)
    if not keep.all():
        # The same errors, in the same order, as the row-by-row path gives.
        for i in np.flatnonzero(~keep).tolist():
            index = int(indexes[i])
            error = series.entries[series_index[i]].error
            if error is not None:
                bad.append((index, *error))
            else:
                bad.append((index, "invalid_value", "value", _NAN_MESSAGE))
    return await _finish(
        state=state,
        tenant=tenant,
        store=store,
        session=session,
        settings=settings,
        tenant_id=tenant_id,
        series=series,
        series_index=series_index,
        timestamps=np.asarray(columns.timestamps, dtype=np.int64),
        values=np.asarray(values, dtype=np.float64),
        indexes=indexes,
        keep=keep,
        bad=bad,
        metadata=metadata,
        errors=errors,
        error_reasons=error_reasons,
        now=now,
        empty=n == 0,
    )


def _keyed_series(
    tenant: TenantSeries, columns: KeyedColumns, settings: TSDBSettings
) -> tuple[BatchSeries, IndexArray]:
    """The batch's distinct series and each sample's position among them, found through the
    tenant's numbered pairs (:mod:`._slots`)."""
    label_sets = columns.label_sets

    def resolve(names: list[Any], tokens: list[Hashable]) -> list[Entry]:
        pairs = zip(names, tokens, strict=True)
        return [_new_entry(tenant, name, token, label_sets, settings) for name, token in pairs]

    slots = tenant.slots.locate(
        columns.names, columns.name_ids, columns.tokens, columns.token_ids, resolve
    )
    return tenant.slots.distinct(slots, tenant.gen)


def _new_entry(
    tenant: TenantSeries,
    name: Any,
    token: Hashable,
    label_sets: Mapping[Any, Mapping[str, Any] | Invalid | None],
    settings: TSDBSettings,
) -> Entry:
    """The entry of ``name`` with the label set of ``token``, validated now."""
    labels = label_sets[token]
    if isinstance(labels, tuple):  # the caller refused the label set
        return Entry(None, labels)
    return tenant.entry(name, labels, settings)


def _entries(
    tenant: TenantSeries,
    names: Sequence[str],
    tokens: Sequence[Hashable],
    label_sets: Mapping[Any, Mapping[str, Any] | Invalid | None],
    settings: TSDBSettings,
) -> list[Entry]:
    """The series entry of each (``names[i]``, ``tokens[i]``), validated on first sight.

    Per item, the label set's own small dict (its token's hash is usually cached in the
    token already) and then the name in it: two lookups in small, cache-warm tables cost
    about half of one (name, token) lookup in a table of every series.
    """
    known = tenant.tokens
    by_token: list[dict[Any, Entry] | None] = list(map(known.get, tokens))
    if None in by_token:
        for token in set(tokens).difference(known):
            known[token] = {}
        by_token = list(map(known.__getitem__, tokens))
    found: list[Entry | None] = list(map(dict.get, by_token, names))  # type: ignore[arg-type]
    if None in found:
        for i, (name, token) in enumerate(zip(names, tokens, strict=True)):
            if found[i] is None:
                by_name = known[token]
                entry = by_name.get(name)
                if entry is None:
                    entry = by_name[name] = _new_entry(tenant, name, token, label_sets, settings)
                    tenant.token_entries += 1
                found[i] = entry
    return found  # type: ignore[return-value]  # no None left


async def _finish(
    *,
    state: StoreState,
    tenant: TenantSeries,
    store: Store,
    session: AsyncSession,
    settings: TSDBSettings,
    tenant_id: UUID,
    series: BatchSeries,
    series_index: IndexArray,
    timestamps: Int64Array,
    values: Float64Array,
    indexes: Int64Array,
    keep: np.ndarray[Any, np.dtype[np.bool_]],
    bad: list[tuple[int, str, str, str]],
    metadata: Sequence[MetricMeta],
    errors: Sequence[SampleError],
    error_reasons: Sequence[str],
    now: int,
    empty: bool,
) -> IngestResult:
    """Timestamps, the series cap, the write, listeners, metadata and counters.

    ``series`` are the batch's distinct series, ``series_index`` points each sample at one;
    samples with ``keep`` false were already refused (their errors are in ``bad``).
    """
    days = settings.retention_days
    if len(timestamps):
        newest = now + settings.future_tolerance_seconds * 1000
        if int(timestamps.min()) < now - MIN_RETENTION_MS:
            # Only samples over a day old can be past a retention: look the tenant's up then.
            days = await effective_retention_days(session, tenant_id, days)
        oldest = now - days * 86_400_000
        future = (timestamps > newest) & keep
        old = (timestamps < oldest) & keep
        if future.any():
            keep &= ~future
            tolerance = settings.future_tolerance_seconds
            for i in np.flatnonzero(future).tolist():
                ts = int(timestamps[i])
                if ts > MAX_TIMESTAMP_MS:
                    message = f"timestamp {ts} is not a millisecond time (above {MAX_TIMESTAMP_MS})"
                else:
                    message = f"timestamp is more than {tolerance} s in the future"
                bad.append((int(indexes[i]), "too_far_in_future", "timestamp", message))
        if old.any():
            keep &= ~old
            message = f"timestamp is older than the retention of {days} days"
            for i in np.flatnonzero(old).tolist():
                bad.append((int(indexes[i]), "too_old", "timestamp", message))

    if len(series):
        used = np.zeros(len(series), dtype=bool)
        used[series_index[keep]] = True
        refused = await admit(tenant, store, settings, tenant_id, series, used, now)
        if refused.any():
            blocked = refused[series_index] & keep
            cap = settings.max_active_series
            message = f"new series refused: the tenant has reached its limit of {cap} active series"
            for i in np.flatnonzero(blocked).tolist():
                bad.append((int(indexes[i]), "series_limit", "name", message))
            keep &= ~blocked

    accepted = int(np.count_nonzero(keep))
    if accepted:
        if accepted == len(keep):
            keys, agents, tags = series.keys, series.agents, series.uids
            batch = SampleBatch(tuple(keys.tolist()), series_index, timestamps, values, tags)
        else:
            kept_index = series_index[keep]
            present = np.unique(kept_index)
            remap = np.full(len(series), -1, dtype=np.int32)
            remap[present] = np.arange(len(present), dtype=np.int32)
            keys, agents = series.keys[present], series.agents[present]
            batch = SampleBatch(
                tuple(keys.tolist()),
                remap[kept_index],
                timestamps[keep],
                values[keep],
                series.uids[present],
            )
        await store.write(tenant_id, batch)
        agent_set = set(agents.tolist())
        agent_set.discard(None)
        with paused_gc():  # the listeners' short-lived objects, collected once after
            for listener in state.listeners:
                try:
                    listener(tenant_id, batch, agent_set)
                except Exception:
                    log.exception("write_listener_failed")

    if metadata and (accepted or empty):
        # Metadata rides with samples: a request whose every sample was refused changes
        # nothing (it is answered with an error and not committed).
        await upsert_metadata(
            state, session, tenant_id, metadata, max_name=settings.max_metric_name_bytes
        )

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
