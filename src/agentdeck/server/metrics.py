"""The server's own Prometheus metrics, in a registry per app (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from sqlalchemy.ext.asyncio import AsyncEngine

from agentdeck import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "agentdeck_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "agentdeck_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "agentdeck_http_requests_in_flight",
            "HTTP requests being served now.",
            registry=self.registry,
        )
        self.db_pool = Gauge(
            "agentdeck_db_pool_connections",
            "State database pool connections by state.",
            ["state"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "agentdeck_rate_limited_total",
            "Requests refused with 429, by limit class.",
            ["limit"],
            registry=self.registry,
        )
        self.ratelimit_backend_errors = Counter(
            "agentdeck_ratelimit_backend_errors_total",
            "Rate-limit checks decided without the limit store (Redis did not answer), by "
            "limit class: let through (fail open) or refused with 503 (fail closed).",
            ["limit"],
            registry=self.registry,
        )
        build = Info("agentdeck_build", "Build information.", registry=self.registry)
        build.info({"version": __version__})

    def observe_pool(self, engine: AsyncEngine) -> None:
        pool = engine.sync_engine.pool
        for state in ("checkedout", "checkedin", "overflow", "size"):
            reader = getattr(pool, state, None)
            if callable(reader):
                self.db_pool.labels(state=state).set(float(reader()))
