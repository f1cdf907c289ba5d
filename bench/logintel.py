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
  figure is the ratio of the summed rates.

Targets: a batch of 1,000 lines analysed in <= 50 ms; ingest with log intelligence >= 80 %
of the rate without.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import httpx

from bench import Figure, machine
from bench._agentdeck import agentdeck_server
from bench._load import send
from bench._logs_data import generate
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


def _rate(bodies: list[bytes], budget: float, intel: bool, mining: bool) -> tuple[float, str]:
    extra = {} if mining else {"AGENTDECK_LOGINTEL__MINING_ENABLED": "false"}
    with agentdeck_server("bench-intel-", extra_env=extra) as (url, key):
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
        sent, elapsed = send(
            url, path, bodies[WARMUP:], auth, clients=CLIENTS, check=_all_accepted, budget=budget
        )
        note = ""
        if intel:
            time.sleep(3)  # let the loops finish the last batches before counting them
            page = httpx.get(
                f"{url}/api/v1/log-batches",
                params={"limit": 500},
                headers={"X-API-Key": key},
                timeout=30,
            ).json()["items"]
            states: dict[str, int] = {}
            for item in page:
                states[item["status"]] = states.get(item["status"], 0) + 1
            note = f"; batches {states}"
    return sent * BATCH / elapsed, note


def ingest(requests: int, budget: float, rounds: int) -> list[Figure]:
    """Three servers per round: nothing, stream batching alone (mining off), mining + stream."""
    bodies = make_bodies(requests)
    totals = {"none": 0.0, "stream": 0.0, "full": 0.0}
    for n in range(rounds):
        rates = {
            "none": _rate(bodies, budget, intel=False, mining=False),
            "stream": _rate(bodies, budget, intel=True, mining=False),
            "full": _rate(bodies, budget, intel=True, mining=True),
        }
        for key, (rate, _) in rates.items():
            totals[key] += rate
        base = rates["none"][0]
        print(
            f"  round {n + 1}: without {base:,.0f} lines/s; stream batching alone "
            f"{rates['stream'][0]:,.0f} (ratio {rates['stream'][0] / base:.2f})"
            f"{rates['stream'][1]}; "
            f"mining + stream {rates['full'][0]:,.0f} (ratio {rates['full'][0] / base:.2f})"
            f"{rates['full'][1]}; load average {os.getloadavg()[0]:.1f}"
        )
    return [
        Figure(
            "HTTP log ingest, stream batching / without (%)",
            100 * totals["stream"] / totals["none"],
            "%",
            RATIO_TARGET * 100,
        ),
        Figure(
            "HTTP log ingest, mining + stream batching / without (%)",
            100 * totals["full"] / totals["none"],
            "%",
            RATIO_TARGET * 100,
        ),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=160, help="bodies of 1,000 lines")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per run, at most")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args(argv)
    print(machine())
    figures = [detectors()]
    if not args.skip_ingest:
        figures += ingest(args.requests, args.budget, args.rounds)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
