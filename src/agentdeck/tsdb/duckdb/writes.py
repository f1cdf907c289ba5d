"""Writes of the DuckDB store: queued calls coalesced into one transaction on the writer
thread, acknowledged once committed."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.tsdb.base import SampleBatch, SeriesKey, StoreError, WriteResult
from agentdeck.tsdb.duckdb._core import StoreCore, _Pending
from agentdeck.tsdb.duckdb.sql import insert_series, transaction


class Writes(StoreCore):
    # --- writes ------------------------------------------------------------------------------

    async def write(self, tenant_id: UUID, batch: SampleBatch) -> WriteResult:
        if self._closing or self._wake is None:
            raise StoreError("the metrics store is closed")
        self._write_calls += 1
        if len(batch) == 0:
            return WriteResult(samples=0, new_series=0)
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(tenant_id, batch, future))
        self._wake.set()
        return await future

    async def _writer_loop(self) -> None:
        assert self._wake is not None
        overlapping = False  # did a write arrive while the last group committed?
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if overlapping and len(self._pending) == 1 and not self._closing:
                    await self._linger()
                group = self._take_group()
                arrived = self._write_calls
                await self._commit_group(group)
                overlapping = self._write_calls > arrived
            if self._closing and not self._pending:
                return

    async def _linger(self) -> None:
        """Wait up to ``commit_linger`` for one more batch to join the next commit."""
        assert self._wake is not None
        if self._commit_linger <= 0:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._commit_linger):
                await self._wake.wait()

    def _take_group(self) -> list[_Pending]:
        taken = 0
        count = 0
        for item in self._pending:
            if count and taken + len(item.batch) > self._max_transaction_samples:
                break
            taken += len(item.batch)
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group

    async def _commit_group(self, group: list[_Pending]) -> None:
        try:
            new_counts = await self._run_writer(
                self._commit_sync, [(p.tenant_id, p.batch) for p in group]
            )
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0].future, exc=exc)
                return
            # One bad batch must not fail its neighbours: retry them one by one.
            for item in group:
                await self._commit_group([item])
            return
        for item, new in zip(group, new_counts, strict=True):
            _settle(item.future, WriteResult(samples=len(item.batch), new_series=new))
        if self._compaction_due() is not None:
            await self._run_writer(self._maybe_compact)

    def _commit_sync(self, items: list[tuple[UUID, SampleBatch]]) -> list[int]:
        """One transaction for all ``items``; publishes new series to the index on commit."""
        try:
            return self._commit_unchecked(items)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"metrics write failed: {exc}") from exc

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
        self._samples_written += len(ids)
        self._transactions += 1
        return new_counts


def _settle(
    future: asyncio.Future[WriteResult],
    result: WriteResult | None = None,
    *,
    exc: BaseException | None = None,
) -> None:
    if future.done():  # the caller was cancelled; the write happened (or failed) anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert result is not None
        future.set_result(result)
