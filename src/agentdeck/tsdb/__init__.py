"""Metrics storage: the :class:`Store` protocol and its two implementations.

* :class:`~agentdeck.tsdb.duckdb.DuckDBStore` — embedded, one DuckDB file (the default).
* :class:`~agentdeck.tsdb.victoriametrics.VictoriaMetricsStore` — a VictoriaMetrics server.

Import the implementations from their modules; this package only re-exports the shared
types so that importing it stays cheap.
"""

from agentdeck.tsdb.base import (
    ACTIVE_WINDOW_MS,
    InvalidMatcher,
    Matcher,
    MatchOp,
    SampleBatch,
    SampleBatchBuilder,
    Series,
    SeriesKey,
    Store,
    StoreError,
    StoreStats,
    WriteResult,
)

__all__ = [
    "ACTIVE_WINDOW_MS",
    "InvalidMatcher",
    "MatchOp",
    "Matcher",
    "SampleBatch",
    "SampleBatchBuilder",
    "Series",
    "SeriesKey",
    "Store",
    "StoreError",
    "StoreStats",
    "WriteResult",
]
