"""The autoscaling rule, exactly as the fleet's requirement states it.

With ``config.auto_scaling.enabled`` (``min_replicas`` default 1, ``max_replicas`` default
20, the agents API's defaults), the agent's CPU averaged over the last 10 minutes (each
replica's samples averaged over the window, then the replicas averaged):

- above 70 % → one replica more, if below ``max_replicas`` (else ``at_max``: it would have);
- below 30 % → one replica fewer, if above ``min_replicas`` (else ``at_min``);
- exactly 70 or exactly 30, or anything between → no change (``hold``);
- disabled → never evaluated.

A scale is also held back while the agent is in its cooldown (the autoscaler scaled it less
than ``fleet.autoscaler.cooldown_seconds`` ago): ``cooldown``, so it never flaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentdeck.agents.schemas import MAX_REPLICAS

SCALE_UP_ABOVE = 70.0
SCALE_DOWN_BELOW = 30.0
WINDOW = "10m"
DEFAULT_MIN = 1
DEFAULT_MAX = MAX_REPLICAS  # what the agents API stores when only `enabled` is given


@dataclass(frozen=True, slots=True)
class Bounds:
    enabled: bool
    min_replicas: int
    max_replicas: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str  # scaled_up, scaled_down, at_max, at_min, hold
    target: int
    reason: str

    @property
    def scales(self) -> bool:
        return self.outcome in ("scaled_up", "scaled_down")


def _count(value: Any, default: int) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def bounds_of(config: Mapping[str, Any] | None) -> Bounds:
    """``config.auto_scaling``: enabled, min_replicas, max_replicas (checked)."""
    section = (config or {}).get("auto_scaling")
    if not isinstance(section, Mapping) or section.get("enabled") is not True:
        return Bounds(False, DEFAULT_MIN, DEFAULT_MAX)
    low = _count(section.get("min_replicas"), DEFAULT_MIN)
    high = _count(section.get("max_replicas"), DEFAULT_MAX)
    if low is None or high is None or not 0 <= low <= high <= MAX_REPLICAS:
        return Bounds(
            True,
            low if low is not None else DEFAULT_MIN,
            high if high is not None else DEFAULT_MAX,
            problem="config.auto_scaling needs whole numbers 0 <= min_replicas <= max_replicas "
            f"<= {MAX_REPLICAS}",
        )
    return Bounds(True, low, high)


def decide(cpu: float, replicas: int, bounds: Bounds) -> Verdict:
    """The rule on one average. Strict comparisons: 70 and 30 themselves change nothing."""
    average = f"average CPU {cpu:.2f} % over {WINDOW}"
    if cpu > SCALE_UP_ABOVE:
        if replicas < bounds.max_replicas:
            target = min(replicas + 1, bounds.max_replicas)
            return Verdict(
                "scaled_up", target, f"{average} > {SCALE_UP_ABOVE:g} %: {replicas} → {target}"
            )
        return Verdict(
            "at_max",
            replicas,
            f"{average} > {SCALE_UP_ABOVE:g} %, but already at max_replicas "
            f"({bounds.max_replicas})",
        )
    if cpu < SCALE_DOWN_BELOW:
        if replicas > bounds.min_replicas:
            target = max(replicas - 1, bounds.min_replicas)
            return Verdict(
                "scaled_down", target, f"{average} < {SCALE_DOWN_BELOW:g} %: {replicas} → {target}"
            )
        return Verdict(
            "at_min",
            replicas,
            f"{average} < {SCALE_DOWN_BELOW:g} %, but already at min_replicas "
            f"({bounds.min_replicas})",
        )
    return Verdict(
        "hold",
        replicas,
        f"{average} is within {SCALE_DOWN_BELOW:g}–{SCALE_UP_ABOVE:g} %: no change",
    )


def cpu_query(agent_name: str) -> str:
    """PromQL: each replica's CPU averaged over the window, then averaged across replicas."""
    escaped = agent_name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'avg(avg_over_time(agent_cpu_percent{{agent="{escaped}"}}[{WINDOW}]))'
