"""Retention and downsampling of the DuckDB store: samples, rollups and dead series deleted
before a tenant's cutoff; raw samples rolled up into 1-minute and 1-hour rows."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.tsdb.base import Int64Array, Matcher, check_selector
from agentdeck.tsdb.duckdb._core import StoreCore
from agentdeck.tsdb.duckdb.sql import HOUR_MS, MINUTE_MS, all_samples, transaction


class Retention(StoreCore):
    # --- retention and rollups ---------------------------------------------------------------

    async def delete_before(self, tenant_id: UUID, ts_ms: int) -> None:
        await self._run_writer(self._delete_before_sync, tenant_id, ts_ms)

    def _delete_before_sync(self, tenant_id: UUID, ts_ms: int) -> None:
        con = self._db
        index = self._index
        with index.lock:
            tenant = index.tenants.get(tenant_id)
            ids = np.fromiter(tenant.all_ids, dtype=np.int64) if tenant else np.empty(0, np.int64)
        if len(ids) == 0:
            return
        dead = ids[index.last_ts[ids] < ts_ms]
        tenant_str = str(tenant_id)
        left = self._head.without(ts_ms, ids=ids)
        with transaction(con, "metrics retention", self._moves, lambda: self._head.publish(left)):
            for table, column in (
                ("samples", "ts"),
                ("samples_sorted", "ts"),
                ("rollup_1m", "bucket"),
                ("rollup_1h", "bucket"),
            ):
                con.execute(
                    f"DELETE FROM {table} WHERE {column} < $1 AND series_id IN "
                    "(SELECT series_id FROM series WHERE tenant_id = $2::UUID)",
                    [ts_ms, tenant_str],
                )
            if len(dead):
                dead_table = pa.table({"series_id": pa.array(dead.astype(np.int32))})
                con.register("_dead_series", dead_table)
                try:
                    con.execute(
                        "DELETE FROM series WHERE series_id IN (SELECT series_id FROM _dead_series)"
                    )
                finally:
                    con.unregister("_dead_series")
        with index.lock:
            index.remove(dead.tolist())
            alive = ids[index.last_ts[ids] >= ts_ms]
            index.first_ts[alive] = np.maximum(index.first_ts[alive], ts_ms)

    async def rollup(self, tenant_id: UUID, before_ms: int) -> int:
        return await self._run_writer(self._rollup_sync, tenant_id, before_ms)

    def _rollup_sync(self, tenant_id: UUID, before_ms: int) -> int:
        """Aggregate whole hours of raw samples in ``[progress, before)`` into the rollups."""
        con = self._db
        before = before_ms - before_ms % HOUR_MS
        tenant_str = str(tenant_id)
        row = con.execute(
            "SELECT rolled_up_to_ms FROM tenant_state WHERE tenant_id = $1::UUID", [tenant_str]
        ).fetchone()
        progress = int(row[0]) if row else 0
        if before <= progress:
            return 0
        with transaction(con, "metrics rollup"):
            con.execute(
                f"""
                INSERT INTO rollup_1m
                SELECT series_id, ts - ts % {MINUTE_MS} AS bucket,
                       min(value), max(value), sum(value), count(*)
                FROM ({all_samples("ts >= $1 AND ts < $2")})
                WHERE series_id IN (SELECT series_id FROM series WHERE tenant_id = $3::UUID)
                GROUP BY ALL
                """,
                [progress, before, tenant_str],
            )
            con.execute(
                f"""
                INSERT INTO rollup_1h
                SELECT series_id, bucket - bucket % {HOUR_MS} AS hour,
                       min(min), max(max), sum(sum), sum(count)::BIGINT
                FROM rollup_1m
                WHERE bucket >= $1 AND bucket < $2 AND series_id IN
                      (SELECT series_id FROM series WHERE tenant_id = $3::UUID)
                GROUP BY ALL
                """,
                [progress, before, tenant_str],
            )
            counted = con.execute(
                "SELECT coalesce(sum(count), 0) FROM rollup_1h WHERE bucket >= $1 AND "
                "bucket < $2 AND series_id IN "
                "(SELECT series_id FROM series WHERE tenant_id = $3::UUID)",
                [progress, before, tenant_str],
            ).fetchone()
            con.execute(
                "INSERT INTO tenant_state VALUES ($1::UUID, $2) "
                "ON CONFLICT (tenant_id) DO UPDATE SET rolled_up_to_ms = excluded.rolled_up_to_ms",
                [tenant_str, before],
            )
        return int(counted[0]) if counted else 0

    async def rollups(
        self, tenant_id: UUID, resolution: str, matchers: Sequence[Matcher]
    ) -> list[tuple[dict[str, str], Int64Array, np.ndarray]]:
        """Rollup rows of matching series: ``(metric, buckets, [[min, max, sum, count]])``.

        ``resolution`` is ``"1m"`` or ``"1h"``. Reading rollups is not part of the query path
        yet; this exists for inspection and tests.
        """
        if resolution not in ("1m", "1h"):
            raise ValueError("resolution must be '1m' or '1h'")
        check_selector(matchers)
        return await self._run_reader(self._rollups_sync, tenant_id, resolution, matchers)

    def _rollups_sync(
        self,
        cursor: duckdb.DuckDBPyConnection,
        tenant_id: UUID,
        resolution: str,
        matchers: Sequence[Matcher],
    ) -> list[tuple[dict[str, str], Int64Array, np.ndarray]]:
        found = self._resolve(tenant_id, matchers, None, None)
        out = []
        for series_id, key in sorted(found, key=lambda item: item[1]):
            rows = cursor.execute(
                f"SELECT bucket, min, max, sum, count FROM rollup_{resolution} "
                "WHERE series_id = $1 ORDER BY bucket",
                [series_id],
            ).fetchnumpy()
            if len(rows["bucket"]):
                stats = np.column_stack(
                    [np.asarray(rows[c], np.float64) for c in ("min", "max", "sum", "count")]
                )
                out.append((key.metric(), np.asarray(rows["bucket"], np.int64), stats))
        return out
