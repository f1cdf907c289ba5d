"""The logs domain's own metrics on the app's registry (``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LogMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.ingested = Counter(
            "agentdeck_log_lines_ingested",
            "Log lines accepted and written to the log store, by ingest path (otlp, batch, loki).",
            ["path"],
            registry=registry,
        )
        self.bytes = Counter(
            "agentdeck_log_ingest_bytes",
            "Bytes of log ingest request bodies (decompressed), by ingest path.",
            ["path"],
            registry=registry,
        )
        self.rejected = Counter(
            "agentdeck_log_lines_rejected",
            "Log lines refused by ingest, by reason.",
            ["reason"],
            registry=registry,
        )
        self.truncated = Counter(
            "agentdeck_log_lines_truncated",
            "Log lines stored cut to logs.max_line_bytes.",
            registry=registry,
        )
        self.write_seconds = Histogram(
            "agentdeck_log_store_write_duration_seconds",
            "Time one ingest request's lines took to be written durably to the log store.",
            buckets=WRITE_BUCKETS,
            registry=registry,
        )
        self.tail_dropped = Counter(
            "agentdeck_log_tail_dropped_lines",
            "Live-tail lines dropped for subscribers that read slower than lines arrived.",
            registry=registry,
        )
