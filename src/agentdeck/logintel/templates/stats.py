"""Per-template statistics beside a tenant's miner: first/last seen, services, samples and an
hourly rate trend, all bounded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

HOUR_NS = 3_600 * 1_000_000_000
MAX_SAMPLE_CHARS = 1_000


@dataclass(slots=True)
class TemplateStats:
    first_ns: int
    last_ns: int
    services: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    #: hour index (ns // HOUR_NS) → lines in that hour; only the newest hours are kept.
    hours: dict[int, int] = field(default_factory=dict)

    def see(
        self, ts_ns: int, service: str, message: str, *, now_hour: int, limits: StatLimits
    ) -> None:
        if ts_ns < self.first_ns:
            self.first_ns = ts_ns
        if ts_ns > self.last_ns:
            self.last_ns = ts_ns
        if service not in self.services and len(self.services) < limits.services:
            self.services.append(service)
        if len(self.samples) < limits.samples:
            self.samples.append(message[:MAX_SAMPLE_CHARS])
        hour = ts_ns // HOUR_NS
        oldest = now_hour - limits.hours + 1
        if oldest <= hour <= now_hour:
            self.hours[hour] = self.hours.get(hour, 0) + 1
            if len(self.hours) > limits.hours:
                for stale in [h for h in self.hours if h < oldest]:
                    del self.hours[stale]

    def see_many(
        self,
        stamps: list[int],
        services: Sequence[str],
        messages: Sequence[str],
        *,
        now_hour: int,
        limits: StatLimits,
    ) -> None:
        """``see`` for several lines of this template at once (same result, in the order
        given; ``services`` and ``messages`` may stop early once the limits need no more)."""
        first, last = min(stamps), max(stamps)
        if first < self.first_ns:
            self.first_ns = first
        if last > self.last_ns:
            self.last_ns = last
        if len(self.services) < limits.services:
            for service in dict.fromkeys(services):
                if service not in self.services and len(self.services) < limits.services:
                    self.services.append(service)
        room = limits.samples - len(self.samples)
        if room > 0:
            self.samples.extend(m[:MAX_SAMPLE_CHARS] for m in messages[:room])
        oldest = now_hour - limits.hours + 1
        hours = self.hours
        for hour, count in Counter(ts // HOUR_NS for ts in stamps).items():
            if oldest <= hour <= now_hour:
                hours[hour] = hours.get(hour, 0) + count
        if len(hours) > limits.hours:
            for stale in [h for h in hours if h < oldest]:
                del hours[stale]

    def absorb(self, other: TemplateStats, limits: StatLimits) -> None:
        """Fold a merged template's statistics into this one."""
        self.first_ns = min(self.first_ns, other.first_ns)
        self.last_ns = max(self.last_ns, other.last_ns)
        for service in other.services:
            if service not in self.services and len(self.services) < limits.services:
                self.services.append(service)
        room = limits.samples - len(self.samples)
        if room > 0:
            self.samples.extend(other.samples[:room])
        for hour, count in other.hours.items():
            self.hours[hour] = self.hours.get(hour, 0) + count

    def trend(self, now_hour: int, hours: int) -> list[int]:
        """Lines per hour, oldest first, the last entry the current hour."""
        return [self.hours.get(h, 0) for h in range(now_hour - hours + 1, now_hour + 1)]

    def to_json(self) -> dict[str, Any]:
        return {
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "services": self.services,
            "samples": self.samples,
            "hours": [[h, c] for h, c in sorted(self.hours.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TemplateStats:
        return cls(
            first_ns=int(data["first_ns"]),
            last_ns=int(data["last_ns"]),
            services=[str(s) for s in data["services"]],
            samples=[str(s) for s in data["samples"]],
            hours={int(h): int(c) for h, c in data["hours"]},
        )


@dataclass(frozen=True, slots=True)
class StatLimits:
    samples: int
    services: int
    hours: int


def rising_score(trend: list[int]) -> float:
    """How far the current hour is above the template's own hourly mean before it:
    ``(current + 1) / (mean of the earlier hours + 1)`` (1.0: steady)."""
    if not trend:
        return 0.0
    earlier = trend[:-1]
    baseline = sum(earlier) / len(earlier) if earlier else 0.0
    return (trend[-1] + 1) / (baseline + 1)
