"""Settings: nested pydantic-settings with the ``AGENTDECK_`` prefix.

Nested fields use ``__`` as the delimiter, e.g. ``AGENTDECK_SERVER__PORT=9000``.
An optional env file is read from the path in ``AGENTDECK_ENV_FILE`` (default ``.env``).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Where health-URL probes may go by default: loopback and the private networks, where a
#: self-hosted fleet's agents answer.
DEFAULT_PROBE_ALLOW = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)
MIN_SECRET_KEY_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ServerSettings(BaseModel):
    """The HTTP server: address, request size limit, CORS, trusted proxies and HSTS."""

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest accepted request body (bytes); 413 above."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed for CORS and WebSocket connections (comma-separated).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For is trusted for the client IP.",
    )
    hsts_seconds: int = Field(
        0,
        ge=0,
        description=(
            "Strict-Transport-Security max-age (seconds) sent on responses reached over HTTPS; "
            "0 sends none. Set it (e.g. 31536000) once the site is served over HTTPS only."
        ),
    )

    readiness_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=30,
        description="How long each readiness check (database, metrics store, Redis, ...) may "
        "take before /readyz counts it as failed.",
    )
    readiness_cache_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How long a /readyz verdict is reused; probes arriving meanwhile (or while "
        "a check runs) share it (0: every probe that finds no check running starts one).",
    )

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


class DatabaseSettings(BaseModel):
    """The state database: SQLite (default) or PostgreSQL (for several replicas)."""

    url: str = Field(
        "sqlite+aiosqlite:///./.agentdeck/state.db",
        description="SQLAlchemy async URL of the state database (SQLite or PostgreSQL).",
    )
    pool_size: int = Field(10, ge=1, description="Connection pool size (PostgreSQL).")
    echo: bool = Field(False, description="Log every SQL statement.")
    sqlite_busy_timeout_ms: int = Field(
        10_000,
        ge=0,
        le=600_000,
        description="SQLite: how long a write waits for another writer before the request is "
        "answered 503 (retry).",
    )


class AuthSettings(BaseModel):
    """Access tokens and the refresh cookie."""

    access_token_ttl_seconds: int = Field(
        900, ge=30, description="Lifetime of a JWT access token (seconds)."
    )
    refresh_token_ttl_seconds: int = Field(
        14 * 24 * 3600, ge=300, description="Lifetime of a refresh token (seconds)."
    )
    cookie_secure: bool = Field(
        False,
        description="Always mark the refresh cookie Secure. It is Secure anyway in production "
        "and on every request that reached the server over HTTPS (X-Forwarded-Proto counts "
        "from a trusted proxy).",
    )
    principal_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description=(
            "How long an authenticated API key or access token is remembered without a "
            "database lookup (0: never). Revoking a key or changing a user clears it at once "
            "on every replica."
        ),
    )
    principal_cache_size: int = Field(
        10_000, ge=0, description="Most authenticated credentials remembered per process."
    )


class RateLimitSettings(BaseModel):
    """Limits per principal (user or API key); in memory, or in Redis when a Redis URL is set."""

    enabled: bool = Field(True, description="Enforce rate limits.")
    write: str = Field(
        "60/minute;1000/hour",
        description="Management writes per principal (limits syntax, ';'-separated).",
    )
    write_production: str = Field(
        "30/minute;1000/hour", description="Management writes per principal in production."
    )
    read: str = Field("1200/minute", description="Reads per principal.")
    ingest: str = Field("6000/minute", description="Telemetry ingest calls per principal.")
    login_failures: str = Field(
        "5/minute",
        description="Failed logins per account (username and email together) and client IP "
        "before 429.",
    )
    fail_open: bool = Field(
        True,
        description="When the limit store (Redis) does not answer: true lets requests through "
        "unlimited (logged, counted in agentdeck_ratelimit_backend_errors_total); false "
        "refuses them with 503 and Retry-After.",
    )


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


class LogStreamSettings(BaseModel):
    """Log intelligence: streams cut ingested lines into batches; detectors and alerts."""

    flush_interval_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds between writes of each replica's buffered stream lines to the "
        "state database (sooner when a stream's buffer reaches its batch size).",
    )
    batch_interval_seconds: float = Field(
        2.0,
        gt=0,
        le=600,
        description="Seconds between rounds of the leased loop that cuts and analyses batches.",
    )
    max_buffered_lines: int = Field(
        100_000,
        ge=1000,
        description="Lines a replica buffers per stream before it drops (counted in "
        "`agentdeck_log_stream_lines_dropped_total`).",
    )
    retention_days: int = Field(
        30, ge=1, le=365, description="Days batches and anomalies are kept."
    )
    cleanup_interval_seconds: float = Field(
        3600.0, gt=0, description="Seconds between rounds of the batch and anomaly cleanup."
    )
    alert_min_severity: Literal["low", "medium", "high", "critical", "none"] = Field(
        "high",
        description="Anomalies of this severity or worse raise an alert (`none`: no alerts).",
    )


class RealtimeSettings(BaseModel):
    """The WebSocket hub: heartbeats, connection caps, replay and metric coalescing."""

    heartbeat_seconds: float = Field(
        30.0, ge=0.05, description="Heartbeat interval; a client silent for two is closed."
    )
    max_connections_per_user: int = Field(
        5, ge=1, description="Open WebSocket connections per user or API key (per replica)."
    )
    replay_buffer: int = Field(
        100, ge=1, description="Events kept per alert/deployment/fleet channel for resume."
    )
    metrics_refresh_seconds: float = Field(
        1.0,
        ge=0.05,
        le=60,
        description="Default interval of metric frames: one frame per interval on average.",
    )
    metrics_burst: int = Field(
        2,
        ge=1,
        le=10,
        description=(
            "Metric frames a subscription may send back to back (its token bucket's size) "
            "before coalescing holds changes back; absorbs jitter in reporting."
        ),
    )
    auth_timeout_seconds: float = Field(
        5.0, ge=0.05, description="Time a new connection has to send its auth message."
    )
    send_queue_size: int = Field(
        256, ge=4, description="Frames queued per connection before a slow client is closed."
    )
    overview_cache_seconds: float = Field(
        5.0, ge=1, le=60, description="How long /api/v1/real-time-metrics answers are reused."
    )
    health_probe_timeout_seconds: float = Field(
        2.0, gt=0, le=30, description="Timeout of one agent health-URL probe."
    )
    heartbeat_fresh_seconds: float = Field(
        60.0, gt=0, description="An agent without a health URL is healthy if seen this recently."
    )
    health_probe_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PROBE_ALLOW),
        description=(
            "More places health-URL probes may go, on top of `outbound.allow` (comma-separated "
            "CIDRs and host names, `*.` wildcards): by default loopback and private networks, "
            "where a self-hosted fleet's agents answer. The rest of the outbound policy applies "
            "(metadata and link-local addresses and `outbound.deny` stay refused)."
        ),
    )

    @field_validator("health_probe_allow", mode="before")
    @classmethod
    def _split_allow(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("health_probe_allow")
    @classmethod
    def _check_allow(cls, value: list[str]) -> list[str]:
        from agentdeck.outbound.policy import parse_entry

        for entry in value:
            parse_entry(entry)  # ValueError: neither a CIDR nor a host name
        return value


class OutboundSettings(BaseModel):
    """The outbound policy: where scrapes, notification channels and health probes may connect.

    Checked after DNS resolution, on every address and every redirect. Cloud metadata,
    link-local, multicast and reserved addresses are always refused."""

    allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs and host names (`*.` wildcards) that may be reached even when they "
        "are loopback or private (comma-separated), e.g. `10.1.0.0/16,*.svc.cluster.local`.",
    )
    deny: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs and host names that are never reached; wins over `allow`.",
    )
    allow_loopback: bool = Field(
        False, description="Allow loopback addresses (127.0.0.0/8, ::1), e.g. for a demo."
    )
    allow_private: bool = Field(
        False,
        description="Allow private and other non-public addresses (10/8, 172.16/12, "
        "192.168/16, 100.64/10, fc00::/7, ...).",
    )
    max_redirects: int = Field(
        5,
        ge=0,
        le=20,
        description="Redirects a scrape follows (each re-checked); channels follow none.",
    )

    @field_validator("allow", "deny", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allow", "deny")
    @classmethod
    def _check(cls, value: list[str]) -> list[str]:
        from agentdeck.outbound.policy import parse_entry

        for entry in value:
            parse_entry(entry)  # ValueError: neither a CIDR nor a host name
        return value


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


class AlertingSettings(BaseModel):
    """Alerting: rule evaluation, the alert lifecycle, routing and the notification dispatcher."""

    evaluator_tick_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the evaluator looks for rules that are due."
    )
    evaluation_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest one rule's query may run before it errors."
    )
    evaluation_concurrency: int = Field(
        8, ge=1, le=256, description="Rules evaluated at once by one evaluator."
    )
    manual_resolve_grace_seconds: float = Field(
        300.0,
        ge=0,
        description="After a manual resolve, a condition still true this long re-fires as a "
        "new alert.",
    )
    external_resolve_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="An alert pushed through /api/v2/alerts without endsAt resolves when not "
        "re-sent for this long (Alertmanager's resolve_timeout).",
    )

    dispatch_interval_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often the dispatcher routes alerts into groups and the outbox.",
    )
    external_url: str = Field(
        "",
        max_length=2048,
        description="Public base URL of this server, for links to alerts in notifications.",
    )


class NotifySettings(BaseModel):
    """Notification delivery: the outbox worker, retries, rate limits and secret encryption."""

    worker_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the delivery worker looks for due notifications."
    )
    batch_size: int = Field(200, ge=1, le=5000, description="Outbox rows claimed per round.")
    concurrency: int = Field(64, ge=1, le=1000, description="Sends in flight per replica.")
    channel_concurrency: int = Field(
        8,
        ge=1,
        le=1000,
        description="Sends in flight to one channel per replica (at most `concurrency`): a slow "
        "or failing channel holds only these, so it delays no other channel.",
    )
    timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of one send (HTTP request or SMTP session)."
    )
    claim_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a claimed row stays locked to one replica; longer than the timeout.",
    )
    max_attempts: int = Field(
        8, ge=1, le=100, description="Attempts before a notification is dead-lettered."
    )
    shutdown_grace_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description="On shutdown, how long sends in flight may finish; the rest are put back in "
        "the queue (not counted as attempts) for the next worker.",
    )
    backoff_base_seconds: float = Field(
        5.0, gt=0, description="First retry delay cap; doubles per attempt (full jitter)."
    )
    backoff_max_seconds: float = Field(
        900.0, gt=0, description="Largest retry delay cap (seconds)."
    )
    default_rate_per_minute: int = Field(
        120, ge=1, description="Deliveries per minute to one channel unless the channel says."
    )
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Former secret keys, still accepted to decrypt channel secrets while the "
        "key is rotated (`agentdeck secrets rotate` re-encrypts them under the current one); "
        "a JSON list also works.",
    )

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _keys_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _claim_outlives_send(self) -> NotifySettings:
        if self.claim_seconds <= self.timeout_seconds:
            raise ValueError("claim_seconds must be longer than timeout_seconds")
        return self


class FleetDriverKind(StrEnum):
    local = "local"
    kubernetes = "kubernetes"


class FleetKubernetesSettings(BaseModel):
    """The Kubernetes driver (``fleet.driver=kubernetes``): where and how agents run as
    Deployments."""

    namespace: str = Field(
        "agentdeck-agents",
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Namespace the agents' Deployments and Services are created in.",
    )
    in_cluster: bool | None = Field(
        None,
        description="Use the pod's service account (in-cluster config). Unset: in-cluster when "
        "KUBERNETES_SERVICE_HOST is set and no kubeconfig is configured, else the kubeconfig.",
    )
    kubeconfig: Path | None = Field(
        None,
        description="A kubeconfig file (unset: KUBECONFIG, else ~/.kube/config) when not "
        "in-cluster.",
    )
    context: str | None = Field(
        None, description="The kubeconfig context to use (unset: its current context)."
    )
    image: str | None = Field(
        None,
        max_length=512,
        description="Container image of the built-in templates (llm, classifier, extractor): an "
        "image with agentdeck installed. Agents that name their own `image` do not need it.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="imagePullPolicy of the agents' containers."
    )
    default_port: int = Field(
        8080,
        ge=1,
        le=65535,
        description="Container port of agents that name none (given to them in PORT).",
    )
    progress_deadline_seconds: int = Field(
        600,
        ge=10,
        le=86_400,
        description="progressDeadlineSeconds of the Deployments: a rollout without progress "
        "this long is ProgressDeadlineExceeded, and the fleet's deployment of it fails (and "
        "is rolled back to the previous revision).",
    )
    service_port: int = Field(
        80, ge=1, le=65535, description="Port of each agent's ClusterIP Service."
    )
    request_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Timeout of one request to the API server."
    )
    watch_timeout_seconds: int = Field(
        300,
        ge=5,
        le=3600,
        description="A watch is closed by the server after this long and resumed from its "
        "last resourceVersion.",
    )
    log_tail_lines: int = Field(
        200, ge=1, le=10_000, description="Most lines read per pod for GET …/output."
    )


class AutoscalerSettings(BaseModel):
    """The autoscaler loop: agents with ``config.auto_scaling.enabled`` gain or lose one replica
    on their average CPU over the last 10 minutes (> 70 %: one more; < 30 %: one fewer)."""

    enabled: bool = Field(True, description="Run the autoscaler loop.")
    interval_seconds: float = Field(
        30.0, gt=0, le=3600, description="How often every autoscaled agent is evaluated."
    )
    cooldown_seconds: float = Field(
        300.0,
        ge=0,
        le=86_400,
        description="After a scale by the autoscaler, no other scale of that agent for this "
        "long (decisions in between are recorded as `cooldown`), so it never flaps.",
    )
    query_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of one agent's CPU query."
    )
    decisions_kept_per_agent: int = Field(
        1000,
        ge=10,
        le=1_000_000,
        description="Most recorded decisions kept per agent (older ones are removed).",
    )


class FleetSettings(BaseModel):
    """The fleet runtime: which driver runs the agents, and how the local supervisor behaves."""

    driver: FleetDriverKind = Field(
        FleetDriverKind.local,
        description="local (supervised subprocesses on this host) or kubernetes.",
    )
    dir: Path | None = Field(
        None,
        description="Where the local driver keeps replica logs and its state file (unset: "
        "`fleet/` under the data directory).",
    )
    reconcile_interval_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How often the fleet loop drives desired state to the driver and records "
        "what it observes (changes in the driver wake it sooner).",
    )
    grace_period_seconds: float = Field(
        10.0,
        ge=0,
        le=600,
        description="How long a replica has to exit after SIGTERM before its process group "
        "gets SIGKILL.",
    )
    backoff_initial_seconds: float = Field(
        1.0, gt=0, description="First restart delay of a replica that exited; doubles per exit."
    )
    backoff_max_seconds: float = Field(300.0, gt=0, description="Longest restart delay (seconds).")
    backoff_reset_seconds: float = Field(
        60.0,
        gt=0,
        description="A replica that ran this long before exiting starts its backoff over.",
    )
    crash_loop_restarts: int = Field(
        5,
        ge=1,
        le=100,
        description="Quick exits in a row after which a replica is in a crash loop: the agent's "
        "status becomes `error` with its last stderr lines (restarts go on, backed off).",
    )
    readiness_deadline_seconds: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="How long a deployment's new replicas have to become ready before it is "
        "rolled back automatically (a deployment may ask for its own).",
    )
    max_replicas: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most replica processes the local driver runs on this host at once; a "
        "start, scale or deployment that needs more is refused (409).",
    )
    probe_interval_seconds: float = Field(
        5.0, gt=0, le=300, description="How often a ready replica's health path is probed."
    )
    startup_probe_interval_seconds: float = Field(
        0.25,
        gt=0,
        le=60,
        description="How often a replica that is not ready yet is probed.",
    )
    probe_timeout_seconds: float = Field(
        2.0, gt=0, le=60, description="Timeout of one health probe."
    )
    failure_threshold: int = Field(
        3, ge=1, le=100, description="Failed probes in a row before a ready replica is unready."
    )
    min_ready_seconds: float = Field(
        1.0,
        ge=0,
        le=600,
        description="A replica without a health path is ready once it has run this long.",
    )
    log_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=10,
        description="How often the replicas' output files are read for new lines.",
    )
    log_buffer_lines: int = Field(
        1000, ge=10, le=100_000, description="Output lines kept in memory per replica."
    )
    log_file_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=64 * 1024,
        description="A replica's output file is emptied once read past this size.",
    )
    keep_replicas_on_shutdown: bool = Field(
        False,
        description="On a graceful shutdown leave the replicas running for the next start to "
        "re-adopt (zero-downtime upgrades); false stops them. After a crash (kill -9) they "
        "keep running either way and are re-adopted or restarted on the next start.",
    )
    cgroup_root: Path | None = Field(
        None,
        description="A cgroup v2 directory delegated to agentdeck (writable, with the cpu and "
        "memory controllers) under which each replica gets its own cgroup; unset: this "
        "process's own cgroup when it allows it. Without one, limits fall back to rlimits.",
    )
    kubernetes: FleetKubernetesSettings = Field(default_factory=FleetKubernetesSettings)
    autoscaler: AutoscalerSettings = Field(default_factory=AutoscalerSettings)


class FeatureFlags(BaseModel):
    """Feature switches."""

    signup: bool = Field(False, description="Allow self-service sign-up (off: admins add users).")
    demo: bool = Field(False, description="Start the simulated demo fleet.")
    demo_interval_seconds: float = Field(
        10.0, ge=0.5, le=3600, description="How often the demo fleet reports (seconds)."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENTDECK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # errors must not echo secrets or URLs with passwords
    )

    def __init__(self, **values: Any) -> None:
        # AGENTDECK_ENV_FILE is read when settings are built, not when this module is imported
        if "_env_file" not in values:
            values["_env_file"] = os.environ.get("AGENTDECK_ENV_FILE", ".env")
        super().__init__(**values)

    environment: Environment = Field(
        Environment.development, description="development, test or production."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs tokens and encrypts secrets. Required (at least 32 characters) in "
        "production and with PostgreSQL, where every replica must share it. Unset on SQLite: "
        "a random key is generated on first start into `secret.key` in the data directory.",
    )
    data_dir: Path = Field(Path("./.agentdeck"), description="Directory for embedded data files.")
    redis_url: str | None = Field(
        None,
        description="Redis URL; when set, rate limits, the event bus and the overview's "
        "ingest counters use Redis (shared by every replica).",
    )
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool | None = Field(
        None, description="JSON logs; default: JSON unless stderr is a terminal."
    )
    default_agent_quota: int = Field(
        10, ge=0, description="Agents each user may own, unless the tenant overrides it."
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    tsdb: TSDBSettings = Field(default_factory=TSDBSettings)
    logs: LogsSettings = Field(default_factory=LogsSettings)
    logintel: LogIntelSettings = Field(default_factory=LogIntelSettings)
    logstreams: LogStreamSettings = Field(default_factory=LogStreamSettings)
    loops: LoopSettings = Field(default_factory=LoopSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    features: FeatureFlags = Field(default_factory=FeatureFlags)

    @field_validator("secret_key")
    @classmethod
    def _production_needs_a_real_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            value = None  # an empty variable counts as unset
        # `environment` is declared before `secret_key`, so it is validated already
        weak = value is None or len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH
        if weak and info.data.get("environment") is Environment.production:
            raise ValueError(
                "AGENTDECK_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production"
            )
        return value

    @property
    def write_limits(self) -> str:
        if self.environment is Environment.production:
            return self.rate_limit.write_production
        return self.rate_limit.write
