"""In-memory series dictionary and inverted index of the embedded store.

Per tenant: series key → dense integer id, and label name → value → set of ids (postings),
so a selector resolves to ids without scanning every series. Per id (all tenants share one id
space): the tenant, the key, and the first/last sample timestamps, which answer time-filtered
series and label queries and the active-series count without touching the samples table.

Only the writer thread mutates the index, and only after its transaction committed; readers
take :attr:`SeriesIndex.lock` while they resolve matchers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import numpy as np

from agentdeck.tsdb.base import Int64Array, Matcher, MatchOp, SeriesKey
from agentdeck.tsdb.duckdb.object_memo import ObjectMemo
from agentdeck.tsdb.int_map import IntMap
from agentdeck.tsdb.names import METRIC_NAME_LABEL

_NO_TS = np.iinfo(np.int64).max  # first_ts of a series without samples
_NO_TS_LAST = np.iinfo(np.int64).min
#: Key objects remembered per tenant before the memory may be cleared (see ``resolve``).
_MIN_OBJECTS = 100_000


@dataclass(slots=True)
class TenantSeries:
    ids: dict[SeriesKey, int] = field(default_factory=dict)
    postings: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    all_ids: set[int] = field(default_factory=set)
    #: Series id by key object, for the key objects writers hand over batch after batch (the
    #: ingest core keeps one per series): found without hashing the label tuples again.
    objects: ObjectMemo[SeriesKey, int] = field(default_factory=ObjectMemo)
    #: Series id by series tag (``SampleBatch.tags``): a batch's series found with numpy.
    tags: IntMap = field(default_factory=IntMap)


class SeriesIndex:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tenants: dict[UUID, TenantSeries] = {}
        self.keys: dict[int, SeriesKey] = {}
        self.tenant_of: dict[int, UUID] = {}
        self.first_ts: Int64Array = np.full(1024, _NO_TS, np.int64)
        self.last_ts: Int64Array = np.full(1024, _NO_TS_LAST, np.int64)
        self.next_id = 1

    # --- writer side (single thread) ---------------------------------------------------------

    def lookup(self, tenant_id: UUID, key: SeriesKey) -> int | None:
        tenant = self.tenants.get(tenant_id)
        return None if tenant is None else tenant.ids.get(key)

    def tenant_ids(self, tenant_id: UUID) -> dict[SeriesKey, int]:
        tenant = self.tenants.get(tenant_id)
        return {} if tenant is None else tenant.ids

    def resolve(
        self, tenant_id: UUID, keys: Sequence[SeriesKey], tags: Int64Array | None = None
    ) -> np.ndarray:
        """The series id of each of ``keys`` (int32), -1 for series the tenant does not have.

        With ``tags`` (one per key, see :attr:`~agentdeck.tsdb.base.SampleBatch.tags`), keys
        are found by tag; the others by object (see :attr:`TenantSeries.objects`), by value
        only the first time an object is seen.
        """
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return np.full(len(keys), -1, np.int32)
        if tags is None:
            return self._by_object(tenant, keys)
        ids, missing = tenant.tags.find(tags)
        if missing is not None:
            found = self._by_object(tenant, [keys[i] for i in missing.tolist()])
            ids[missing] = found
            known = found >= 0
            if len(tenant.tags) + len(found) > max(2 * len(tenant.ids), _MIN_OBJECTS):
                tenant.tags.clear()  # tags of keys nobody sends any more go with the rest
            tenant.tags.add(tags[missing][known], found[known])
        return ids

    def _by_object(self, tenant: TenantSeries, keys: Sequence[SeriesKey]) -> np.ndarray:
        n = len(keys)
        objects = tenant.objects
        ids = np.fromiter(objects.get_many(keys, -1), np.int32, count=n)
        missing = np.flatnonzero(ids < 0)
        if len(missing):
            objects.make_room(len(missing), max(2 * len(tenant.ids), _MIN_OBJECTS))
            known = tenant.ids
            for i in missing.tolist():
                key = keys[i]
                series_id = known.get(key)
                if series_id is not None:
                    ids[i] = series_id
                    objects.remember(key, series_id)
        return ids

    def _grow(self, size: int) -> None:
        if size <= len(self.first_ts):
            return
        new_size = max(size, len(self.first_ts) * 2)
        first = np.full(new_size, _NO_TS, np.int64)
        last = np.full(new_size, _NO_TS_LAST, np.int64)
        first[: len(self.first_ts)] = self.first_ts
        last[: len(self.last_ts)] = self.last_ts
        self.first_ts, self.last_ts = first, last

    def add(self, entries: Iterable[tuple[UUID, SeriesKey, int]]) -> None:
        """Publish committed series (caller holds :attr:`lock`)."""
        for tenant_id, key, series_id in entries:
            tenant = self.tenants.get(tenant_id)
            if tenant is None:
                tenant = self.tenants[tenant_id] = TenantSeries()
            tenant.ids[key] = series_id
            tenant.all_ids.add(series_id)
            self.keys[series_id] = key
            self.tenant_of[series_id] = tenant_id
            tenant.postings.setdefault(METRIC_NAME_LABEL, {}).setdefault(key.name, set()).add(
                series_id
            )
            for name, value in key.labels:
                tenant.postings.setdefault(name, {}).setdefault(value, set()).add(series_id)
            if series_id >= self.next_id:
                self.next_id = series_id + 1
        self._grow(self.next_id)

    def update_times(self, ids: np.ndarray, timestamps: Int64Array) -> None:
        """Widen first/last timestamps of ``ids`` with the written samples."""
        self._grow(int(ids.max()) + 1)
        np.minimum.at(self.first_ts, ids, timestamps)
        np.maximum.at(self.last_ts, ids, timestamps)

    def set_times(self, ids: np.ndarray, first: Int64Array, last: Int64Array) -> None:
        self._grow(int(ids.max()) + 1 if len(ids) else 0)
        self.first_ts[ids] = first
        self.last_ts[ids] = last

    def remove(self, series_ids: Iterable[int]) -> None:
        """Forget series (caller holds :attr:`lock`)."""
        for series_id in series_ids:
            key = self.keys.pop(series_id)
            tenant_id = self.tenant_of.pop(series_id)
            tenant = self.tenants[tenant_id]
            tenant.objects.clear()
            tenant.tags.clear()
            del tenant.ids[key]
            tenant.all_ids.discard(series_id)
            pairs = [(METRIC_NAME_LABEL, key.name), *key.labels]
            for name, value in pairs:
                values = tenant.postings[name]
                ids = values[value]
                ids.discard(series_id)
                if not ids:
                    del values[value]
                    if not values:
                        del tenant.postings[name]
            self.first_ts[series_id] = _NO_TS
            self.last_ts[series_id] = _NO_TS_LAST

    # --- reader side (hold the lock) ---------------------------------------------------------

    def match(self, tenant_id: UUID, matchers: Sequence[Matcher]) -> set[int]:
        """Ids of the tenant's series that satisfy every matcher."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return set()
        # Matchers that reject "" narrow the candidate set through postings; the others
        # (which also accept absent labels) are applied by subtraction afterwards.
        result: set[int] | None = None
        ordered = sorted(matchers, key=lambda m: (m.matches(""), m.op is not MatchOp.eq))
        for matcher in ordered:
            values = tenant.postings.get(matcher.name, {})
            if not matcher.matches(""):
                if matcher.op is MatchOp.eq:
                    found = values.get(matcher.value)
                    ids = set(found) if found else set()
                else:
                    ids = set()
                    for value, posting in values.items():
                        if matcher.matches(value):
                            ids |= posting
                result = ids if result is None else result & ids
            else:
                base = tenant.all_ids if result is None else result
                rejected: set[int] = set()
                for value, posting in values.items():
                    if not matcher.matches(value):
                        rejected |= posting
                result = base - rejected
            if not result:
                return set()
        return set(tenant.all_ids) if result is None else result

    def in_range(self, ids: Iterable[int], start_ms: int | None, end_ms: int | None) -> list[int]:
        """The ids whose first..last sample span overlaps ``[start_ms, end_ms]``, sorted."""
        id_array = np.fromiter(ids, dtype=np.int64)
        if len(id_array) == 0:
            return []
        keep = self.last_ts[id_array] >= (-1 if start_ms is None else start_ms)
        if end_ms is not None:
            keep &= self.first_ts[id_array] <= end_ms
        return sorted(id_array[keep].tolist())
