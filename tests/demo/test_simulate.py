"""The simulated fleet's numbers: plausible, deterministic, and incidents on schedule."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from agentdeck.demo.runner import backfill_ticks, to_payload
from agentdeck.demo.simulate import (
    BUCKETS,
    COST,
    CPU,
    DURATION,
    ERRORS,
    MEMORY,
    REQUESTS,
    TOKENS,
    FleetSimulator,
    Incident,
    IncidentKind,
    Sample,
    SimAgent,
    Template,
    incident_schedule,
)

T0 = 1_790_000_000_000  # ms, a fixed instant aligned to 10 s
STEP = 10_000

FLEET = (
    SimAgent("chat", Template.llm, "gpt-4o-mini", replicas=2, labels={"team": "support"}),
    SimAgent("router", Template.classifier, None, replicas=3),
    SimAgent("invoices", Template.extractor, "llama3.1:8b"),
    SimAgent("tagger", Template.classifier, None),
    SimAgent("broken", Template.llm, "gpt-4o", degraded=True),
)


def run(sim: FleetSimulator, steps: int, start: int = T0) -> list[list[Sample]]:
    return [sim.step(start + i * STEP) for i in range(steps)]


def by_series(samples: list[Sample]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples}


def value(samples: list[Sample], name: str, agent: str, **labels: str) -> float:
    for s in samples:
        if (
            s.name == name
            and s.labels["agent"] == agent
            and all(s.labels.get(k) == v for k, v in labels.items())
        ):
            return s.value
    raise AssertionError(f"no {name} for {agent} {labels}")


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    a = run(FleetSimulator(FLEET, seed=1), 5)
    b = run(FleetSimulator(FLEET, seed=1), 5)
    c = run(FleetSimulator(FLEET, seed=2), 5)
    assert a == b
    assert a != c


def test_values_are_plausible_and_counters_only_grow() -> None:
    sim = FleetSimulator(FLEET, seed=3, incidents=())
    ticks = run(sim, 60)
    previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for samples in ticks:
        for s in samples:
            assert math.isfinite(s.value)
            assert s.labels["agent"] in {a.name for a in FLEET}
            if s.name in (CPU, MEMORY):
                assert 0 < s.value < 100
            key = (s.name, tuple(sorted(s.labels.items())))
            if s.type in ("counter", "histogram"):
                assert s.value >= previous.get(key, 0.0), key
            previous[key] = s.value
    last = ticks[-1]
    for agent in FLEET:
        requests = value(last, REQUESTS, agent.name)
        errors = value(last, ERRORS, agent.name)
        assert requests > 0
        assert errors <= requests
        # the histogram is cumulative and its +Inf bucket and count equal the requests
        buckets = [value(last, f"{DURATION}_bucket", agent.name, le=f"{b:g}") for b in BUCKETS]
        assert buckets == sorted(buckets)
        assert value(last, f"{DURATION}_bucket", agent.name, le="+Inf") == requests
        assert value(last, f"{DURATION}_count", agent.name) == requests
        assert value(last, f"{DURATION}_sum", agent.name) > 0
    # healthy agents fail rarely, the degraded one often
    healthy = value(last, ERRORS, "chat") / value(last, REQUESTS, "chat")
    degraded = value(last, ERRORS, "broken") / value(last, REQUESTS, "broken")
    assert healthy < 0.03 < 0.08 < degraded

    # classifiers are fast and busy, model calls slower; the mean latency shows it (a healthy
    # agent's p95 stays under the default pack's 1 s warning)
    def mean(agent: str) -> float:
        return value(last, f"{DURATION}_sum", agent) / value(last, f"{DURATION}_count", agent)

    assert mean("router") < 0.1 < 0.2 < mean("chat") < 0.6
    assert 0.2 < mean("invoices") < 0.6
    # healthy agents stay well inside the default pack's CPU and memory thresholds
    for samples in ticks:
        for s in samples:
            if s.name in (CPU, MEMORY):
                assert s.value < 65, s
    assert value(last, REQUESTS, "router") > value(last, REQUESTS, "invoices")
    # models use tokens and cost money; classifiers without a model do not report tokens
    assert value(last, TOKENS, "chat", type="input") > value(last, TOKENS, "chat", type="output")
    assert 0 < value(last, COST, "chat") < 100
    assert not [s for s in last if s.name in (TOKENS, COST) and s.labels["agent"] == "router"]
    assert value(last, CPU, "chat", team="support") > 0


def test_incident_schedule_is_deterministic_and_spread_over_agents() -> None:
    first = incident_schedule(FLEET, seed=5)
    assert first == incident_schedule(FLEET, seed=5)
    assert {i.kind for i in first} == set(IncidentKind)
    assert len({i.agent for i in first}) == 3
    assert "broken" not in {i.agent for i in first}  # already failing; incidents go elsewhere
    # every kind happens at least once in any hour (the backfill shows all of them)
    for start in range(T0, T0 + 4 * 3_600_000, 600_000):
        for incident in first:
            assert incident.windows(start, start + 3_600_000), (incident, start)


def test_incident_phase_and_windows_agree() -> None:
    incident = Incident(
        IncidentKind.error_spike, "chat", period_s=1800, offset_s=300, duration_s=360
    )
    windows = incident.windows(T0, T0 + 3_600_000)
    assert 2 <= len(windows) <= 3
    for begin, end in windows:
        assert end - begin == 360_000
        assert incident.phase(begin) == 0
        assert incident.phase(begin + 180_000) == pytest.approx(0.5)
        assert incident.phase(end) is None
        assert incident.phase(begin - 1000) is None


def _rates(ticks: list[list[Sample]], agent: str) -> list[float]:
    out = []
    for before, after in zip(ticks, ticks[1:], strict=False):
        dr = value(after, REQUESTS, agent) - value(before, REQUESTS, agent)
        de = value(after, ERRORS, agent) - value(before, ERRORS, agent)
        out.append(de / dr if dr else 0.0)
    return out


def test_error_spike_shows_only_while_scheduled() -> None:
    spike = Incident(IncidentKind.error_spike, "chat", period_s=3600, offset_s=0, duration_s=600)
    start = (T0 // 3_600_000) * 3_600_000 - 300_000  # 5 min before the incident begins
    sim = FleetSimulator(FLEET, seed=4, incidents=[spike])
    ticks = run(sim, 120, start)  # 20 minutes: before, during (10 min), after
    rates = _rates(ticks, "chat")
    times = [start + (i + 1) * STEP for i in range(len(rates))]
    phases = [spike.phase(t) for t in times]
    warning = [r for r, p in zip(rates, phases, strict=True) if p is not None and p < 0.4]
    critical = [r for r, p in zip(rates, phases, strict=True) if p is not None and p >= 0.4]
    outside = [r for r, p in zip(rates, phases, strict=True) if p is None]
    assert len(warning) > 20 and len(critical) > 30 and len(outside) > 40
    # 40 % of the way in (the default) it escalates: over the pack's 5 % warning, then 10 %
    assert 0.05 < sum(warning) / len(warning) < 0.1 < 0.15 < sum(critical) / len(critical)
    assert sum(outside) / len(outside) < 0.01
    # other agents are not affected
    total = value(ticks[-1], ERRORS, "invoices") - value(ticks[0], ERRORS, "invoices")
    assert (
        total / (value(ticks[-1], REQUESTS, "invoices") - value(ticks[0], REQUESTS, "invoices"))
        < 0.03
    )


def test_latency_regression_and_memory_leak_show_while_scheduled() -> None:
    hour = (T0 // 3_600_000) * 3_600_000
    slow = Incident(IncidentKind.latency_regression, "router", 3600, 600, 900)
    leak = Incident(IncidentKind.memory_leak, "invoices", 3600, 0, 2400)
    sim = FleetSimulator(FLEET, seed=4, incidents=[slow, leak])
    ticks = run(sim, 360, hour)  # one hour
    means: dict[str, list[float]] = defaultdict(list)
    memory = []
    for i, (before, after) in enumerate(zip(ticks, ticks[1:], strict=False)):
        t = hour + (i + 1) * STEP
        dc = value(after, f"{DURATION}_count", "router") - value(
            before, f"{DURATION}_count", "router"
        )
        ds = value(after, f"{DURATION}_sum", "router") - value(before, f"{DURATION}_sum", "router")
        phase = slow.phase(t)
        if dc:
            means[
                "late"
                if phase is not None and phase > 0.3
                else "normal"
                if phase is None
                else "ramp"
            ].append(ds / dc)
        memory.append((t, value(after, MEMORY, "invoices")))
    late = sum(means["late"]) / len(means["late"])
    normal = sum(means["normal"]) / len(means["normal"])
    assert late > 3 * normal
    # memory climbs through the leak to ~96% and is back to normal after the restart
    leak_values = [m for t, m in memory if leak.phase(t) is not None]
    after_values = [m for t, m in memory if leak.phase(t) is None]
    assert leak_values[-1] > 90 > 70 > max(after_values)
    assert leak_values[-1] > leak_values[len(leak_values) // 2] > leak_values[5]


def test_payload_and_backfill_ticks() -> None:
    sim = FleetSimulator(FLEET[:1], seed=1)
    payload = to_payload(sim.step(T0))
    first = payload["samples"][0]
    assert first["name"] == CPU
    assert first["labels"] == {"agent": "chat", "team": "support"}
    assert first["type"] == "gauge"
    assert first["timestamp"] == T0  # milliseconds
    # first start: a full hour on the 10 s grid; restart: only the gap
    ticks = backfill_ticks(T0 + 5, None, interval_ms=STEP, span_ms=3_600_000)
    assert len(ticks) == 360 and ticks[-1] == T0 and all(t % STEP == 0 for t in ticks)
    gap = backfill_ticks(T0 + 5, T0 - 60_000, interval_ms=STEP, span_ms=3_600_000)
    assert gap == [T0 - 50_000 + i * STEP for i in range(6)]


def test_demo_log_lines_explain_incidents() -> None:
    from agentdeck.demo.logs import log_entries
    from agentdeck.demo.simulate import FleetSimulator, Incident, IncidentKind, SimAgent, Template

    agents = [SimAgent("bot-a", Template.llm), SimAgent("bot-b", Template.classifier)]
    incident = Incident(
        kind=IncidentKind.error_spike, agent="bot-a", period_s=100, offset_s=0, duration_s=99
    )
    simulator = FleetSimulator(agents, incidents=[incident])
    entries = log_entries(simulator, 1_700_000_010_000, seed=3)  # 10 s into an occurrence
    assert entries == log_entries(simulator, 1_700_000_010_000, seed=3)  # deterministic
    by_agent = {e["agent"] for e in entries}
    assert by_agent == {"bot-a", "bot-b"}
    severities_a = {e["severity"] for e in entries if e["agent"] == "bot-a"}
    assert severities_a & {"ERROR", "CRITICAL"}
    assert all(e["severity"] in ("INFO", "DEBUG") for e in entries if e["agent"] == "bot-b")
    assert [e["timestamp"] for e in entries] == sorted(e["timestamp"] for e in entries)
