"""The capacity model: what one replica sustains, from the benchmarks, and a sizing from it.

docs/scaling.md shows :func:`render` between its ``capacity-model`` markers (a test fails when
they differ: ``python -m bench capacity --write`` regenerates them). One replica is one
``agentdeck serve`` process on 2 CPUs; its event loop is one thread, so a cost in event-loop
time bounds the replica at ``1 / cost`` operations per second.

The two scale-out figures (a sample and an agent report on the VictoriaMetrics, PostgreSQL and
Redis deployment) are kept as ratios to a reference operation, one ``GET /healthz``, measured on
the same replica in the same run: tests/scaleout/test_capacity.py holds three real replicas to
those ratios within 2×, whatever the load on the machine. Their microseconds are the ratio
times :data:`REFERENCE_US`.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from pathlib import Path

from bench import Figure

DOC = Path(__file__).resolve().parents[1] / "docs" / "scaling.md"
BEGIN, END = "<!-- capacity-model: begin -->", "<!-- capacity-model: end -->"
#: The share of a replica's event loop the sizing plans to use (headroom for bursts and GC).
TARGET_UTILISATION = 0.5
#: The reference operation of the simulated figures, and its replica CPU (process CPU of one
#: replica, its idle rate taken out) in the three-replica simulation of 2026-12-07 at load
#: average ~17 on 2 CPUs (0.95–1.35 ms over its runs at 17–29); on a quiet machine it costs
#: less, and so does everything else.
REFERENCE = "GET /healthz"
REFERENCE_US = 1_330.0


@dataclass(frozen=True)
class Cost:
    """One operation's price on one replica."""

    name: str
    #: one operation, for the ceiling column ("sample": samples/s)
    op: str
    #: event-loop CPU per operation, microseconds: bounds a replica at 1e6 / loop_us per second
    loop_us: float
    #: what the benchmarks measured one replica to sustain, in words
    measured: str
    source: str
    #: CPU per operation as a multiple of one ``GET /healthz``'s on the same replica in the
    #: same run, for the figures the three-replica simulation checks (None: not simulated)
    per_reference: float | None = None

    @property
    def ceiling(self) -> float:
        """Operations per second one replica's event loop can do at most."""
        return 1e6 / self.loop_us


def simulated(name: str, op: str, *, per_reference: float, source: str) -> Cost:
    """A figure the three-replica simulation measures: ``per_reference`` × the reference's
    CPU (:data:`REFERENCE_US`)."""
    return Cost(
        name,
        op,
        loop_us=per_reference * REFERENCE_US,
        measured=f"{per_reference:g} × {REFERENCE} (simulated)",
        source=source,
        per_reference=per_reference,
    )


COSTS: dict[str, Cost] = {
    "ingest_sample": Cost(
        "metric samples (JSON batches of 10,000)",
        "samples",
        loop_us=0.9,
        measured="500,000 samples/s",
        source="ingest_http, 2026-11-24: 514,440–611,475 samples/s, event loop 0.77–0.90 µs "
        "per sample (decode in 2 worker processes)",
    ),
    "ingest_sample_vm": simulated(
        "metric samples, scale-out (VictoriaMetrics backend, JSON batches of 10,000)",
        "samples",
        per_reference=0.0055,
        source="the three-replica simulation (test_capacity), 2026-12-07, load average 6–29: "
        "0.0034–0.0081 of a /healthz per sample (4.2–9.0 µs); decode in 2 worker processes "
        "not counted",
    ),
    "report": simulated(
        "agent reports, scale-out (one JSON batch of 50 samples through nginx, answered)",
        "reports",
        per_reference=12.5,
        source="the three-replica simulation (test_capacity), 2026-12-07, load average 6–29: "
        "11.0–14.9 /healthz per report (14.1–17.5 ms); about a quarter of it was the write to "
        "VictoriaMetrics over HTTP, one request per report (coalesced since; not re-simulated)",
    ),
    "ws_client": Cost(
        "live-view WebSocket messages (a client follows one agent)",
        "messages",
        loop_us=50,
        measured="1,000 clients, one message/s each",
        source="ws_fanout, 2026-11-23: 1,000 clients, 30,000 messages in 30 s, p99 10–16 ms, "
        "none dropped; the per-message cost was not measured apart from the reports: "
        "50 µs is an estimate",
    ),
    "fleet_query": Cost(
        "fleet PromQL queries (avg by agent over 1 h, 1,000 agents)",
        "queries",
        loop_us=16_600,
        measured="60 queries/s (one at a time)",
        source="query, 2026-12-07: 16.59 ms per fleet query (one series 1 h: 0.79 ms)",
    ),
    "rule": Cost(
        "alert rule evaluations over 1,000 agents (on the evaluator's lease holder)",
        "rule evaluations",
        loop_us=1_395,  # 0.093 core × 15 s / 1,000 rules, over 1,000 agents
        measured="1,000 rules at 15 s in 0.093 core",
        source="alerting, 2026-11-23: 1,000 rules over 1,000 agents, 0.093 core at 15 s",
    ),
    "notification": Cost(
        "notifications delivered (on the delivery worker's lease holder)",
        "notifications",
        loop_us=2_000,  # the measured rate taken as the saturated one: 1 / 500 per s
        measured="457–513 notifications/s",
        source="notify, 2026-12-07: 457–513 webhook deliveries/s per channel (PostgreSQL, SQLite)",
    ),
    "log_line": Cost(
        "log lines (HTTP JSON)",
        "lines",
        loop_us=12,
        measured="17,000 lines/s (loaded machine)",
        source="logs_ingest, 2026-12-07: 16,562–17,961 lines/s on a loaded machine, 12 µs of "
        "event loop per line",
    ),
}


@dataclass(frozen=True)
class Workload:
    agents: int = 10_000
    series_per_agent: int = 50
    interval_s: float = 15.0
    dashboard_users: int = 1_000
    #: a dashboard refreshes its panels this often, each panel one fleet query
    panels: int = 4
    refresh_s: float = 60.0
    rules: int = 1_000
    notifications_per_s: float = 5.0


def sizing(load: Workload = Workload()) -> list[tuple[str, float, str, float]]:
    """(what, rate, unit, share of one replica's event loop) for each part of ``load``."""
    samples = load.agents * load.series_per_agent / load.interval_s
    reports = load.agents / load.interval_s
    ws_messages = load.dashboard_users * reports / load.agents  # each client watches a page
    queries = load.dashboard_users * load.panels / load.refresh_s
    # rule cost grows with the series a rule reads: the benchmark had 1,000 agents
    rule_seconds = load.rules * (load.agents / 1_000) / load.interval_s
    rows = [
        ("samples", samples, "samples/s", samples * COSTS["ingest_sample_vm"].loop_us),
        ("agent reports", reports, "requests/s", reports * COSTS["report"].loop_us),
        ("live-view messages", ws_messages, "messages/s", ws_messages * COSTS["ws_client"].loop_us),
        ("dashboard fleet queries", queries, "queries/s", queries * COSTS["fleet_query"].loop_us),
        (
            "rule evaluations",
            rule_seconds,
            "per 1,000 agents/s",
            rule_seconds * COSTS["rule"].loop_us,
        ),
        (
            "notifications",
            load.notifications_per_s,
            "notifications/s",
            load.notifications_per_s * COSTS["notification"].loop_us,
        ),
    ]
    return [(what, rate, unit, us / 1e6) for what, rate, unit, us in rows]


def replicas_needed(load: Workload = Workload()) -> int:
    """Replicas for the spread parts at TARGET_UTILISATION, plus one for the lease holders when
    the leased loops (rules, notifications) alone need more than half an event loop."""
    rows = sizing(load)
    leased = sum(
        share for what, _, _, share in rows if what in {"rule evaluations", "notifications"}
    )
    spread = sum(share for what, _, _, share in rows) - leased
    return math.ceil(spread / TARGET_UTILISATION) + (1 if leased > TARGET_UTILISATION else 0)


def render() -> str:
    lines = [
        BEGIN,
        "",
        "Per replica (one `agentdeck serve` on 2 CPUs; from `bench/capacity.py`). The "
        f"scale-out rows are ratios to one `{REFERENCE}` on the same replica in the same run "
        f"(the simulation checks them within 2×), shown here at {REFERENCE_US:,.0f} µs for "
        "the reference (measured at load average ~17):",
        "",
        "| operation | event loop per operation | ceiling (the loop 100 % busy) | measured | "
        "source |",
        "|---|---|---|---|---|",
    ]
    for cost in COSTS.values():
        lines.append(
            f"| {cost.name} | {cost.loop_us:,.1f} µs | {cost.ceiling:,.0f} {cost.op}/s | "
            f"{cost.measured} | {cost.source} |"
        )
    load = Workload()
    lines += [
        "",
        f"Worked sizing: {load.agents:,} agents × {load.series_per_agent} series every "
        f"{load.interval_s:g} s, {load.dashboard_users:,} dashboard users (each with the live "
        f"view open and {load.panels} fleet panels refreshed every {load.refresh_s:g} s), "
        f"{load.rules:,} rules, {load.notifications_per_s:g} notifications/s:",
        "",
        "| part | rate | share of one replica's event loop |",
        "|---|---|---|",
    ]
    for what, rate, unit, share in sizing(load):
        lines.append(f"| {what} | {rate:,.1f} {unit} | {share:.2f} |")
    lines += [
        "",
        f"Replicas at {TARGET_UTILISATION:.0%} event-loop use: **{replicas_needed(load)}**.",
        "",
        END,
    ]
    return "\n".join(lines)


def write(doc: Path = DOC) -> None:
    text = doc.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    doc.write_text(pattern.sub(lambda _: render(), text))


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench capacity")
    parser.add_argument("--write", action="store_true", help="update docs/scaling.md")
    args = parser.parse_args(argv)
    if args.write:
        write()
    else:
        print(render())
    return []
