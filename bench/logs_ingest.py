"""Log ingest over HTTP into a running agentdeck (embedded DuckDB log store).

Workload: JSON batches of 1,000 realistic log lines (``POST /api/v1/logs/batch``): messages of
80-300 bytes built from a few dozen templates with varying ids, durations and paths, 20
services, the five severities (mostly INFO), two stream labels and an agent per line, time
stamps within the last minutes. The bodies are encoded before the clock starts.

* warm-up: the first ``WARMUP`` bodies go to the server before its clock starts.
* figure: 4 concurrent HTTP clients (this process, aiohttp: see ``bench/_load.py``) POST the
  other bodies to ``agentdeck serve`` (its own process: uvicorn on 127.0.0.1, SQLite state,
  DuckDB log store, rate limits off) with a developer API key. The clock stops when the last
  answer arrived (200: lines durable); every answer must report all 1,000 lines accepted.
* memory: the server's peak resident set (``VmHWM``) once the run is over.

Targets: >= 150,000 lines/s; server RSS < 500 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

import orjson

from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench._load import send

TARGET = 150_000
RSS_TARGET_MB = 500
BATCH = 1000
CLIENTS = 4
WARMUP = 8
SERVICES = [
    f"svc-{name}"
    for name in (
        "api",
        "auth",
        "billing",
        "cart",
        "catalog",
        "checkout",
        "search",
        "payments",
        "users",
        "orders",
        "inventory",
        "shipping",
        "notify",
        "ledger",
        "gateway",
        "planner",
        "retriever",
        "ranker",
        "memory",
        "tools",
    )
]
SEVERITIES = (("DEBUG", 15), ("INFO", 60), ("WARNING", 15), ("ERROR", 8), ("CRITICAL", 2))
TEMPLATES = (
    "GET /api/v1/items/{id} 200 {ms}ms user={user} trace={trace}",
    "POST /api/v1/orders 201 {ms}ms order={id} items={n} total={amount} currency=EUR",
    'tool call search(query="{word} {word2}") returned {n} results in {ms} ms',
    "LLM request model=gpt-4o-mini prompt_tokens={n} completion_tokens={m} latency={ms}ms",
    "retrying upstream {host}:{port} after timeout (attempt {n} of 5), backoff {ms}ms",
    "cache miss for key session:{user}:{id}; loading from postgres took {ms} ms",
    "payment {id} declined by provider: insufficient funds (code {code}) user={user}",
    "worker {n} picked job {id} from queue default; {m} jobs waiting, oldest {ms}ms",
    "connection pool exhausted: {n} in use, {m} waiting, request {id} queued for {ms} ms",
    "agent {user} finished step {n}/{m}: {word} -> {word2} ({ms} ms, {amount} tokens)",
    "validation failed for field '{word}' in request {id}: expected integer, got '{word2}'",
    "slow query ({ms} ms): SELECT * FROM orders WHERE customer_id = {id} AND status = '{word}'",
)
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def _line(rng: random.Random) -> str:
    text = rng.choice(TEMPLATES).format(
        id=rng.randrange(10**9),
        ms=rng.randrange(1, 5000),
        user=f"u{rng.randrange(10**5)}",
        trace=f"{rng.getrandbits(64):016x}",
        n=rng.randrange(1, 50),
        m=rng.randrange(1, 500),
        amount=f"{rng.random() * 1000:.2f}",
        word=rng.choice(WORDS),
        word2=rng.choice(WORDS),
        host=f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        port=rng.choice((443, 5432)),
        code=rng.randrange(1000, 9999),
    )
    if len(text) < 80:
        text += " " + "context=" + "x" * (80 - len(text))
    return text[:300]


def make_bodies(requests: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    severities = [name for name, weight in SEVERITIES for _ in range(weight)]
    now = time.time_ns()
    bodies = []
    for _ in range(requests):
        entries: list[dict[str, Any]] = []
        for _ in range(BATCH):
            service = rng.choice(SERVICES)
            entries.append(
                {
                    "timestamp": now - rng.randrange(300 * 10**9),
                    "severity": rng.choice(severities),
                    "service": service,
                    "message": _line(rng),
                    "labels": {"env": "prod", "region": rng.choice(("eu-west", "us-east"))},
                    "agent": f"agent-{rng.randrange(40)}",
                }
            )
        bodies.append(orjson.dumps({"entries": entries}))
    return bodies


def _all_accepted(answer: bytes) -> None:
    body = orjson.loads(answer)
    if body["accepted"] != BATCH:
        raise RuntimeError(f"lines refused: {body['errors'][:3]}")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(requests: int, budget: float) -> list[Figure]:
    bodies = make_bodies(requests)
    sizes = [len(b) for b in bodies]
    print(
        f"log ingest: up to {(requests - WARMUP) * BATCH:,} lines in {requests - WARMUP} "
        f"requests of {BATCH:,} after {WARMUP} to warm up ({sum(sizes) / len(sizes) / 1e6:.2f}"
        f" MB each), {CLIENTS} concurrent clients, at most {budget:.0f} s"
    )
    headers = {"Content-Type": "application/json"}
    with agentdeck_server("bench-logs-") as (url, key):
        pid = SERVERS[url].pid
        auth = {**headers, "X-API-Key": key}
        path = "/api/v1/logs/batch"
        send(url, path, bodies[:WARMUP], auth, clients=CLIENTS, check=_all_accepted)
        sent, elapsed = send(
            url, path, bodies[WARMUP:], auth, clients=CLIENTS, check=_all_accepted, budget=budget
        )
        rss = _peak_rss_mb(pid)
    rate = sent * BATCH / elapsed
    print(
        f"  {sent * BATCH:,} lines in {elapsed:.2f} s: {rate:,.0f} lines/s; server peak RSS "
        f"{rss:.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )
    return [
        Figure("HTTP log ingest (JSON batch), DuckDB", rate, "lines/s", TARGET),
        Figure(
            "server peak RSS through log ingest", rss, "MB", RSS_TARGET_MB, lower_is_better=True
        ),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=400, help="bodies of 1,000 lines")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds, at most")
    args = parser.parse_args(argv)
    print(machine())
    figures = run(args.requests, args.budget)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
