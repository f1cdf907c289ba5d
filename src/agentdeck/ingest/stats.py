"""Ingest counters for ``/metrics``: samples accepted, and refused by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class IngestStats:
    """Counters of one ingestor, shown on ``/metrics``."""

    __slots__ = ("accepted", "rejected")

    def __init__(self) -> None:
        self.accepted = 0
        self.rejected: Counter[str] = Counter()

    def exposition(self) -> bytes:
        """``agentdeck_ingested_samples_total`` and ``agentdeck_rejected_samples_total``."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_IngestCollector(self))
        return generate_latest(registry)


class _IngestCollector(Collector):
    def __init__(self, stats: IngestStats) -> None:
        self._stats = stats

    def collect(self) -> Iterable[CounterMetricFamily]:
        accepted = CounterMetricFamily(
            "agentdeck_ingested_samples", "Samples accepted by ingest and written to the store."
        )
        accepted.add_metric([], float(self._stats.accepted))
        yield accepted
        rejected = CounterMetricFamily(
            "agentdeck_rejected_samples",
            "Samples refused by ingest, by reason.",
            labels=["reason"],
        )
        for reason, count in sorted(self._stats.rejected.items()):
            rejected.add_metric([reason], float(count))
        yield rejected
