"""The metrics store, telemetry ingest limits and the scrape and retention loops."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class MetricsStoreBackend(StrEnum):
    duckdb = "duckdb"
    victoriametrics = "victoriametrics"


class TSDBSettings(BaseModel):
    """The metrics store and the limits of telemetry ingest."""

    backend: MetricsStoreBackend = Field(
        MetricsStoreBackend.duckdb,
        description="duckdb (embedded file under the data directory) or victoriametrics.",
    )
    duckdb_file: str = Field(
        "metrics.duckdb", description="DuckDB file name, relative to the data directory."
    )
    duckdb_memory_limit: str = Field(
        "256MB", description="Memory DuckDB may use for queries and writes."
    )
    duckdb_commit_linger_ms: float = Field(
        2.0,
        ge=0,
        le=100,
        description="While ingest requests overlap, how long a lone batch waits for another "
        "to share its DuckDB commit (each commit costs a few ms of CPU); 0: never waits.",
    )
    victoriametrics_url: str = Field(
        "http://127.0.0.1:8428", description="VictoriaMetrics base URL (backend victoriametrics)."
    )
    victoriametrics_write_coalescing: bool = Field(
        True,
        description="Concurrent writes to VictoriaMetrics share one import request (each "
        "is acknowledged once that request succeeded); off: one request per write.",
    )
    victoriametrics_write_linger_ms: float = Field(
        2.0,
        ge=0,
        le=100,
        description="While writes to VictoriaMetrics overlap, how long one waits for others "
        "to share its import request (a lone writer never waits); 0: never waits (writes "
        "queued while a request is in flight still share the next one).",
    )
    victoriametrics_max_request_samples: int = Field(
        20_000,
        ge=1,
        description="Most samples in one coalesced import request (a larger single write is "
        "sent alone, never split).",
    )
    victoriametrics_max_queued_samples: int = Field(
        200_000,
        ge=1,
        description="Most samples waiting for or in an import request; a write beyond it is "
        "refused as store-unavailable (503, retry) instead of buffered.",
    )
    retention_days: int = Field(30, ge=1, description="Default retention of raw samples (days).")
    max_active_series: int = Field(
        200_000, ge=1, description="Active series per tenant; new series above it are rejected."
    )
    max_batch_samples: int = Field(
        10_000, ge=1, description="Most samples in one JSON ingest batch."
    )
    max_labels: int = Field(40, ge=1, description="Most labels on one sample.")
    max_metric_name_bytes: int = Field(
        255,
        ge=1,
        le=255,
        description="Longest metric name (bytes); a sample with a longer one is refused. At "
        "most 255, the width of the metric metadata table's name column.",
    )
    max_label_name_bytes: int = Field(
        255,
        ge=1,
        description="Longest label name (bytes); a sample with a longer one is refused. "
        "VictoriaMetrics truncates label names above 256 bytes by default (-maxLabelNameLen).",
    )
    max_label_value_bytes: int = Field(
        2048,
        ge=1,
        description="Longest label value (bytes); a sample with a longer one is refused.",
    )
    future_tolerance_seconds: int = Field(
        600, ge=0, description="How far in the future a sample timestamp may be."
    )
    json_decode_processes: int | None = Field(
        None,
        ge=0,
        description="Worker processes that decode JSON batch bodies of 64 KiB or more beside "
        "the event loop (unset: two on a machine with two CPUs or more; 0: decode in the "
        "server process).",
    )


class LoopSettings(BaseModel):
    """Background loops (scraper, retention) and how often they run."""

    enabled: bool = Field(
        True, description="Run the background loops in this process (leases keep one per loop)."
    )
    scrape_tick_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the scraper looks for targets that are due."
    )
    scrape_concurrency: int = Field(32, ge=1, le=1000, description="Most scrapes in flight.")
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="Seconds between retention and downsampling runs."
    )
    rollup_lag_seconds: int = Field(
        3600, ge=0, description="Raw samples younger than this are not rolled up yet."
    )
