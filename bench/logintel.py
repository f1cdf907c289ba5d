"""Log intelligence: the rule detectors on a batch, and HTTP log ingest with mining and stream
batching on against the same server without them.

* detectors: a batch of 1,000 realistic lines (``bench/_logs_data.py``: ~40 templates, 20
  services, the five severities), template ids from the miner, after 10 batches of history
  (the template detectors then run their full tests); every default detector on it, median of
  50 runs, in-process. Reference: the seed's two rules alone on the same batch.
* ingest: ``bench/logs_ingest.py``'s workload (bodies of 1,000 lines, 4 clients) against two
  fresh ``agentdeck serve`` processes in the same run, alternating: one with template mining
  off and no stream, one with mining on and a stream taking every line (batches of 1,000, the
  loops cutting and analysing them while the load runs). Each pair's ratio is printed; the
  figure is the ratio of the summed rates. ``--only stream`` (or ``full``): the server without
  and that one alone.

Targets: a batch of 1,000 lines analysed in <= 50 ms; ingest with log intelligence >= 80 %
of the rate without.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from dataclasses import dataclass

import httpx

from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench._load import send
from bench._logs_data import generate
from bench.ingest_http import _cpu_seconds
from bench.logs_ingest import BATCH, CLIENTS, WARMUP, _all_accepted, make_bodies

DETECT_TARGET_US = 50_000.0
RATIO_TARGET = 0.80
ALL_SEVERITIES = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _contexts(batches: int) -> list[object]:
    from agentdeck.logintel.analysis import BatchContext, BatchLine
    from agentdeck.logintel.mining import TemplateMiner

    miner = TemplateMiner()
    tenant, stream = uuid.uuid4(), uuid.uuid4()
    now = time.time_ns()
    out: list[object] = []
    for records in generate(
        batches * 1000, tenant_id=tenant, start_ns=now - 3600 * 10**9, end_ns=now, chunk=1000
    ):
        lines = [
            BatchLine(
                id=r.id,
                ts_ns=r.ts_ns,
                service=r.service,
                severity=r.severity.value,
                message=r.message,
                agent=r.agent,
                template_id=miner.add(r.message),
            )
            for r in records
        ]
        ids = {line.template_id for line in lines if line.template_id is not None}
        texts = {cid: miner.template(cid) or "" for cid in ids}
        out.append(
            BatchContext(
                tenant_id=tenant,
                stream_id=stream,
                stream_name="bench",
                batch_id=uuid.uuid4(),
                lines=lines,
                templates=texts,
            )
        )
    return out


def detectors(runs: int = 50) -> Figure:
    from agentdeck.logintel.detectors import ErrorSpike, UnusualPattern, default_detectors

    contexts = _contexts(11)
    history, batch = contexts[:-1], contexts[-1]

    def timed(chosen: list[object]) -> float:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            for detector in chosen:
                detector.detect(batch)  # type: ignore[attr-defined]
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1e6

    every = default_detectors()
    for context in history:
        for detector in every:
            detector.detect(context)  # type: ignore[arg-type]
    found = sum(len(d.detect(batch)) for d in every)  # type: ignore[arg-type]
    full = timed(list(every))
    seed = timed([ErrorSpike(), UnusualPattern()])
    print(
        f"  detectors on 1,000 lines: {full / 1000:.2f} ms for all {len(every)} ({found} "
        f"anomalies), {seed / 1000:.2f} ms for the seed's two rules"
    )
    return Figure(
        "rule detectors, batch of 1,000 lines",
        full,
        "µs",
        DETECT_TARGET_US,
        reference=seed,
        lower_is_better=True,
    )


def _drained(url: str, key: str, lines: int, deadline: float) -> tuple[int, int, bool]:
    """Poll until ``lines`` are in batches and no batch is pending or processing, or the
    deadline passes; (lines in batches, batches, whether it finished in time)."""
    headers = {"X-API-Key": key}
    while True:
        streams = httpx.get(f"{url}/api/v1/log-streams", headers=headers, timeout=30).json()
        batched = sum(int(s.get("lines_total") or 0) for s in streams["items"])
        batches = sum(int(s.get("batches_total") or 0) for s in streams["items"])
        waiting = 0
        for status in ("pending", "processing") if batched >= lines else ():
            waiting += len(
                httpx.get(
                    f"{url}/api/v1/log-batches",
                    params={"limit": 1, "status": status},
                    headers=headers,
                    timeout=30,
                ).json()["items"]
            )
        if batched >= lines and not waiting:
            return batched, batches, True
        if time.monotonic() > deadline:
            return batched, batches, False
        time.sleep(1.0)  # each poll costs the server CPU: seldom


@dataclass
class _Run:
    rate: float  # lines/s through the timed sends
    cpu_us: float  # server CPU per line, all threads (the load and draining the batches)
    loop_us: float  # of which the event-loop thread
    load_us: float  # server CPU per line during the timed load alone (all threads)
    lines: int  # lines sent in the timed part
    batched: int  # lines in batches (intel runs)
    note: str


def _rate(bodies: list[bytes], budget: float, intel: bool, mining: bool) -> _Run:
    extra = {} if mining else {"AGENTDECK_LOGINTEL__MINING_ENABLED": "false"}
    with agentdeck_server("bench-intel-", extra_env=extra) as (url, key):
        pid = SERVERS[url].pid
        auth = {"Content-Type": "application/json", "X-API-Key": key}
        if intel:
            stream = httpx.post(
                f"{url}/api/v1/log-streams",
                json={"name": "all", "severity_filter": ALL_SEVERITIES, "batch_size": 1000},
                headers={"X-API-Key": key},
                timeout=30,
            )
            stream.raise_for_status()
        path = "/api/v1/logs/batch"
        send(url, path, bodies[:WARMUP], auth, clients=CLIENTS, check=_all_accepted)
        if intel:
            _drained(url, key, WARMUP * BATCH, time.monotonic() + 60)
        loop_before, all_before, _ = _cpu_seconds(pid)
        sent, elapsed = send(
            url, path, bodies[WARMUP:], auth, clients=CLIENTS, check=_all_accepted, budget=budget
        )
        _, load_after, _ = _cpu_seconds(pid)
        note = ""
        batched = 0
        if intel:
            # the loops' work on these lines counts: wait until every batch is analysed
            expected = (WARMUP + sent) * BATCH
            batched, batches, done = _drained(url, key, expected, time.monotonic() + 120)
            batched -= WARMUP * BATCH
            note = f"; {batches} batches" + ("" if done else ", NOT all analysed in 120 s")
        loop_after, all_after, _ = _cpu_seconds(pid)
    lines = sent * BATCH
    return _Run(
        rate=lines / elapsed,
        cpu_us=(all_after - all_before) * 1e6 / lines,
        loop_us=(loop_after - loop_before) * 1e6 / lines,
        load_us=(load_after - all_before) * 1e6 / lines,
        lines=lines,
        batched=batched,
        note=note,
    )


#: The servers of a round: (intel, mining) of each.
SERVER_KINDS = {"none": (False, False), "stream": (True, False), "full": (True, True)}


def ingest(
    requests: int, budget: float, rounds: int, only: tuple[str, ...] = ("stream", "full")
) -> list[Figure]:
    """Servers per round: nothing, then stream batching alone (mining off) and mining + stream
    (``only``: which of these two)."""
    bodies = make_bodies(requests)
    kinds = ("none", *only)
    totals = dict.fromkeys(kinds, 0.0)
    for n in range(rounds):
        load = os.getloadavg()[0]
        runs = {}
        for key in kinds:
            intel, mining = SERVER_KINDS[key]
            runs[key] = _rate(bodies, budget, intel=intel, mining=mining)
        for key, run in runs.items():
            totals[key] += run.rate
        base = runs["none"]
        print(f"  round {n + 1} (load average {load:.1f} -> {os.getloadavg()[0]:.1f}):")
        for key, label in (
            ("none", "without"),
            ("stream", "stream batching alone"),
            ("full", "mining + stream batching"),
        ):
            if key not in runs:
                continue
            run = runs[key]
            batched = f", {run.batched:,} lines in batches" if key != "none" else ""
            print(
                f"    {label}: {run.rate:,.0f} lines/s (ratio {run.rate / base.rate:.2f}); "
                f"server CPU {run.cpu_us:.1f} µs a line ({run.loop_us:.1f} event loop; "
                f"+{run.cpu_us - base.cpu_us:.1f} over without; {run.load_us:.1f} during the "
                f"load alone){batched}{run.note}"
            )
    names = {"stream": "stream batching", "full": "mining + stream batching"}
    return [
        Figure(
            f"HTTP log ingest, {names[key]} / without (%)",
            100 * totals[key] / totals["none"],
            "%",
            RATIO_TARGET * 100,
        )
        for key in only
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=160, help="bodies of 1,000 lines")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per run, at most")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--only",
        choices=("stream", "full"),
        help="beside the server without log intelligence, only this one (default: both)",
    )
    args = parser.parse_args(argv)
    print(machine())
    figures = [detectors()]
    if not args.skip_ingest:
        only = (args.only,) if args.only else ("stream", "full")
        figures += ingest(args.requests, args.budget, args.rounds, only)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
