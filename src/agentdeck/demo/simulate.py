"""The simulated fleet's numbers: per-agent profiles, an incident script, and one step.

Everything here is pure: the same seed, agents and timestamps give the same samples, so the
tests can check plausibility and the incident schedule without a server. Time is in
milliseconds since the epoch; incidents follow wall-clock time, so a restart (or the one-hour
backfill) shows them at the same moments.

The story: a healthy fleet (every figure well inside the default rule pack's thresholds) and,
every hour, three scripted incidents (:data:`SCRIPT`), each on its own agent. Each starts at a
level that crosses the pack's *warning* threshold, escalates at ``escalate_s`` to a level that
crosses the *critical* one, and ends (the agent recovers or is restarted) at ``duration_s``.
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
BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


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
# Latencies keep every healthy agent's p95 under the default pack's 1 s warning (a streaming
# LLM agent's request is measured to its first token).
_BASE: dict[Template, tuple[float, float, float, float, float]] = {
    Template.llm: (2.0, 0.3, 0.35, 900.0, 260.0),
    Template.classifier: (25.0, 0.03, 0.35, 0.0, 0.0),
    Template.extractor: (1.2, 0.35, 0.3, 2600.0, 420.0),
}
#: Healthy levels: error rate and CPU at peak load stay under these (the default pack warns at
#: 5 % errors and 70 % CPU; the overview calls 1 % errors degraded).
HEALTHY_ERROR_RATE = (0.001, 0.006)
HEALTHY_PEAK_CPU = (25.0, 55.0)
_LOAD_SWING = 0.3  # of the hourly load wave

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
    replicas = max(agent.replicas, 1)
    rps = rps * float(rng.uniform(0.5, 1.8)) * replicas**0.5
    cpu_base = float(rng.uniform(4, 12))
    peak_cpu = float(rng.uniform(*HEALTHY_PEAK_CPU))
    return Profile(
        rps=rps,
        error_rate=0.12 if agent.degraded else float(rng.uniform(*HEALTHY_ERROR_RATE)),
        latency_median_s=median * float(rng.uniform(0.7, 1.2)),
        latency_sigma=sigma,
        cpu_base=cpu_base,
        # CPU reaches peak_cpu at the top of the load wave
        cpu_per_rps=(peak_cpu - cpu_base) / ((1 + _LOAD_SWING) * rps / replicas),
        memory_base=float(rng.uniform(25, 55)),
        tokens_in=t_in * float(rng.uniform(0.7, 1.3)) if has_model else 0.0,
        tokens_out=t_out * float(rng.uniform(0.7, 1.3)) if has_model else 0.0,
        price_in=price_in,
        price_out=price_out,
        phase=float(rng.uniform(0, 2 * math.pi)),
    )


@dataclass(frozen=True, slots=True)
class Incident:
    """A recurring incident on one agent: active for ``duration_s`` of every ``period_s``,
    at a warning level until ``escalate_s`` into it and at a critical level after that."""

    kind: IncidentKind
    agent: str
    period_s: int
    offset_s: int
    duration_s: int
    escalate_s: int | None = None  # None: 40 % into the incident

    @property
    def escalation(self) -> float:
        """The phase (0..1) at which the incident escalates to its critical level."""
        at = self.escalate_s if self.escalate_s is not None else 0.4 * self.duration_s
        return at / self.duration_s

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


@dataclass(frozen=True, slots=True)
class Scripted:
    """One incident of the hourly script: on ``agent`` (or, when the fleet lacks it, another
    agent chosen from the seed), starting ``start_s`` into every hour."""

    kind: IncidentKind
    agent: str
    start_s: int
    duration_s: int
    escalate_s: int


#: The hourly story (minutes past every hour, wall clock):
#: - :05 error spike on ``support-triage`` (an upstream outage): 7.5 % of requests fail,
#:   20 % from :13; over at :25;
#: - :28 latency regression on ``invoice-extractor`` (a slow model host): p95 about 1.8 s,
#:   5 s from :36; over at :46;
#: - :38 memory leak on ``meeting-summarizer``: memory climbs past 84 %, past 95 % from :44;
#:   the agent is restarted at :60.
#: With the default rule pack (5 minute windows, ``for: 5m``) each pages as a warning, escalates
#: to critical and resolves a few minutes after its end.
SCRIPT: tuple[Scripted, ...] = (
    Scripted(IncidentKind.error_spike, "support-triage", 5 * 60, 20 * 60, 8 * 60),
    Scripted(IncidentKind.latency_regression, "invoice-extractor", 28 * 60, 18 * 60, 8 * 60),
    Scripted(IncidentKind.memory_leak, "meeting-summarizer", 38 * 60, 22 * 60, 6 * 60),
)
SCRIPT_PERIOD_S = 3600

#: Warning and critical levels: error rate (fraction), p95 latency (s), memory (%).
ERROR_LEVELS = (0.075, 0.2)
LATENCY_P95_LEVELS = (1.8, 5.0)
MEMORY_LEVELS = ((84.0, 90.0), (97.0, 98.5))  # (start, end) of each stage's climb


def incident_schedule(agents: Sequence[SimAgent], seed: int = 0) -> tuple[Incident, ...]:
    """The script's incidents, each on its own healthy agent (the scripted one when present)."""
    names = sorted(a.name for a in agents if not a.degraded)
    if len(names) < len(SCRIPT):
        return ()
    taken = {s.agent for s in SCRIPT if s.agent in names}
    spare = [n for n in names if n not in taken]
    rng = np.random.default_rng(seed)
    rng.shuffle(spare)
    out = []
    for scripted in SCRIPT:
        agent = scripted.agent if scripted.agent in names else str(spare.pop())
        out.append(
            Incident(
                kind=scripted.kind,
                agent=agent,
                period_s=SCRIPT_PERIOD_S,
                offset_s=scripted.start_s,
                duration_s=scripted.duration_s,
                escalate_s=scripted.escalate_s,
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


def _leak(base: float, stage: int, progress: float) -> float:
    """Memory (%) during a leak: the first fifth of each stage climbs from where the agent was
    to the stage's start level, the rest climbs on through the stage's :data:`MEMORY_LEVELS`
    (until the restart)."""
    start, end = MEMORY_LEVELS[stage]
    before = base if stage == 0 else MEMORY_LEVELS[stage - 1][1]
    if progress < 0.2:
        return before + (start - before) * progress / 0.2
    return start + (end - start) * (progress - 0.2) / 0.8


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

    def stages(self, agent: str, t_ms: int) -> dict[IncidentKind, tuple[int, float]]:
        """Per incident under way: its stage (0 warning, 1 critical) and how far into it."""
        out: dict[IncidentKind, tuple[int, float]] = {}
        for incident in self.incidents:
            if incident.agent != agent:
                continue
            phase = incident.phase(t_ms)
            if phase is None:
                continue
            cut = incident.escalation
            if phase < cut:
                out[incident.kind] = (0, phase / cut if cut else 1.0)
            else:
                out[incident.kind] = (1, (phase - cut) / (1 - cut) if cut < 1 else 1.0)
        return out

    def error_rate(self, agent: str, t_ms: int) -> float:
        """The share of ``agent``'s requests that fail at ``t_ms`` (external services: small)."""
        profile = self.profiles.get(agent)
        if profile is None:
            return EXTERNAL_ERROR_RATE
        stage = self.stages(agent, t_ms).get(IncidentKind.error_spike)
        if stage is not None:
            return ERROR_LEVELS[stage[0]]
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
        stages = self.stages(agent.name, t_ms)
        t_s = t_ms / 1000
        load = 1 + _LOAD_SWING * math.sin(2 * math.pi * t_s / 3600 + p.phase)
        rps = max(p.rps * load * float(rng.normal(1, 0.05)), 0.0)

        error_rate = self.error_rate(agent.name, t_ms)
        latency_factor = 1.0
        if (stage := stages.get(IncidentKind.latency_regression)) is not None:
            # the median grows so that the p95 reaches the stage's level
            p95 = p.latency_median_s * math.exp(1.645 * p.latency_sigma)
            latency_factor = max(LATENCY_P95_LEVELS[stage[0]] / p95, 1.0)

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
        cpu = p.cpu_base + p.cpu_per_rps * per_replica
        cpu = float(np.clip(cpu + rng.normal(0, 1.5), 0.5, 99.5))
        memory = p.memory_base + float(rng.normal(0, 0.8))
        if (stage := stages.get(IncidentKind.memory_leak)) is not None:
            memory = _leak(p.memory_base, *stage) + float(rng.normal(0, 0.3))
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
