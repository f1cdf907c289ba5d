"""Log lines of the simulated fleet: what its agents would write in one interval.

Each agent writes a few lines per interval: requests handled (INFO), the odd DEBUG detail,
and, while an incident is under way (the same schedule as the metrics), the WARNING, ERROR and
CRITICAL lines that explain it, more of them once it escalates (:data:`INCIDENT_LINES`). The
demo's log stream (:data:`STREAM`) takes the fleet's INFO, WARNING and ERROR lines, so its
detectors see the incidents: the error spike's failures are well over a tenth of a batch (an
``error_spike`` anomaly), and the other incidents bring templates the stream never had.
Deterministic for a seed and a time, like the samples.
"""

from __future__ import annotations

import random
from typing import Any

from agentdeck.demo.simulate import FleetSimulator, IncidentKind, Profile, SimAgent

#: The log stream the demo creates (``POST /api/v1/log-streams``) when it has none by that name.
STREAM: dict[str, Any] = {
    "name": "demo fleet",
    "services": [],
    "severity_filter": ["ERROR", "CRITICAL", "WARNING", "INFO"],
    "batch_size": 1000,  # about two minutes of the fleet's lines
    "batch_timeout_seconds": 300,
}

#: Incident lines per agent and interval: (at the warning stage, once escalated), as ranges.
INCIDENT_LINES: dict[IncidentKind, tuple[tuple[int, int], tuple[int, int]]] = {
    IncidentKind.error_spike: ((8, 13), (26, 40)),  # an upstream outage: every retry fails
    IncidentKind.latency_regression: ((2, 4), (4, 8)),
    IncidentKind.memory_leak: ((1, 3), (3, 6)),
}

_WORDS = ("refund", "invoice", "password reset", "shipping delay", "upgrade", "cancellation")
_INCIDENT_LINES: dict[IncidentKind, tuple[tuple[str, str], ...]] = {
    IncidentKind.error_spike: (
        ("ERROR", "upstream call to {dep} failed: 503 Service Unavailable (attempt {n}/3)"),
        ("ERROR", "request {rid} failed: tool '{word}' raised TimeoutError after {ms} ms"),
        ("CRITICAL", "circuit breaker open for {dep}: {n} failures in the last minute"),
    ),
    IncidentKind.latency_regression: (
        ("WARNING", "slow request {rid}: {ms} ms (p95 budget 1000 ms), model queue depth {n}"),
        ("WARNING", "timeout waiting for {dep} after {ms} ms, retrying"),
    ),
    IncidentKind.memory_leak: (
        ("WARNING", "memory usage {n}% of limit; context cache holds {m} conversations"),
        ("ERROR", "allocation failed growing the embedding cache ({m} entries)"),
    ),
}


class _AgentLines:
    """The lines of one agent in one interval."""

    def __init__(
        self, agent: SimAgent, t_ms: int, span_ms: int, seed: int, profile: Profile
    ) -> None:
        self.agent = agent
        self.t_ms = t_ms
        self.span_ms = span_ms
        self.rng = random.Random(f"{seed}:{agent.name}:{t_ms}")
        self.dep = agent.calls[0] if agent.calls else "llm-gateway"
        self.profile = profile

    def line(self, severity: str, text: str) -> dict[str, Any]:
        rng = self.rng
        p = self.profile
        # a request time like the agent's latency histogram (slow requests during incidents
        # come from the incident lines' own wording)
        typical_ms = 1000 * p.latency_median_s * rng.lognormvariate(0, p.latency_sigma)
        message = text.format(
            dep=self.dep,
            n=rng.randrange(1, 99),
            m=rng.randrange(100, 9000),
            ms=max(1, round(typical_ms))
            if severity in ("INFO", "DEBUG")
            else rng.randrange(2000, 9000),
            tokens=round(rng.uniform(0.7, 1.3) * (p.tokens_in + p.tokens_out)),
            rid=f"req-{rng.getrandbits(32):08x}",
            word=rng.choice(_WORDS),
        )
        return {
            "timestamp": (self.t_ms - rng.randrange(self.span_ms)) * 1_000_000,
            "severity": severity,
            "service": self.agent.template.value,
            "agent": self.agent.name,
            "message": message,
            "labels": {"env": "demo"},
        }


def log_entries(simulator: FleetSimulator, t_ms: int, seed: int = 0) -> list[dict[str, Any]]:
    """``POST /api/v1/logs/batch`` entries of every agent for the interval ending at ``t_ms``."""
    entries: list[dict[str, Any]] = []
    span_ms = int(simulator.interval_s * 1000)
    for agent in simulator.agents:
        lines = _AgentLines(agent, t_ms, span_ms, seed, simulator.profiles[agent.name])
        rng = lines.rng
        handled = "handled request {rid} ({word}) in {ms} ms"
        if simulator.profiles[agent.name].tokens_in:
            handled += ", {tokens} tokens"
        for _ in range(rng.randrange(1, 4)):
            entries.append(lines.line("INFO", handled))
        if rng.random() < 0.3:
            entries.append(lines.line("DEBUG", "cache hit for conversation {rid}; {n} turns"))
        if agent.degraded and rng.random() < 0.5:
            entries.append(lines.line("ERROR", "request {rid} failed: model returned invalid JSON"))
        for kind, (stage, _) in simulator.stages(agent.name, t_ms).items():
            choices = _INCIDENT_LINES[kind]
            low, high = INCIDENT_LINES[kind][stage]
            for _ in range(rng.randrange(low, high)):
                severity, text = rng.choice(choices)
                entries.append(lines.line(severity, text))
    entries.sort(key=lambda e: e["timestamp"])
    return entries
