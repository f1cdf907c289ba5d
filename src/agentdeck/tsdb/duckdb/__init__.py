"""The embedded metrics store: one DuckDB file under the data directory.

Layout (see ``docs/storage.md``):

* ``series`` — the series dictionary: dense ``series_id``, tenant, metric name, labels as
  canonical JSON and a stable 64-bit hash of tenant + name + sorted labels. It is loaded
  into memory at start (:mod:`._index`), so labels are stored once per series
  and never per sample.
* ``samples`` — ``(series_id, ts, value)``, appended with Arrow batch inserts (the head),
  mirrored in memory by :mod:`._head` (runs sorted by series id), which serves
  every read of head samples.
* ``samples_sorted`` — the same columns; :meth:`DuckDBStore.compact` moves the head rows of
  each finished 2 h span here, ordered by ``(span, series_id, ts)``, so DuckDB's per-row-group
  min/max lets a read of a few series skip nearly all of it. Reads combine the mirror with
  this table (only for ranges before its watermark).
* ``rollup_1m`` / ``rollup_1h`` — ``(series_id, bucket, min, max, sum, count)`` per minute
  and hour, filled by :meth:`DuckDBStore.rollup`.
* ``tenant_state`` — per-tenant rollup progress.

One writer thread owns the connection that writes. Concurrent :meth:`DuckDBStore.write`
calls queue up and are coalesced into one transaction; each call returns after the
transaction holding its samples committed (DuckDB writes and syncs its write-ahead log on
commit), so a sample acknowledged to a client survives ``kill -9``. A commit costs a few
milliseconds of CPU whatever its size, so while writers overlap (a write arrived during the
previous commit) a lone queued batch waits up to ``commit_linger`` seconds for a second one
to share its commit, as PostgreSQL's ``commit_delay`` does; a lone writer never waits.

Reads run on a small pool of reader threads with their own cursors; only reads of up to 2,000
series by equality matchers that the in-memory head answers alone (numpy, no DuckDB) run on
the event loop. No DuckDB call runs on the event loop.

The parts: :mod:`.sql` (tables, SQL helpers), :mod:`._core` (state shared by every part:
threads, the index, the head, compaction), :mod:`.writes`, :mod:`.reads`, :mod:`.retention`
(retention and rollups), assembled in :mod:`.store`.
"""

from agentdeck.tsdb.duckdb.sql import series_hash
from agentdeck.tsdb.duckdb.store import DuckDBStore

__all__ = ["DuckDBStore", "series_hash"]
