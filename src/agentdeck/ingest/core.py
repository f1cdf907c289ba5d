"""The ingest core: validate samples, enforce the series cap, write one durable batch.

Every ingest path (JSON batch, per-agent report, OTLP/HTTP, remote write, scraping) decodes
its wire format into a :class:`~agentdeck.ingest.batch.Batch` and hands it to
:meth:`Ingestor.ingest`, one short pipeline of named steps:

1. *columns* — rows become columns (:func:`~agentdeck.ingest.batch.columns_from_rows`), so
   there is one path;
2. *series* — each sample's series is found (each distinct label set validated once per
   tenant, against the Prometheus name and label rules and the limits of ``settings.tsdb``),
   and samples whose series, value or timestamp is refused are set aside;
3. *times* — samples too far in the future or older than the tenant's retention are refused;
4. *cap* — series the tenant already has keep flowing, new ones beyond
   ``max_active_series`` are refused with a message naming the cap;
5. *write* — the valid samples go to the store as one
   :class:`~agentdeck.tsdb.base.SampleBatch` (durable when :meth:`Store.write` returns), then
   to the write listeners (live publish, the overview);
6. *metadata* (type, unit, help) is upserted in the caller's session without committing, and
   the counters for ``/metrics`` are updated.

A bad sample never sinks its batch: every refused one comes back as a
:class:`~agentdeck.ingest.batch.SampleError` naming its ``index``, the ``field`` at fault and
why. One :class:`Ingestor` per app (``AppState.ingestor``) holds the per-tenant series
knowledge, the metadata cache, the counters and the listeners; nothing is global.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any
from uuid import UUID

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.identity.service import effective_retention_days
from agentdeck.ingest._slots import BatchSeries
from agentdeck.ingest.batch import (
    Batch,
    IngestResult,
    Invalid,
    KeyedColumns,
    SampleColumns,
    SampleError,
    columns_from_rows,
    paused_gc,
)
from agentdeck.ingest.metadata import MetadataCache, upsert_metadata
from agentdeck.ingest.series import LABEL_CACHE_MAX, Entry, TenantSeries, admit
from agentdeck.ingest.stats import IngestStats
from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import (
    MAX_TIMESTAMP_MS,
    Float64Array,
    IndexArray,
    Int64Array,
    SampleBatch,
    Store,
)

log = structlog.get_logger(__name__)

#: Called with the tenant, the batch written and the ``agent`` label values of its series.
WriteListener = Callable[[UUID, SampleBatch, AbstractSet[str]], None]

#: The shortest retention a tenant can have (one day): younger samples need no tenant lookup.
MIN_RETENTION_MS = 86_400_000
_NAN_MESSAGE = "value is NaN, which cannot be stored"
_UID = attrgetter("uid")
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- the batch on its way through the core -------------------------------------------------


@dataclass(slots=True)
class _Pending:
    """A batch between the steps of :meth:`Ingestor.ingest`.

    ``series`` are the batch's distinct series and ``series_index`` points each sample at
    one; samples with ``keep`` false are refused, each with its :class:`SampleError` in
    ``refused``.
    """

    tenant_id: UUID
    tenant: TenantSeries
    now: int
    series: BatchSeries
    series_index: IndexArray
    timestamps: Int64Array
    values: Float64Array
    indexes: Int64Array
    keep: BoolArray
    refused: list[SampleError] = field(default_factory=list)

    def refuse(self, positions: BoolArray, reason: str, where: str, message: str) -> None:
        """Refuse the kept samples at ``positions`` (a mask) with one message."""
        self.keep &= ~positions
        for i in np.flatnonzero(positions).tolist():
            self.refused.append(SampleError(int(self.indexes[i]), where, message, reason))


class Ingestor:
    """The ingest core of one app: ``store``'s writes, with this app's series knowledge,
    metadata cache, counters and write listeners."""

    def __init__(self, store: Store, settings: TSDBSettings) -> None:
        self.store = store
        self.settings = settings
        self.stats = IngestStats()
        self.tenants: dict[UUID, TenantSeries] = {}
        self.metadata = MetadataCache(LABEL_CACHE_MAX)
        self.listeners: list[WriteListener] = []

    def add_write_listener(self, listener: WriteListener) -> None:
        """Call ``listener(tenant_id, batch, agents)`` after each batch written (``agents``:
        the ``agent`` label values among its series); it must be quick and not raise (its
        errors are logged and ignored)."""
        self.listeners.append(listener)

    def exposition(self) -> bytes:
        """The ingest counters in the Prometheus text format (for ``/metrics``)."""
        return self.stats.exposition()

    def tenant(self, tenant_id: UUID) -> TenantSeries:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            tenant = self.tenants[tenant_id] = TenantSeries()
        tenant.trim()
        return tenant

    async def ingest(self, session: AsyncSession, tenant_id: UUID, batch: Batch) -> IngestResult:
        """Validate the batch's samples, write the valid ones durably, upsert its metadata.

        Returns how many were accepted and refused, with one error per refused sample (the
        decoder's and the core's, sorted by index). Raises
        :class:`~agentdeck.tsdb.base.StoreError` when the store fails (nothing of the batch
        is then acknowledged). The caller commits the session.
        """
        now = _now_ms() if batch.now_ms is None else batch.now_ms
        samples = batch.samples
        if not isinstance(samples, SampleColumns | KeyedColumns):
            samples = columns_from_rows(samples, now_ms=now)
        with paused_gc():
            pending = self._series(tenant_id, samples, now)
        await self._check_times(session, pending)
        await self._apply_cap(pending)
        accepted = await self._write(pending)
        if batch.metadata and (accepted or not len(samples)):
            # Metadata rides with samples: a request whose every sample was refused changes
            # nothing (it is answered with an error and not committed).
            await upsert_metadata(
                self.metadata,
                session,
                tenant_id,
                batch.metadata,
                max_name=self.settings.max_metric_name_bytes,
            )
        return self._count(accepted, batch.errors, pending.refused)

    # --- 2. series ---------------------------------------------------------------------------

    def _series(self, tenant_id: UUID, columns: SampleColumns | KeyedColumns, now: int) -> _Pending:
        """Each sample's series (validated on first sight) and the samples refused for their
        series, value or timestamp: in sample order, series errors first."""
        tenant = self.tenant(tenant_id)
        n = len(columns)
        indexes = (
            np.arange(n, dtype=np.int64)
            if columns.indexes is None
            else np.asarray(columns.indexes, dtype=np.int64)
        )
        if isinstance(columns, KeyedColumns):
            series, series_index = _keyed_series(tenant, columns, self.settings)
        else:
            series, series_index = _token_series(tenant, columns, self.settings)
        values = np.asarray(columns.values, dtype=np.float64)
        valid = series.ok
        refused = ~valid[series_index] if not valid.all() else np.zeros(n, dtype=bool)
        keep = ~(refused | np.isnan(values))
        pending = _Pending(
            tenant_id,
            tenant,
            now,
            series,
            series_index,
            np.asarray(columns.timestamps, dtype=np.int64),
            values,
            indexes,
            keep,
        )
        if not keep.all():
            problems = columns.problems if isinstance(columns, SampleColumns) else None
            for i in np.flatnonzero(~keep).tolist():
                error = series.entries[series_index[i]].error
                if error is None:
                    error = (problems or {}).get(i) or ("invalid_value", "value", _NAN_MESSAGE)
                reason, where, message = error
                pending.refused.append(SampleError(int(indexes[i]), where, message, reason))
        return pending

    # --- 3. times ----------------------------------------------------------------------------

    async def _check_times(self, session: AsyncSession, p: _Pending) -> None:
        """Refuse samples too far in the future or older than the tenant's retention."""
        if not len(p.timestamps):
            return
        settings = self.settings
        days = settings.retention_days
        if int(p.timestamps.min()) < p.now - MIN_RETENTION_MS:
            # Only samples over a day old can be past a retention: look the tenant's up then.
            days = await effective_retention_days(session, p.tenant_id, days)
        newest = p.now + settings.future_tolerance_seconds * 1000
        future = (p.timestamps > newest) & p.keep
        if future.any():
            beyond = future & (p.timestamps > MAX_TIMESTAMP_MS)
            message = f"timestamp is more than {settings.future_tolerance_seconds} s in the future"
            for i in np.flatnonzero(future).tolist():
                text = message
                if beyond[i]:
                    text = (
                        f"timestamp {int(p.timestamps[i])} is not a millisecond time "
                        f"(above {MAX_TIMESTAMP_MS})"
                    )
                p.refused.append(
                    SampleError(int(p.indexes[i]), "timestamp", text, "too_far_in_future")
                )
            p.keep &= ~future
        old = (p.timestamps < p.now - days * 86_400_000) & p.keep
        if old.any():
            message = f"timestamp is older than the retention of {days} days"
            p.refuse(old, "too_old", "timestamp", message)

    # --- 4. the series cap -------------------------------------------------------------------

    async def _apply_cap(self, p: _Pending) -> None:
        """Refuse the samples of new series beyond the tenant's active-series cap."""
        if not len(p.series):
            return
        used = np.zeros(len(p.series), dtype=bool)
        used[p.series_index[p.keep]] = True
        settings = self.settings
        refused = await admit(p.tenant, self.store, settings, p.tenant_id, p.series, used, p.now)
        if refused.any():
            cap = settings.max_active_series
            message = f"new series refused: the tenant has reached its limit of {cap} active series"
            p.refuse(refused[p.series_index] & p.keep, "series_limit", "name", message)

    # --- 5. the write ------------------------------------------------------------------------

    async def _write(self, p: _Pending) -> int:
        """Write the kept samples and tell the listeners; how many were written."""
        accepted = int(np.count_nonzero(p.keep))
        if not accepted:
            return 0
        batch, agents = _sample_batch(p, every=accepted == len(p.keep))
        await self.store.write(p.tenant_id, batch)
        agent_set = set(agents.tolist())
        agent_set.discard(None)
        with paused_gc():  # the listeners' short-lived objects, collected once after
            for listener in self.listeners:
                try:
                    listener(p.tenant_id, batch, agent_set)
                except Exception:
                    log.exception("write_listener_failed")
        return accepted

    # --- 6. counters -------------------------------------------------------------------------

    def _count(
        self, accepted: int, decoded: Sequence[SampleError], refused: list[SampleError]
    ) -> IngestResult:
        stats = self.stats
        stats.accepted += accepted
        for error in decoded:
            stats.rejected[error.reason] += 1
        for error in refused:
            stats.rejected[error.reason] += 1
        errors = [*decoded, *refused]
        errors.sort(key=lambda e: e.index)
        return IngestResult(accepted=accepted, rejected=len(errors), errors=errors)


def _sample_batch(p: _Pending, *, every: bool) -> tuple[SampleBatch, Any]:
    """The store's batch of the kept samples (series no sample kept are left out) and the
    ``agent`` label of each of its series."""
    series = p.series
    if every:
        batch = SampleBatch(
            tuple(series.keys.tolist()), p.series_index, p.timestamps, p.values, series.uids
        )
        return batch, series.agents
    kept_index = p.series_index[p.keep]
    present = np.unique(kept_index)
    remap = np.full(len(series), -1, dtype=np.int32)
    remap[present] = np.arange(len(present), dtype=np.int32)
    batch = SampleBatch(
        tuple(series.keys[present].tolist()),
        remap[kept_index],
        p.timestamps[p.keep],
        p.values[p.keep],
        series.uids[present],
    )
    return batch, series.agents[present]


# --- finding the series of a batch ---------------------------------------------------------


def _token_series(
    tenant: TenantSeries, columns: SampleColumns, settings: TSDBSettings
) -> tuple[BatchSeries, IndexArray]:
    """The batch's distinct series and each sample's position among them, found through the
    tenant's series by label-set token (C-level lookups and numpy, no per-sample Python)."""
    resolved = _entries(tenant, columns.names, columns.tokens, columns.label_sets, settings)
    uids = np.fromiter(map(_UID, resolved), dtype=np.int64, count=len(resolved))
    _, first, inverse = np.unique(uids, return_index=True, return_inverse=True)
    series = BatchSeries.of(list(map(resolved.__getitem__, first.tolist())))
    return series, inverse.astype(np.int32, copy=False).reshape(-1)


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
