"""Log intelligence's metrics on the app's registry (``/metrics``): streams, batches,
anomalies and the alerts they raised. The LLM analyser's counters are its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

ANALYSIS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0)


class LogIntelMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.stream_lines = Counter(
            "agentdeck_log_stream_lines",
            "Ingested lines a stream's filter matched (buffered for its next batch).",
            registry=registry,
        )
        self.dropped = Counter(
            "agentdeck_log_stream_lines_dropped",
            "Matched lines dropped because a stream's buffer was full "
            "(logstreams.max_buffered_lines).",
            registry=registry,
        )
        self.processed = Counter(
            "agentdeck_log_lines_processed",
            "Lines of closed batches analysed by the detectors.",
            registry=registry,
        )
        self.batches = Counter(
            "agentdeck_log_batches_created",
            "Batches cut from streams, by what closed them (size, timeout).",
            ["closed_by"],
            registry=registry,
        )
        self.batches_done = Counter(
            "agentdeck_log_batches_processed",
            "Batches analysed, by outcome (completed, failed).",
            ["status"],
            registry=registry,
        )
        self.anomalies = Counter(
            "agentdeck_log_anomalies_detected",
            "Anomalies stored, by type and by the detector or analyser that found them.",
            ["type", "detector"],
            registry=registry,
        )
        self.alerts = Counter(
            "agentdeck_log_anomaly_alerts",
            "Alerts raised (created) or updated (a recurring anomaly) by anomalies.",
            ["action"],
            registry=registry,
        )
        self.active_streams = Gauge(
            "agentdeck_log_streams_active", "Active log streams (all tenants).", registry=registry
        )
        self.open_batches = Gauge(
            "agentdeck_log_batches_open",
            "Batches waiting (pending) or being analysed (processing).",
            ["status"],
            registry=registry,
        )
        self.analysis_seconds = Histogram(
            "agentdeck_log_batch_analysis_duration_seconds",
            "Time to analyse one batch: every detector, then any analyser.",
            buckets=ANALYSIS_BUCKETS,
            registry=registry,
        )
        for label in ("size", "timeout"):
            self.batches.labels(closed_by=label)
        for status in ("completed", "failed"):
            self.batches_done.labels(status=status)
        for status in ("pending", "processing"):
            self.open_batches.labels(status=status)
        for action in ("created", "updated"):
            self.alerts.labels(action=action)
