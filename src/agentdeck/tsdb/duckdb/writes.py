"""Writes of the DuckDB store: queued calls coalesced into one transaction on the writer
thread (:class:`~agentdeck.db.group_commit.GroupCommit`), acknowledged once committed."""

from __future__ import annotations

from collections.abc import Awaitable
from uuid import UUID

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.db.group_commit import GroupCommit, on_executor
from agentdeck.tsdb.base import SampleBatch, SeriesKey, StoreError, WriteResult
from agentdeck.tsdb.duckdb._core import StoreCore, TenantBatch, _closed
from agentdeck.tsdb.duckdb.sql import insert_series, transaction


class Writes(StoreCore):
    # --- writes ------------------------------------------------------------------------------

    async def write(self, tenant_id: UUID, batch: SampleBatch) -> WriteResult:
        if self._closing or self._group is None:
            raise StoreError("the metrics store is closed")
        return await self._group.submit(TenantBatch(tenant_id, batch))

    def _start_writes(self) -> None:
        """Start the group commit (after the file is open)."""
        self._group = GroupCommit(
            list,
            on_executor(self._threads.writer, self._commit_sync),
            None,  # preparing is nothing: the series are resolved on the writer thread
            empty=WriteResult(samples=0, new_series=0),
            closed=_closed,
            on_failure="retry_each_batch",  # one bad batch fails only its own caller
            linger=self._commit_linger,
            linger_for="company",
            max_records=self._max_transaction_samples,
            name="tsdb-duckdb-writer",
            housekeeping=self._compaction_work,
        )
        self._group.start()

    def _compaction_work(self) -> Awaitable[None] | None:
        if self._compaction_due() is None:
            return None
        return self._threads.run_writer(self._maybe_compact)

    def _commit_sync(self, items: list[TenantBatch]) -> list[WriteResult]:
        """One transaction for all ``items``; publishes new series to the index on commit."""
        try:
            new_counts = self._commit_unchecked([(i.tenant_id, i.batch) for i in items])
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"metrics write failed: {exc}") from exc
        return [
            WriteResult(samples=len(item.batch), new_series=new)
            for item, new in zip(items, new_counts, strict=True)
        ]

    def _commit_unchecked(self, items: list[tuple[UUID, SampleBatch]]) -> list[int]:
        con = self._db
        index = self._index
        next_id = index.next_id
        new_keys: dict[tuple[UUID, SeriesKey], int] = {}
        new_rows: list[tuple[int, UUID, SeriesKey]] = []
        new_counts: list[int] = []
        id_parts: list[np.ndarray] = []
        for tenant_id, batch in items:
            n = len(batch.series)
            series_ids = index.resolve(tenant_id, batch.series, batch.tags)
            before = len(new_rows)
            missing = np.flatnonzero(series_ids < 0)
            if len(missing):
                # Only series that have samples in this batch become new series.
                used = np.bincount(batch.series_index, minlength=n) > 0
                for i in missing.tolist():
                    if not used[i]:
                        continue
                    key = batch.series[i]
                    series_id = new_keys.get((tenant_id, key))
                    if series_id is None:
                        series_id = new_keys[(tenant_id, key)] = next_id
                        new_rows.append((next_id, tenant_id, key))
                        next_id += 1
                    series_ids[i] = series_id
            new_counts.append(len(new_rows) - before)
            id_parts.append(series_ids[batch.series_index])
        ids = np.concatenate(id_parts) if len(id_parts) > 1 else id_parts[0]
        if len(items) > 1:
            timestamps = np.concatenate([batch.timestamps for _, batch in items])
            values = np.concatenate([batch.values for _, batch in items])
        else:
            timestamps, values = items[0][1].timestamps, items[0][1].values
        samples = pa.Table.from_arrays(
            [pa.array(ids), pa.array(timestamps), pa.array(values)],
            names=["series_id", "ts", "value"],
        )
        if new_rows:
            with transaction(con, "metrics write"):
                insert_series(con, new_rows)
                con.from_arrow(samples).insert_into("samples")
        else:
            # A lone INSERT is its own transaction: committed (WAL synced) when it returns.
            try:
                con.from_arrow(samples).insert_into("samples")
            except duckdb.Error as exc:
                raise StoreError(f"metrics write failed: {exc}") from exc
        with index.lock:
            if new_rows:
                index.add((tenant, key, series_id) for series_id, tenant, key in new_rows)
            index.update_times(ids, timestamps)
        self._head.append(ids, timestamps, values)
        self._max_ts = max(self._max_ts, int(timestamps.max()))
        return new_counts
