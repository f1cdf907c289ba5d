"""Load tools shared by the live-view benchmarks (``realtime_http``, ``ws_fanout``).

* ``RawClient``: a minimal HTTP/1.1 keep-alive client on an asyncio protocol. It counts the
  body instead of buffering it, so the load generator spends its CPU on sending, not on
  parsing, and stays well ahead of the server it measures.
* ``open_loop``: a fixed arrival rate over several connections (wrk2-style): request ``i``
  is due at ``start + i / rate`` and its latency is measured from that moment, so time spent
  queued behind a slow server counts.
* ``Fleet``: 1,000 agents registered through the API, and a background ingest of their
  samples (``POST /api/v1/metrics/batch``) spread evenly over each second.
* ``rss_bytes``: the resident memory of the server process.

Everything talks to 127.0.0.1 only and stops at a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx
import orjson

T = TypeVar("T")
AGENTS = 1000
METRICS = ("agent_cpu_percent", "agent_queue_depth", "agent_tokens_per_second", "agent_errors")
#: Agents per ingest request: 50 × 4 metrics = 200 samples, the most one metrics event carries.
AGENTS_PER_REQUEST = 50


def agent_name(index: int) -> str:
    return f"bench-agent-{index:04d}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (it comes with ``uvicorn[standard]``):
    the load generator then spends about half the CPU per request, and leaves it to the
    server it measures."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on this platform
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def own_cpu_seconds() -> float:
    """CPU time this (load-generating) process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- a lean HTTP/1.1 client ------------------------------------------------------------------


class _Response(asyncio.Protocol):
    """Reads one response at a time: status line, headers, ``Content-Length`` bytes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._remaining = -1
        self._status = 0
        self._size = 0
        self._waiter: asyncio.Future[tuple[int, int]] | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("connection closed")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self.lost)

    def expect(self) -> asyncio.Future[tuple[int, int]]:
        self._head.clear()
        self._remaining = -1
        self._waiter = asyncio.get_running_loop().create_future()
        if self.lost is not None:
            self._waiter.set_exception(self.lost)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        if self._remaining < 0:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._head[:end]).decode("latin-1").split("\r\n")
            self._status = int(head[0].split(" ", 2)[1])
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self._size = length
            self._remaining = length - (len(self._head) - end - 4)
        else:
            self._remaining -= len(data)
        if self._remaining <= 0 and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((self._status, self._size))


class RawClient:
    """One keep-alive connection sending pre-encoded requests, one at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._protocol: _Response | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Response, self.host, self.port)
        self._protocol = protocol

    async def request(self, raw: bytes) -> tuple[int, int]:
        """Send a whole request; (status, body bytes) when its response has arrived."""
        if self._protocol is None or self._protocol.lost is not None:
            await self.connect()
        assert self._protocol is not None and self._protocol.transport is not None
        waiter = self._protocol.expect()
        self._protocol.transport.write(raw)
        return await waiter

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()


def raw_request(
    method: str, path: str, headers: dict[str, str], body: bytes = b"", host: str = "127.0.0.1"
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- open-loop load --------------------------------------------------------------------------


@dataclass
class LoadResult:
    rate: float  # requests per second asked for
    duration: float  # seconds of arrivals
    latencies: list[float] = field(default_factory=list)  # seconds, from the due time
    errors: int = 0  # non-2xx answers and broken connections
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0  # first due time to last answer
    body_bytes: int = 0
    failure: str = ""  # the first broken connection's error
    cpu: float = 0.0  # server CPU seconds over the run, when measured
    client_cpu: float = 0.0  # this process's CPU seconds over the run (the load generator)

    @property
    def achieved(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


async def open_loop(
    host: str, port: int, raw: bytes, *, rate: float, duration: float, connections: int
) -> LoadResult:
    """Send ``rate × duration`` requests at fixed due times over ``connections`` connections.

    A request's latency runs from its due time to its answer, so when every connection is busy
    the wait for a free one counts (no coordinated omission). Requests still unanswered 10 s
    after the last due time are abandoned and counted as errors.
    """
    result = LoadResult(rate=rate, duration=duration)
    client_cpu = own_cpu_seconds()
    total = int(rate * duration)
    clients = [RawClient(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.connect() for c in clients))
    counter = iter(range(total))
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    last_answer = start

    async def worker(client: RawClient) -> None:
        nonlocal last_answer
        for i in counter:
            due = start + i / rate
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                status, size = await client.request(raw)
            except OSError as exc:
                result.errors += 1
                result.failure = result.failure or repr(exc)
                continue
            now = loop.time()
            last_answer = max(last_answer, now)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.latencies.append(now - due)
                result.body_bytes += size
            else:
                result.errors += 1

    tasks = [asyncio.create_task(worker(c)) for c in clients]
    _, pending = await asyncio.wait(tasks, timeout=duration + 10.2)
    for task in pending:
        task.cancel()
    for client in clients:
        client.close()
    result.errors += total - len(result.latencies) - result.errors
    result.elapsed = last_answer - start
    result.client_cpu = own_cpu_seconds() - client_cpu
    return result


# --- the fleet -------------------------------------------------------------------------------


async def register_agents(url: str, key: str, count: int = AGENTS) -> None:
    """Create ``count`` agents through the API (8 at a time)."""
    headers = {"X-API-Key": key}
    names = iter(range(count))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            for i in names:
                body = {"name": agent_name(i), "type": "llm"}
                response = await client.post("/api/v1/agents", json=body)
                if response.status_code != 201:
                    raise RuntimeError(f"agent create: {response.status_code} {response.text}")

        await asyncio.gather(*(worker() for _ in range(8)))


@dataclass
class Tick:
    """One ingest request: which agents, when it was sent and when its 2xx arrived."""

    tick: int
    first_agent: int
    sent: float  # wall clock (time.time())
    acked: float = math.nan


class Fleet:
    """Background ingest: every second each agent reports one sample per metric.

    The fleet is cut into requests of ``AGENTS_PER_REQUEST`` agents sent one after another,
    evenly spread over the second (as agents reporting on their own schedules would). Each
    sample's timestamp is the request's send time (ms) and its value the tick number, so a
    receiver can tell which report it got and how long it took.
    """

    def __init__(self, host: str, port: int, key: str, agents: int = AGENTS) -> None:
        self.host, self.port, self.key, self.agents = host, port, key, agents
        self.ticks: list[Tick] = []
        self.errors = 0
        self.samples = 0

    def _body(self, tick: int, first: int, ts_ms: int) -> bytes:
        samples: list[dict[str, Any]] = []
        for agent in range(first, min(first + AGENTS_PER_REQUEST, self.agents)):
            labels = {"agent": agent_name(agent)}
            for metric in METRICS:
                samples.append(
                    {"name": metric, "value": tick, "timestamp": ts_ms, "labels": labels}
                )
        return orjson.dumps({"samples": samples})

    async def run(self, seconds: float, connections: int = 8) -> None:
        """Report for ``seconds`` (whole ticks), then return. Requests do not wait for each
        other (up to ``connections`` in flight), so a slow answer does not delay the next."""
        pool: asyncio.Queue[RawClient] = asyncio.Queue()
        for _ in range(connections):
            client = RawClient(self.host, self.port)
            await client.connect()
            pool.put_nowait(client)
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        groups = list(range(0, self.agents, AGENTS_PER_REQUEST))
        step = 1.0 / len(groups)
        loop = asyncio.get_running_loop()
        start = loop.time()
        in_flight: set[asyncio.Task[None]] = set()

        async def send(record: Tick, body: bytes, count: int) -> None:
            client = await pool.get()
            try:
                status, _ = await client.request(
                    raw_request("POST", "/api/v1/metrics/batch", headers, body)
                )
            except OSError:
                self.errors += 1
                return
            finally:
                pool.put_nowait(client)
            if 200 <= status < 300:
                record.acked = time.time()
                self.samples += count
            else:
                self.errors += 1

        try:
            for tick in range(int(seconds)):
                for position, first in enumerate(groups):
                    due = start + tick + position * step
                    wait = due - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    sent = time.time()
                    record = Tick(tick, first, sent)
                    self.ticks.append(record)
                    count = len(METRICS) * min(AGENTS_PER_REQUEST, self.agents - first)
                    task = asyncio.create_task(
                        send(record, self._body(tick, first, int(sent * 1000)), count)
                    )
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.wait(in_flight, timeout=10)
        finally:
            for task in in_flight:
                task.cancel()
            while not pool.empty():
                pool.get_nowait().close()


@contextlib.asynccontextmanager
async def background(coroutines: Iterable[Any]) -> Any:
    """Run coroutines as tasks for the block; cancel what is left after it."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
