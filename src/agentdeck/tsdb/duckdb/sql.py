"""The DuckDB file's tables and the SQL pieces the store's parts share."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from uuid import UUID

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.tsdb.base import SeriesKey, StoreError
from agentdeck.tsdb.duckdb._head import SharedLock

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    series_id INTEGER PRIMARY KEY,
    tenant_id UUID NOT NULL,
    name VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,
    hash UBIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS samples_sorted (
    series_id INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_1m (
    series_id INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    sum DOUBLE NOT NULL,
    count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_1h (
    series_id INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    sum DOUBLE NOT NULL,
    count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tenant_state (
    tenant_id UUID PRIMARY KEY,
    rolled_up_to_ms BIGINT NOT NULL
);
"""

# Below this many series a select names the ids inline (lets DuckDB prune by min/max);
# above it, the ids are joined from an Arrow table.
_INLINE_IDS = 256


# Compaction orders samples by (span of this length, series_id, ts): a one-series read touches
# about one row group per span, a fleet-wide read of a short range only the spans it overlaps.
# It runs when a span is finished: once samples newer than its end + COMPACT_LAG_MS arrived.
COMPACT_SPAN_MS = 2 * HOUR_MS
COMPACT_LAG_MS = 5 * 60_000
# Reads of at most this many series that need only the in-memory head run on the event loop
# (numpy: microseconds for one series, about 2 ms for 1,000 series over an hour), sparing the
# hand-off to a reader thread, which costs more than that on a busy machine.
_INLINE_READ_SERIES = 2_000


def all_samples(where: str, columns: str = "series_id, ts, value") -> str:
    """Raw samples from the unsorted head and the compacted table, filtered in both."""
    return (
        f"SELECT {columns} FROM samples WHERE {where} UNION ALL "
        f"SELECT {columns} FROM samples_sorted WHERE {where}"
    )


def series_hash(tenant_id: UUID, key: SeriesKey) -> int:
    """Stable 64-bit hash of tenant + name + sorted labels (the same in every process)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(tenant_id.bytes)
    digest.update(key.name.encode())
    for name, value in key.labels:
        digest.update(b"\x00" + name.encode() + b"\x01" + value.encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest(), "big")


def labels_json(key: SeriesKey) -> str:
    return json.dumps(dict(key.labels), separators=(",", ":"), ensure_ascii=False)


def insert_series(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, UUID, SeriesKey]]) -> None:
    """Add new series to the dictionary table (inside the caller's transaction)."""
    now_ms = int(time.time() * 1000)
    table = pa.Table.from_arrays(
        [
            pa.array([r[0] for r in rows], pa.int32()),
            pa.array([str(r[1]) for r in rows], pa.string()),
            pa.array([r[2].name for r in rows], pa.string()),
            pa.array([labels_json(r[2]) for r in rows], pa.string()),
            pa.array([series_hash(r[1], r[2]) for r in rows], pa.uint64()),
        ],
        names=["series_id", "tenant_id", "name", "labels", "hash"],
    )
    con.from_arrow(table).project(
        f"series_id, CAST(tenant_id AS UUID), name, labels, hash, {now_ms}::BIGINT"
    ).insert_into("series")


@contextlib.contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection,
    what: str,
    moves: SharedLock | None = None,
    on_commit: Callable[[], None] | None = None,
) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK and :class:`StoreError` on any failure.

    With ``moves``, the COMMIT and ``on_commit`` run while holding it exclusively."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        if moves is None:
            con.execute("COMMIT")
        else:
            with moves.exclusive():
                con.execute("COMMIT")
                if on_commit is not None:
                    on_commit()
    except Exception as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise StoreError(f"{what} failed: {exc}") from exc
