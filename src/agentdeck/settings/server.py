"""The HTTP server, the state database, access tokens and rate limits."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agentdeck.settings._lists import CsvList


class ServerSettings(BaseModel):
    """The HTTP server: address, request size limit, CORS, trusted proxies and HSTS."""

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest accepted request body (bytes); 413 above."
    )
    cors_origins: CsvList = Field(
        default_factory=list,
        description="Origins allowed for CORS and WebSocket connections (comma-separated).",
    )
    trusted_proxies: CsvList = Field(
        default_factory=list,
        description="Proxy addresses or networks (CIDR) whose X-Forwarded-For is trusted for "
        "the client IP.",
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
    refresh_reuse_grace_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description=(
            "A refresh token presented again this soon after it was rotated (two tabs, or a "
            "page reload racing the refresh) gets the same successor instead of ending the "
            "login; later, or once the successor was used, a second presentation still revokes "
            "every token of that login (0: no grace)."
        ),
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
