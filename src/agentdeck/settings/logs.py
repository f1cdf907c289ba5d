"""Logs (store, ingest limits, queries, live tail) and log intelligence."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, SecretStr


class LogStoreBackend(StrEnum):
    duckdb = "duckdb"
    clickhouse = "clickhouse"


class LogsSettings(BaseModel):
    """Logs: the log store, the limits of log ingest, queries, retention and the live tail."""

    backend: LogStoreBackend = Field(
        LogStoreBackend.duckdb,
        description="duckdb (embedded file under the data directory) or clickhouse.",
    )
    duckdb_file: str = Field(
        "logs.duckdb",
        description="DuckDB file of the log store, relative to the data directory (beside the "
        "metrics store's file).",
    )
    duckdb_memory_limit: str = Field(
        "256MB", description="Memory the log store's DuckDB may use for queries and writes."
    )
    clickhouse_url: str = Field(
        "clickhouse://127.0.0.1:9000",
        description="ClickHouse server (backend clickhouse), native protocol: "
        "clickhouse://host:port.",
    )
    clickhouse_database: str = Field("agentdeck", description="ClickHouse database of the logs.")
    clickhouse_user: str = Field("default", description="ClickHouse user.")
    clickhouse_password: SecretStr = Field(
        SecretStr(""), description="ClickHouse password (empty: none)."
    )
    retention_days: int = Field(
        7,
        ge=1,
        le=3650,
        description="Days log lines are kept unless the tenant sets its own; older lines are "
        "deleted by the retention loop and refused at ingest.",
    )
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="Seconds between runs of the log retention loop."
    )
    max_line_bytes: int = Field(
        256 * 1024,
        ge=1024,
        description="Longest log line (bytes of UTF-8); longer lines are cut to this and "
        "flagged `truncated`.",
    )
    max_batch_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Largest ingest request body once decompressed (bytes); 413 above.",
    )
    max_labels: int = Field(
        30, ge=1, le=1000, description="Most labels on one line; a line with more is refused."
    )
    max_label_name_bytes: int = Field(
        128, ge=1, description="Longest label name (bytes); a line with a longer one is refused."
    )
    max_label_value_bytes: int = Field(
        2048, ge=1, description="Longest label value (bytes); a line with a longer one is refused."
    )
    max_streams_per_tenant: int = Field(
        10_000,
        ge=1,
        description="Distinct streams (service, agent and stream labels) a tenant may have "
        "active per server; lines of new streams above it are refused (label cardinality "
        "limit).",
    )
    stream_idle_seconds: float = Field(
        3600.0,
        gt=0,
        description="A stream that got no line for this long stops counting against "
        "`max_streams_per_tenant`.",
    )
    max_future_seconds: int = Field(
        600,
        ge=0,
        description="How far in the future a line's timestamp may be; lines further ahead are "
        "refused (older than the retention are refused too).",
    )
    query_default_range_seconds: int = Field(
        3600, ge=1, description="The range a query without start and end covers (ending now)."
    )
    query_max_range_days: int = Field(
        31, ge=1, description="The longest range a query or histogram may cover."
    )
    query_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest one log query may run before it is refused."
    )
    tail_queue_lines: int = Field(
        1000,
        ge=10,
        description="Lines held per live-tail subscription while the client reads slower than "
        "lines arrive; beyond it lines are dropped and counted in a `dropped` marker.",
    )
    tail_frame_lines: int = Field(
        200, ge=1, le=5000, description="Most lines in one live-tail frame."
    )


class LogIntelSettings(BaseModel):
    """Log intelligence: template mining of every ingested line."""

    mining_enabled: bool = Field(
        True, description="Give every ingested log line a template id (the online miner)."
    )
    max_templates_per_tenant: int = Field(
        10_000,
        ge=10,
        le=1_000_000,
        description="Most templates a tenant's miner keeps; the least recently seen is evicted "
        "beyond it (counted in `agentdeck_log_templates_evicted`).",
    )
    template_samples: int = Field(
        5, ge=1, le=50, description="Sample lines kept per template (the first ones seen)."
    )
    template_services: int = Field(
        20, ge=1, le=1000, description="Services remembered per template (the first ones seen)."
    )
    template_trend_hours: int = Field(
        24, ge=2, le=168, description="Hourly buckets of each template's rate trend."
    )
    templates_save_interval_seconds: float = Field(
        60.0,
        gt=0,
        description="Seconds between saves of the miners' state to the state database (also "
        "saved on shutdown).",
    )
