"""The template miner's metrics on the app's registry (``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MINING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class TemplateMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lines = Counter(
            "agentdeck_log_template_lines_mined",
            "Log lines given a template id by the miner.",
            registry=registry,
        )
        self.evicted = Counter(
            "agentdeck_log_templates_evicted",
            "Templates evicted (least recently seen) to keep a tenant under "
            "logintel.max_templates_per_tenant.",
            registry=registry,
        )
        self.templates = Gauge(
            "agentdeck_log_templates",
            "Live templates per tenant (this replica's miners).",
            ["tenant"],
            registry=registry,
        )
        self.seconds = Histogram(
            "agentdeck_log_template_mining_duration_seconds",
            "Time the miner took for one ingest batch of lines.",
            buckets=MINING_BUCKETS,
            registry=registry,
        )
