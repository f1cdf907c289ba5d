"""Generated metric data shared by the store tests (deterministic for a given seed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agentdeck.tsdb.base import SampleBatch, SeriesKey

# 2024-06-03T00:00:00Z: a fixed day, so day-granular label APIs are predictable.
T0 = 1_717_372_800_000
DAY = 86_400_000
STEP = 15_000

METRICS = ("cpu_percent", "memory_percent", "requests_total", "latency_ms")
REGIONS = ("eu-west", "us-east", "ap-south")


@dataclass
class GeneratedSeries:
    name: str
    labels: dict[str, str]
    timestamps: np.ndarray
    values: np.ndarray

    @property
    def key(self) -> SeriesKey:
        return SeriesKey.of(self.name, self.labels)


def fleet(
    agents: int = 12,
    points: int = 40,
    *,
    seed: int = 7,
    start: int = T0,
    step: int = STEP,
    metrics: tuple[str, ...] = METRICS,
) -> list[GeneratedSeries]:
    """Series of a small fleet: every agent reports every metric at every step.

    Gauges have two decimals and counters are whole numbers, so every value has at most 12
    significant digits and survives VictoriaMetrics's decimal encoding exactly. Agents with an
    even number carry a ``canary="yes"`` label; the others have no ``canary`` label at all.
    """
    rng = np.random.default_rng(seed)
    timestamps = start + np.arange(points, dtype=np.int64) * step
    out: list[GeneratedSeries] = []
    for agent in range(agents):
        for name in metrics:
            labels = {"agent": f"agent-{agent:03d}", "region": REGIONS[agent % len(REGIONS)]}
            if agent % 2 == 0:
                labels["canary"] = "yes"
            if name.endswith("_total"):
                values = np.cumsum(rng.integers(0, 50, points)).astype(np.float64)
            else:
                values = np.round(rng.uniform(0, 100, points), 2)
            out.append(GeneratedSeries(name, labels, timestamps.copy(), values))
    return out


def batch_of(series: list[GeneratedSeries]) -> SampleBatch:
    return SampleBatch.from_series((s.name, s.labels, s.timestamps, s.values) for s in series)


def interleaved_batches(series: list[GeneratedSeries], size: int) -> list[SampleBatch]:
    """The samples in time order (as a fleet sends them), cut into batches of ``size``."""
    keys = tuple(s.key for s in series)
    index = np.concatenate([np.full(len(s.timestamps), i, np.int32) for i, s in enumerate(series)])
    timestamps = np.concatenate([s.timestamps for s in series])
    values = np.concatenate([s.values for s in series])
    order = np.lexsort((index, timestamps))
    index, timestamps, values = index[order], timestamps[order], values[order]
    return [
        SampleBatch(keys, index[i : i + size], timestamps[i : i + size], values[i : i + size])
        for i in range(0, len(index), size)
    ]
