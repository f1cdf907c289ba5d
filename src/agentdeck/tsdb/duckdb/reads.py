"""Reads of the DuckDB store: samples (from the in-memory head and the compacted table), the
label APIs and active series."""

from __future__ import annotations

import time
from collections.abc import Sequence
from uuid import UUID

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.tsdb.base import (
    ACTIVE_WINDOW_MS,
    Int64Array,
    Matcher,
    MatchOp,
    Series,
    SeriesKey,
    StoreError,
    check_selector,
)
from agentdeck.tsdb.duckdb._core import StoreCore
from agentdeck.tsdb.duckdb.sql import _INLINE_IDS, _INLINE_READ_SERIES
from agentdeck.tsdb.names import METRIC_NAME_LABEL


class Reads(StoreCore):
    # --- reads -------------------------------------------------------------------------------

    async def select(
        self, tenant_id: UUID, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[Series]:
        check_selector(matchers)
        if self._closed:
            raise StoreError("the metrics store is closed")
        if start_ms >= self._head.view.sorted_until and all(m.op is MatchOp.eq for m in matchers):
            # Equality matchers resolve with a few set lookups; when the range is all in the
            # in-memory head and the series are few, reading is cheaper than a thread hand-off.
            found = self._resolve(tenant_id, matchers, start_ms, end_ms)
            view = self._head.view
            if len(found) <= _INLINE_READ_SERIES and start_ms >= view.sorted_until:
                return _assemble(found, *view.read(_ids(found), start_ms, end_ms))
            return await self._run_reader(self._read_sync, found, start_ms, end_ms)
        return await self._run_reader(self._select_sync, tenant_id, matchers, start_ms, end_ms)

    def _select_sync(
        self,
        cursor: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
    ) -> list[Series]:
        found = self._resolve(tenant_id, matchers, start_ms, end_ms)
        return self._read_sync(cursor, found, start_ms, end_ms)

    def _read_sync(
        self,
        cursor: duckdb.DuckDBPyConnection,
        found: list[tuple[int, SeriesKey]],
        start_ms: int,
        end_ms: int,
    ) -> list[Series]:
        """Samples of the resolved series: the in-memory head, plus the compacted table when
        the range reaches before ``sorted_until`` (both seen at the same moment)."""
        if not found or start_ms > end_ms:
            return []
        ids = _ids(found)
        view = self._head.view
        if start_ms >= view.sorted_until:
            return _assemble(found, *view.read(ids, start_ms, end_ms))
        with self._moves.shared():
            view = self._head.view
            head = view.read(ids, start_ms, end_ms)
            where = f"ts BETWEEN {int(start_ms)} AND {int(min(end_ms, view.sorted_until - 1))}"
            if len(ids) <= _INLINE_IDS:
                in_list = ",".join(map(str, ids.tolist()))
                result = cursor.execute(
                    f"SELECT series_id, ts, value FROM samples_sorted "
                    f"WHERE series_id IN ({in_list}) AND {where}"
                ).fetchnumpy()
            else:
                wanted = pa.table({"series_id": pa.array(ids.astype(np.int32))})
                cursor.register("_wanted", wanted)
                # The id bounds let the scan skip row groups of the sorted table.
                try:
                    result = cursor.execute(
                        "SELECT s.series_id, s.ts, s.value FROM samples_sorted s "
                        "SEMI JOIN _wanted w ON s.series_id = w.series_id "
                        f"WHERE s.series_id BETWEEN {ids[0]} AND {ids[-1]} AND s.{where}"
                    ).fetchnumpy()
                finally:
                    cursor.unregister("_wanted")
        return _assemble(
            found,
            np.concatenate((np.asarray(result["series_id"], np.int64), head[0])),
            np.concatenate((np.asarray(result["ts"], np.int64), head[1])),
            np.concatenate((np.asarray(result["value"], np.float64), head[2])),
        )

    async def series(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, str]]:
        check_selector(matchers)
        found = await self._in_reader(self._resolve, tenant_id, matchers, start_ms, end_ms)
        return [key.metric() for key in sorted(key for _, key in found)]

    async def _label_scope(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None,
        end_ms: int | None,
    ) -> list[tuple[int, SeriesKey]] | None:
        """The series the label routes look at, or None for all of them (the index answers)."""
        if matchers:
            check_selector(matchers)
        elif start_ms is None and end_ms is None:
            return None
        return await self._in_reader(self._resolve, tenant_id, matchers, start_ms, end_ms)

    async def label_names(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        found = await self._label_scope(tenant_id, matchers, start_ms, end_ms)
        if found is None:
            return await self._in_reader(self._all_label_names, tenant_id)
        names = {name for _, key in found for name, _ in key.labels}
        if found:
            names.add(METRIC_NAME_LABEL)
        return sorted(names)

    def _all_label_names(self, tenant_id: UUID) -> list[str]:
        with self._index.lock:
            tenant = self._index.tenants.get(tenant_id)
            return sorted(tenant.postings) if tenant else []

    async def label_values(
        self,
        tenant_id: UUID,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        found = await self._label_scope(tenant_id, matchers, start_ms, end_ms)
        if found is None:
            return await self._in_reader(self._all_label_values, tenant_id, name)
        if name == METRIC_NAME_LABEL:
            return sorted({key.name for _, key in found})
        values = {dict(key.labels).get(name) for _, key in found}
        values.discard(None)
        return sorted(v for v in values if v is not None)

    def _all_label_values(self, tenant_id: UUID, name: str) -> list[str]:
        with self._index.lock:
            tenant = self._index.tenants.get(tenant_id)
            return sorted(tenant.postings.get(name, {})) if tenant else []

    async def active_series_count(
        self, tenant_id: UUID, *, window_ms: int = ACTIVE_WINDOW_MS, now_ms: int | None = None
    ) -> int:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return await self._in_reader(self._active_sync, tenant_id, now - window_ms)

    def _active_sync(self, tenant_id: UUID, since_ms: int) -> int:
        with self._index.lock:
            tenant = self._index.tenants.get(tenant_id)
            if tenant is None or not tenant.all_ids:
                return 0
            ids = np.fromiter(tenant.all_ids, dtype=np.int64, count=len(tenant.all_ids))
            return int(np.count_nonzero(self._index.last_ts[ids] > since_ms))


def _ids(found: list[tuple[int, SeriesKey]]) -> Int64Array:
    """The (sorted) ids of resolved series as an array."""
    return np.fromiter((series_id for series_id, _ in found), np.int64, count=len(found))


def _assemble(
    found: list[tuple[int, SeriesKey]],
    sids: Int64Array,
    timestamps: Int64Array,
    values: np.ndarray,
) -> list[Series]:
    """Rows of any order grouped into :class:`Series`, samples by time, series by labels."""
    if len(sids) == 0:
        return []
    # Rows read from the head alone usually come grouped by series and in time order: check
    # that in one pass, and sort (cheaper here than ORDER BY in the query) only when not.
    step_sid = np.diff(sids)
    if not bool(np.all((step_sid > 0) | ((step_sid == 0) & (np.diff(timestamps) >= 0)))):
        order = np.lexsort((timestamps, sids))
        sids, timestamps, values = sids[order], timestamps[order], values[order]
        step_sid = np.diff(sids)
    starts = np.concatenate(([0], np.flatnonzero(step_sid) + 1))
    ends = np.append(starts[1:], len(sids))
    where = dict(
        zip(sids[starts].tolist(), zip(starts.tolist(), ends.tolist(), strict=True), strict=True)
    )
    out: list[Series] = []
    # Series keys hold their labels sorted, so ordering by key orders by name, then labels.
    for series_id, key in sorted(found, key=lambda item: item[1]):
        bounds = where.get(series_id)
        if bounds is not None:
            begin, end = bounds
            out.append(Series(key.name, dict(key.labels), timestamps[begin:end], values[begin:end]))
    return out
