"""The simulated fleet's numbers: per-agent profiles, an incident schedule, and one step.

Everything here is pure: the same seed, agents and timestamps give the same samples, so the
tests can check plausibility and the incident schedule without a server. Time is in
milliseconds since the epoch; incidents follow wall-clock time, so a restart (or the one-hour
backfill) shows them at the same moments.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

#: Standard per-agent metric names (see docs/metrics.md).
CPU = "agent_cpu_percent"
MEMORY = "agent_memory_percent"
REQUESTS = "agent_requests_total"
ERRORS = "agent_errors_total"
DURATION = "agent_request_duration_seconds"
TOKENS = "agent_tokens_total"
COST = "agent_cost_usd_total"
CALLS = "agent_calls_total"
CALL_ERRORS = "agent_call_errors_total"

#: Failure rate of calls to a dependency that is not a simulated agent (an external API).
EXTERNAL_ERROR_RATE = 0.003

#: Upper bounds of the latency histogram buckets (seconds); +Inf is added.
BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Template(StrEnum):
    llm = "llm"
    classifier = "classifier"
    extractor = "extractor"


class IncidentKind(StrEnum):
    error_spike = "error_spike"
    latency_regression = "latency_regression"
    memory_leak = "memory_leak"


@dataclass(frozen=True, slots=True)
class SimAgent:
    """An agent of the registry as the simulator sees it."""

    name: str
    template: Template
    model: str | None = None
    replicas: int = 1
    labels: dict[str, str] = field(default_factory=dict)
    degraded: bool = False  # registry status "error": a high error rate all the time
    calls: tuple[str, ...] = ()  # declared dependencies: agents or external services it calls


@dataclass(frozen=True, slots=True)
class Profile:
    """How one agent behaves when nothing is wrong."""

    rps: float  # requests per second, fleet-average
    error_rate: float  # fraction of requests that fail
    latency_median_s: float
    latency_sigma: float  # of the log-normal latency
    cpu_base: float  # percent at idle
    cpu_per_rps: float  # percent per request/s per replica
    memory_base: float  # percent
    tokens_in: float  # per request (0: no model)
    tokens_out: float
    price_in: float  # USD per 1,000 tokens
    price_out: float
    phase: float  # of the hourly load wave (radians)


# (rps, median latency, sigma, tokens in, tokens out) per template, before per-agent jitter.
_BASE: dict[Template, tuple[float, float, float, float, float]] = {
    Template.llm: (2.0, 1.2, 0.45, 900.0, 260.0),
    Template.classifier: (25.0, 0.03, 0.35, 0.0, 0.0),
    Template.extractor: (0.8, 3.0, 0.4, 2600.0, 420.0),
}

# USD per 1,000 input / output tokens; local models cost little but not nothing (GPU time).
_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (0.0025, 0.01),
    "gpt-4o-mini": (0.00015, 0.0006),
    "gemini-1.5-flash": (0.000075, 0.0003),
}
_LOCAL_PRICE = (0.00005, 0.00005)


def _agent_seed(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode())) & 0xFFFFFFFF


def profile_for(agent: SimAgent, seed: int = 0) -> Profile:
    """A stable profile: the template's typical values with a per-agent jitter."""
    rng = np.random.default_rng(_agent_seed(seed, agent.name))
    rps, median, sigma, t_in, t_out = _BASE[agent.template]
    has_model = agent.model is not None and t_in > 0
    price_in, price_out = _PRICES.get(agent.model or "", _LOCAL_PRICE)
    return Profile(
        rps=rps * float(rng.uniform(0.5, 1.8)) * max(agent.replicas, 1) ** 0.5,
        error_rate=0.12 if agent.degraded else float(rng.uniform(0.002, 0.015)),
        latency_median_s=median * float(rng.uniform(0.7, 1.4)),
        latency_sigma=sigma,
        cpu_base=float(rng.uniform(4, 12)),
        cpu_per_rps=float(rng.uniform(1.0, 4.0))
        * (0.25 if agent.template is Template.classifier else 10),
        memory_base=float(rng.uniform(25, 55)),
        tokens_in=t_in * float(rng.uniform(0.7, 1.3)) if has_model else 0.0,
        tokens_out=t_out * float(rng.uniform(0.7, 1.3)) if has_model else 0.0,
        price_in=price_in,
        price_out=price_out,
        phase=float(rng.uniform(0, 2 * math.pi)),
    )


@dataclass(frozen=True, slots=True)
class Incident:
    """A recurring incident on one agent: active for ``duration_s`` of every ``period_s``."""

    kind: IncidentKind
    agent: str
    period_s: int
    offset_s: int
    duration_s: int

    def phase(self, t_ms: int) -> float | None:
        """How far into the incident ``t_ms`` is (0..1), or ``None`` when it is not active."""
        into = (t_ms // 1000 - self.offset_s) % self.period_s
        if into >= self.duration_s:
            return None
        return into / self.duration_s

    def windows(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Start and end (ms) of each occurrence that overlaps ``[start_ms, end_ms]``."""
        first = (start_ms // 1000 - self.offset_s) // self.period_s
        out: list[tuple[int, int]] = []
        n = first
        while True:
            begin = (self.offset_s + n * self.period_s) * 1000
            if begin > end_ms:
                return out
            finish = begin + self.duration_s * 1000
            if finish > start_ms:
                out.append((begin, finish))
            n += 1


# (period, duration) in seconds: every kind happens at least once in any hour.
_CADENCE: dict[IncidentKind, tuple[int, int]] = {
    IncidentKind.error_spike: (30 * 60, 6 * 60),
    IncidentKind.latency_regression: (45 * 60, 10 * 60),
    IncidentKind.memory_leak: (60 * 60, 40 * 60),
}


def incident_schedule(agents: Sequence[SimAgent], seed: int = 0) -> tuple[Incident, ...]:
    """One recurring incident of each kind, each on its own agent, chosen from the seed."""
    names = sorted(a.name for a in agents if not a.degraded)
    if len(names) < len(_CADENCE):
        return ()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(names), size=len(_CADENCE), replace=False)
    out = []
    for kind, index in zip(_CADENCE, chosen, strict=True):
        period, duration = _CADENCE[kind]
        out.append(
            Incident(
                kind=kind,
                agent=names[int(index)],
                period_s=period,
                offset_s=int(rng.integers(0, period)),
                duration_s=duration,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int
    type: str  # gauge | counter | histogram
    unit: str = ""


@dataclass(slots=True)
class _Counters:
    requests: int = 0
    errors: int = 0
    buckets: np.ndarray = field(default_factory=lambda: np.zeros(len(BUCKETS) + 1, np.int64))
    duration_sum: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    call_errors: dict[str, int] = field(default_factory=dict)


def _lognormal_cdf(x: float, median: float, sigma: float) -> float:
    return 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


class FleetSimulator:
    """Steps the fleet forward one interval at a time; counters only ever grow."""

    def __init__(
        self,
        agents: Sequence[SimAgent],
        *,
        seed: int = 0,
        interval_s: float = 10.0,
        incidents: Sequence[Incident] | None = None,
    ) -> None:
        self.agents = tuple(sorted(agents, key=lambda a: a.name))
        self.interval_s = interval_s
        self.profiles = {a.name: profile_for(a, seed) for a in self.agents}
        self.incidents = (
            tuple(incidents) if incidents is not None else incident_schedule(self.agents, seed)
        )
        self._seed = seed
        self._counters = {a.name: _Counters() for a in self.agents}

    def active_incidents(self, agent: str, t_ms: int) -> dict[IncidentKind, float]:
        """The incidents under way on ``agent`` at ``t_ms``, with how far into each they are."""
        out: dict[IncidentKind, float] = {}
        for incident in self.incidents:
            if incident.agent == agent:
                phase = incident.phase(t_ms)
                if phase is not None:
                    out[incident.kind] = phase
        return out

    def error_rate(self, agent: str, t_ms: int) -> float:
        """The share of ``agent``'s requests that fail at ``t_ms`` (external services: small)."""
        profile = self.profiles.get(agent)
        if profile is None:
            return EXTERNAL_ERROR_RATE
        phase = self.active_incidents(agent, t_ms).get(IncidentKind.error_spike)
        if phase is not None:
            return min(0.2 + 0.25 * math.sin(math.pi * phase), 0.9)
        return profile.error_rate

    def step(self, t_ms: int) -> list[Sample]:
        """The samples of every agent for the interval that ends at ``t_ms``."""
        samples: list[Sample] = []
        for agent in self.agents:
            # A generator per agent and interval: the same inputs give the same numbers.
            rng = np.random.default_rng([_agent_seed(self._seed, agent.name), t_ms])
            samples.extend(self._agent_step(agent, t_ms, rng))
        return samples

    def _agent_step(self, agent: SimAgent, t_ms: int, rng: np.random.Generator) -> list[Sample]:
        p = self.profiles[agent.name]
        c = self._counters[agent.name]
        incidents = self.active_incidents(agent.name, t_ms)
        t_s = t_ms / 1000
        load = 1 + 0.3 * math.sin(2 * math.pi * t_s / 3600 + p.phase)
        rps = max(p.rps * load * float(rng.normal(1, 0.05)), 0.0)

        error_rate = self.error_rate(agent.name, t_ms)
        latency_factor = 1.0
        if (phase := incidents.get(IncidentKind.latency_regression)) is not None:
            latency_factor = 1 + 3 * min(phase * 4, 1.0)  # ramps up to 4x, then stays

        n = int(rng.poisson(rps * self.interval_s))
        errors = int(rng.binomial(n, error_rate)) if n else 0
        median = p.latency_median_s * latency_factor
        cdf = [_lognormal_cdf(b, median, p.latency_sigma) for b in BUCKETS]
        probs = np.diff([0.0, *cdf, 1.0])
        per_bucket = rng.multinomial(n, np.clip(probs, 0, None) / probs.sum())
        mean = median * math.exp(p.latency_sigma**2 / 2)
        ok = n - errors
        t_in = int(rng.poisson(p.tokens_in * ok)) if p.tokens_in else 0
        t_out = int(rng.poisson(p.tokens_out * ok)) if p.tokens_out else 0

        c.requests += n
        c.errors += errors
        c.buckets += per_bucket
        c.duration_sum += n * mean * float(rng.normal(1, 0.02)) if n else 0.0
        c.tokens_in += t_in
        c.tokens_out += t_out
        c.cost += t_in / 1000 * p.price_in + t_out / 1000 * p.price_out

        per_replica = rps / max(agent.replicas, 1)
        cpu = p.cpu_base + p.cpu_per_rps * per_replica * latency_factor**0.5
        cpu = float(np.clip(cpu + rng.normal(0, 1.5), 0.5, 99.5))
        memory = p.memory_base + float(rng.normal(0, 0.8))
        if (phase := incidents.get(IncidentKind.memory_leak)) is not None:
            memory += (96 - p.memory_base) * phase  # climbs until the restart at the end
        memory = float(np.clip(memory, 1, 99.9))

        base = {"agent": agent.name, **agent.labels}
        out = [
            Sample(CPU, base, round(cpu, 2), t_ms, "gauge", "percent"),
            Sample(MEMORY, base, round(memory, 2), t_ms, "gauge", "percent"),
            Sample(REQUESTS, base, float(c.requests), t_ms, "counter"),
            Sample(ERRORS, base, float(c.errors), t_ms, "counter"),
        ]
        cumulative = np.cumsum(c.buckets)
        for bound, count in zip((*BUCKETS, math.inf), cumulative, strict=True):
            le = "+Inf" if math.isinf(bound) else f"{bound:g}"
            out.append(
                Sample(
                    f"{DURATION}_bucket",
                    {**base, "le": le},
                    float(count),
                    t_ms,
                    "histogram",
                    "seconds",
                )
            )
        out.append(
            Sample(f"{DURATION}_sum", base, round(c.duration_sum, 6), t_ms, "histogram", "seconds")
        )
        out.append(
            Sample(f"{DURATION}_count", base, float(c.requests), t_ms, "histogram", "seconds")
        )
        if p.tokens_in:
            model = {"gen_ai_request_model": agent.model} if agent.model else {}
            out.append(
                Sample(
                    TOKENS, {**base, **model, "type": "input"}, float(c.tokens_in), t_ms, "counter"
                )
            )
            out.append(
                Sample(
                    TOKENS,
                    {**base, **model, "type": "output"},
                    float(c.tokens_out),
                    t_ms,
                    "counter",
                )
            )
            out.append(Sample(COST, {**base, **model}, round(c.cost, 6), t_ms, "counter", "usd"))
        out.extend(self._calls(agent, ok, t_ms, rng, base))
        return out

    def _calls(
        self,
        agent: SimAgent,
        served: int,
        t_ms: int,
        rng: np.random.Generator,
        base: dict[str, str],
    ) -> list[Sample]:
        """Calls to each declared dependency: about one per served request for the first,
        fewer for the later ones; they fail as often as the callee does."""
        c = self._counters[agent.name]
        out = []
        for position, target in enumerate(agent.calls):
            n = int(rng.binomial(served, 1 / (position + 1))) if served else 0
            failed = int(rng.binomial(n, self.error_rate(target, t_ms))) if n else 0
            c.calls[target] = c.calls.get(target, 0) + n
            c.call_errors[target] = c.call_errors.get(target, 0) + failed
            labels = {**base, "target": target}
            out.append(Sample(CALLS, labels, float(c.calls[target]), t_ms, "counter"))
            out.append(Sample(CALL_ERRORS, labels, float(c.call_errors[target]), t_ms, "counter"))
        return out
