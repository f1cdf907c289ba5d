"""Realistic generated log lines for the log benchmarks.

20 services, 5 severities (DEBUG 15 %, INFO 62 %, WARNING 13 %, ERROR 8 %, CRITICAL 2 %),
messages of 80–300 bytes made from ~40 templates of the kind services write (HTTP access
lines, database and queue work, retries and timeouts, agent steps, JSON and logfmt lines),
with their variable parts drawn at random: paths, status codes, durations, user and order
ids, hex request ids, IP addresses, token counts. About 2.5 % of lines contain "timeout".
One line in ten carries a trace and span id. Labels: env, region and host (the host follows
the agent). Times are spread evenly over the span asked for, in order, with equal timestamps
now and then (several lines in the same nanosecond happen with batch loggers).

Context fields (``caller=…``, ``pod=…``, ``elapsed=…``) pad a line towards its length. By default
(``shapes="rotating"``, what every recorded figure used) each line draws its own length and a
random rotation of the context fields, so nearly every line has a shape of its own (1,827 in
2,000 lines, against 12–322 in ten real Loghub samples). With ``shapes="call-site"`` each
template has its own fixed set of them, as a logging call site writes the same fields every
time, and its own length in 80–300 bytes (770 shapes in 2,000 lines): about as compressible
(the random ids carry the entropy), but about 2× costlier for the miner, whose trailing-run fast
path the rotating lines take (``docs/benchmarks.md``, 2026-12-08).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Literal

import numpy as np

from agentdeck.logstore.base import LogRecord, RecordIds, Severity

SERVICES = tuple(
    f"{name}"
    for name in (
        "api-gateway",
        "auth",
        "billing",
        "search",
        "inventory",
        "orders",
        "payments",
        "notifier",
        "scheduler",
        "planner-agent",
        "coder-agent",
        "review-agent",
        "retriever",
        "embedder",
        "llm-proxy",
        "cache",
        "storage",
        "metrics",
        "webhooks",
        "frontend",
    )
)
SEVERITIES = (Severity.DEBUG, Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL)
SEVERITY_WEIGHTS = (0.15, 0.62, 0.13, 0.08, 0.02)
PATHS = (
    "/api/v1/orders",
    "/api/v1/users/{uid}/profile",
    "/api/v1/search?q=shoes&page={n}",
    "/api/v1/cart/{oid}/items",
    "/healthz",
    "/api/v1/payments/{oid}/capture",
    "/api/v1/agents/{aid}/runs",
    "/static/app.{h4}.js",
)
TABLES = ("orders", "users", "line_items", "payments", "sessions", "agent_runs")
TOOLS = ("web_search", "read_file", "write_file", "run_tests", "http_get", "sql_query")
MODELS = ("gpt-4o-mini", "llama3.1:8b", "qwen2.5-coder", "mistral-small")

# Templates by severity; {x} fields filled per line. Each renders to 80-300 bytes.
TEMPLATES: dict[Severity, tuple[str, ...]] = {
    Severity.DEBUG: (
        "cache lookup key=user:{uid}:profile hit={bool} size={n}B ttl={s}s shard={shard} "
        "request_id={rid}",
        "sql: SELECT id, status, total FROM {table} WHERE customer_id = {uid} LIMIT 50 "
        "-- took {ms}ms rows={n}",
        '{{"level":"debug","msg":"tool call prepared","tool":"{tool}","args_bytes":{n},'
        '"step":{small},"run_id":"{rid}"}}',
        'level=debug msg="queue poll" queue=jobs.{table} batch={small} waited={ms}ms '
        "worker=w-{shard} request_id={rid}",
        "resolved upstream {svc}.internal:8080 -> {ip}:8080 via dns cache (age {s}s, "
        "{small} records)",
    ),
    Severity.INFO: (
        '{ip} - - "GET {path} HTTP/1.1" 200 {n} "-" "Mozilla/5.0 (X11; Linux x86_64)" '
        "rt={sec} request_id={rid}",
        '{ip} - - "POST {path} HTTP/1.1" 201 {n} "-" "python-httpx/0.27.0" rt={sec} '
        "request_id={rid}",
        "order {oid} created for customer {uid}: {small} items, total {money} EUR, "
        "payment method card, region {region}",
        "agent run {rid} step {small} finished: tool={tool} duration={ms}ms tokens_in={n} "
        "tokens_out={small}",
        '{{"level":"info","msg":"request completed","method":"GET","path":"{path}",'
        '"status":200,"duration_ms":{ms},"user":"u-{uid}"}}',
        'level=info msg="job completed" job=reindex-{table} processed={n} failed=0 '
        "duration={sec}s worker=w-{shard}",
        "user u-{uid} signed in from {ip} with password+totp (session s-{rid}, expires in 12h)",
        "llm completion model={model} prompt_tokens={n} completion_tokens={small} "
        "latency={ms}ms cache={bool}",
        "published {small} events to topic agent.{table}.changed partition {shard} offset {n}",
        "scheduled job nightly-{table}-compaction at 2024-06-0{small}T02:00:00Z (next run in {s}s)",
    ),
    Severity.WARNING: (
        "slow query on {table}: {ms}ms (threshold 250ms) plan=seq_scan rows={n} request_id={rid}",
        "upstream {svc} responded slowly ({ms}ms), retrying attempt {small}/3 request_id={rid}",
        "connection pool for postgres://{svc}-db:5432/app at {small}/20, waiting "
        "callers {small}, oldest wait {ms}ms",
        "rate limit near for tenant t-{shard}: {n} requests in the last minute (limit 12000)",
        "request to {svc}.internal timeout after {ms}ms, will retry in {small}s (request_id={rid})",
        'level=warn msg="agent step exceeded budget" tool={tool} tokens={n} '
        "budget=8000 run_id={rid}",
    ),
    Severity.ERROR: (
        "upstream request timeout after {ms}ms: GET http://{svc}.internal:8080{path} "
        "request_id={rid}",
        "payment {oid} failed: card declined (code 05) for customer {uid}, "
        'gateway response "do not honor"',
        "database error on {table}: deadlock detected while updating row {n}, "
        "transaction rolled back (request_id={rid})",
        '{{"level":"error","msg":"tool call failed","tool":"{tool}","error":"exit status 1",'
        '"step":{small},"run_id":"{rid}"}}',
        "failed to deliver webhook {rid} to https://hooks.example.com/{h4}: "
        "HTTP 503 after {small} attempts",
        "llm request to {model} failed: context deadline exceeded (timeout {s}s), "
        "prompt_tokens={n}",
    ),
    Severity.CRITICAL: (
        "out of memory: worker w-{shard} killed (rss {n} KiB > limit), {small} "
        "requests in flight lost",
        "disk /var/lib/{svc} at 97% ({n} MiB free), writes will fail soon; "
        "compaction backlog {small}",
        "lost connection to postgres://{svc}-db:5432/app: timeout expired after "
        "{ms}ms, circuit open",
    ),
}


CONTEXT = (
    "caller={caller}",
    "version={version}",
    "pod={pod}",
    "thread=worker-{shard}",
    "attempt={small}",
    "elapsed={ms}ms",
    "tenant=t-{shard}",
    "span={h4}",
    "node={node}",
    "queue_depth={n}",
)


Shapes = Literal["call-site", "rotating"]


def _call_site(severity: Severity, which: int) -> tuple[int, int]:
    """The line length (80-300 bytes) and first context field of one template's call site:
    fixed per template, spread over the range (a deterministic hash of its place)."""
    key = SEVERITIES.index(severity) * 31 + which * 7
    return 80 + (key * 97) % 221, (key * 3) % len(CONTEXT)


#: A call site's number of context fields, found on its first line and kept from then on.
_SITE_FIELDS: dict[tuple[Severity, int], int] = {}


class _Draws:
    """Random values for one chunk of lines, drawn as arrays (one numpy call per field)."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.uid = rng.integers(1, 50_000, n)
        self.oid = rng.integers(100_000, 999_999, n)
        self.n = rng.integers(10, 20_000, n)
        self.small = rng.integers(1, 9, n)
        self.ms = rng.integers(1, 5_000, n)
        self.s = rng.integers(1, 300, n)
        self.sec = rng.uniform(0.001, 2.5, n)
        self.money = rng.uniform(5, 900, n)
        self.rid = rng.integers(0, 1 << 32, n)
        self.h4 = rng.integers(0, 1 << 16, n)
        self.ip = rng.integers(0, 1 << 18, n)
        self.path = rng.integers(0, len(PATHS), n)
        self.table = rng.integers(0, len(TABLES), n)
        self.tool = rng.integers(0, len(TOOLS), n)
        self.model = rng.integers(0, len(MODELS), n)
        self.svc = rng.integers(0, len(SERVICES), n)
        self.shard = rng.integers(0, 16, n)
        self.bool = rng.integers(0, 2, n)
        self.template = rng.integers(0, 1 << 30, n)
        self.target = rng.integers(80, 301, n)  # the line's length in bytes
        self.context = rng.integers(0, len(CONTEXT), n)  # where the context fields start


def _values(d: _Draws, i: int, region: str, agent: tuple[str, str, str]) -> dict[str, object]:
    uid = int(d.uid[i])
    oid = int(d.oid[i])
    h4 = f"{int(d.h4[i]):04x}"
    small = int(d.small[i])
    ip = int(d.ip[i])
    return {
        "uid": uid,
        "oid": oid,
        "n": int(d.n[i]),
        "small": small,
        "ms": int(d.ms[i]),
        "s": int(d.s[i]),
        "sec": f"{d.sec[i]:.3f}",
        "money": f"{d.money[i]:.2f}",
        "rid": f"{int(d.rid[i]):08x}",
        "h4": h4,
        "ip": f"10.{ip >> 16}.{(ip >> 8) & 255}.{ip & 255}",
        "path": PATHS[int(d.path[i])].format(uid=uid, oid=oid, n=small, aid=uid % 97, h4=h4),
        "table": TABLES[int(d.table[i])],
        "tool": TOOLS[int(d.tool[i])],
        "model": MODELS[int(d.model[i])],
        "svc": SERVICES[int(d.svc[i])],
        "shard": int(d.shard[i]),
        "pod": agent[0],
        "version": agent[1],
        "node": agent[2],
        "bool": "true" if d.bool[i] else "false",
        "region": region,
    }


def _message(
    d: _Draws,
    i: int,
    severity: Severity,
    region: str,
    agent: tuple[str, str, str],
    shapes: Shapes = "rotating",
) -> str:
    """A templated line, extended with context fields to its length (80-300 bytes): its call
    site's (``shapes="call-site"``) or one drawn for the line (``"rotating"``).

    The context fields a process repeats (pod, version, node) are fixed per agent, and the
    caller per template, as in real services."""
    values = _values(d, i, region, agent)
    templates = TEMPLATES[severity]
    which = int(d.template[i]) % len(templates)
    values["caller"] = f"{('handler', 'worker', 'client', 'store')[which % 4]}.go:{37 + which * 53}"
    message = templates[which].format_map(values)
    parts = [message]
    size = len(message.encode())
    if shapes == "call-site":
        target, first = _call_site(severity, which)
        fields = _SITE_FIELDS.get((severity, which))
    else:
        target, first, fields = int(d.target[i]), int(d.context[i]), None
    for k in range(len(CONTEXT)):
        if (size >= target) if fields is None else (k >= fields):
            break
        extra = CONTEXT[(first + k) % len(CONTEXT)].format_map(values)
        parts.append(extra)
        size += len(extra) + 1
    if shapes == "call-site":
        _SITE_FIELDS.setdefault((severity, which), len(parts) - 1)
    message = " ".join(parts)
    raw = message.encode()
    return raw[:300].decode("utf-8", "ignore") if len(raw) > 300 else message


def _hex_id(rng: np.random.Generator, words: int) -> str:
    return "".join(
        f"{int(rng.integers(0, 1 << 63)) * 2 + int(rng.integers(2)):016x}" for _ in range(words)
    )


def generate(
    count: int,
    *,
    tenant_id: uuid.UUID,
    start_ns: int,
    end_ns: int,
    seed: int = 7,
    chunk: int = 50_000,
    shapes: Shapes = "rotating",
) -> Iterator[list[LogRecord]]:
    """``count`` lines evenly over ``[start_ns, end_ns)``, in time order, in chunks (context
    fields by ``shapes``: see the module docstring)."""
    rng = np.random.default_rng(seed)
    ids = RecordIds()
    step = (end_ns - start_ns) / count
    regions = ("eu-west-1", "us-east-1", "ap-south-1")
    agent_context = {
        f"{service}-{a}": (
            f"{service}-{7 * s + 3 * a + 4096:04x}",
            f"1.{s % 7}.{a}",
            f"ip-10-0-{s}-{a + 10}",
        )
        for s, service in enumerate(SERVICES)
        for a in range(5)
    }
    made = 0
    while made < count:
        n = min(chunk, count - made)
        services = rng.integers(0, len(SERVICES), n)
        severities = rng.choice(len(SEVERITIES), n, p=SEVERITY_WEIGHTS)
        agents = rng.integers(0, 5, n)
        traced = rng.random(n) < 0.1
        jitter = rng.random(n) < 0.05  # some lines share their neighbour's nanosecond
        draws = _Draws(rng, n)
        out: list[LogRecord] = []
        ts = 0
        for i in range(n):
            if not jitter[i] or i == 0:
                ts = start_ns + int((made + i) * step)
            service = SERVICES[int(services[i])]
            severity = SEVERITIES[int(severities[i])]
            region = regions[int(services[i]) % 3]
            agent = f"{service}-{int(agents[i])}"
            message = _message(draws, i, severity, region, agent_context[agent], shapes)
            out.append(
                LogRecord(
                    id=ids.next(ts),
                    tenant_id=tenant_id,
                    ts_ns=ts,
                    service=service,
                    severity=severity,
                    message=message,
                    agent=agent,
                    labels={"env": "prod", "region": region, "host": f"{agent}.node"},
                    trace_id=_hex_id(rng, 2) if traced[i] else "",
                    span_id=_hex_id(rng, 1) if traced[i] else "",
                    observed_ns=ts + 1_000_000,
                )
            )
        made += n
        yield out
