"""WebSocket fan-out: 1,000 clients on ``metrics``, one frame per second each, from ingest.

Setup: ``agentdeck serve`` in its own process (uvicorn on 127.0.0.1, SQLite state, DuckDB
store, rate limit off, fresh files; with ``--bus redis`` on the Redis bus). 1,000 WebSocket
clients in two client processes (500 each) authenticate with an API key and subscribe to
``metrics`` filtered to one agent each (the agent page's live charts), default 1 s interval.
This process runs the fleet's ingest: every second each of the 1,000 agents reports 4 gauges
(20 ``POST /api/v1/metrics/batch`` requests of 50 agents, spread over the second); each
sample's timestamp is its request's send time and its value the tick number.

* delivery latency of a report: its arrival at the client minus the 2xx of the ingest
  request that carried it (0 when the frame came first: events are published before the
  answer goes out), and minus that request's send time (the ingest request itself included,
  so a backlog of ingest shows here). p99 over every report received.
* drops: reports each client should have seen (its agent's ticks acknowledged with a 2xx)
  minus the ticks it received; frames per client per second.
* reference, same run: the ingest requests' own latency (send to 2xx).

Targets: p99 <= 250 ms (both measures are held to it); no unintended drops.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server
from bench.realtime_load import (
    AGENTS,
    AGENTS_PER_REQUEST,
    Fleet,
    agent_name,
    cpu_seconds,
    percentile,
    run_loop,
)

CLIENTS = 1000
PROCESSES = 2
TARGET_P99_MS = 250
REDIS_URL = os.environ.get("AGENTDECK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

# (agent index, tick, sample ts in ms, arrival wall-clock s)
Arrival = tuple[int, int, int, float]


def server_env(bus: str) -> dict[str, str]:
    env = {
        "AGENTDECK_LOOPS__ENABLED": "false",
        "AGENTDECK_REALTIME__MAX_CONNECTIONS_PER_USER": str(CLIENTS + 10),
    }
    if bus == "redis":
        env["AGENTDECK_REDIS_URL"] = REDIS_URL
    return env


# --- the client processes --------------------------------------------------------------------


async def _client(
    ws_url: str, key: str, agent: int, ready: asyncio.Event, stop: asyncio.Event, out: list[Any]
) -> None:
    from websockets.asyncio.client import connect

    async with connect(ws_url, max_queue=None, ping_interval=None) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": key}).decode())
        if orjson.loads(await ws.recv())["type"] != "connected":
            raise RuntimeError("not connected")
        subscribe = {
            "type": "subscribe",
            "channel": "metrics",
            "filter": {"agent": agent_name(agent)},
        }
        await ws.send(orjson.dumps(subscribe).decode())
        while orjson.loads(await ws.recv())["type"] != "snapshot":
            pass
        ready.set()
        stopping = asyncio.ensure_future(stop.wait())
        while True:
            receiving = asyncio.ensure_future(ws.recv())
            done, _ = await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if receiving not in done:
                receiving.cancel()
                return
            arrived = time.time()
            frame = orjson.loads(receiving.result())
            if frame.get("type") == "event" and frame.get("channel") == "metrics":
                samples = frame["data"]["samples"]
                if samples:
                    # the samples of one report share its tick (value) and send time (ts)
                    reports = {int(s["value"]): s["ts"] for s in samples}
                    for tick, ts in reports.items():
                        sent = round(datetime.fromisoformat(ts).timestamp() * 1000)
                        out.append((agent, tick, sent, arrived))


def _client_process(ws_url: str, key: str, agents: list[int], pipe: Connection) -> None:
    """Connect one client per agent, say ready, record until told to stop, send arrivals."""

    async def main() -> None:
        stop = asyncio.Event()
        out: list[Arrival] = []
        readies = [asyncio.Event() for _ in agents]
        tasks = []
        for i, agent in enumerate(agents):
            tasks.append(asyncio.create_task(_client(ws_url, key, agent, readies[i], stop, out)))
            if i % 50 == 49:  # connect in waves, not 500 handshakes at once
                await asyncio.gather(*(r.wait() for r in readies[i - 49 : i + 1]))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        loop = asyncio.get_running_loop()
        pipe.send("ready")
        await loop.run_in_executor(None, pipe.recv)  # "stop"
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failed = [repr(r) for r in results if isinstance(r, BaseException)]
        pipe.send((out, failed[:3], len(failed)))

    run_loop(main())


# --- the run ---------------------------------------------------------------------------------


async def _ingest(url: str, key: str, seconds: float) -> Fleet:
    parts = urlsplit(url)
    fleet = Fleet(parts.hostname or "127.0.0.1", parts.port or 80, key)
    await fleet.run(seconds)
    return fleet


def run(bus: str, seconds: float) -> list[Figure]:
    print(
        f"WebSocket fan-out, {bus} bus: {CLIENTS:,} clients on metrics (one agent each) in "
        f"{PROCESSES} processes, 1,000 agents × 4 gauges every second, {seconds:.0f} s"
    )
    context = mp.get_context("spawn")
    with agentdeck_server("bench-ws-", server_env(bus)) as (url, key):
        ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
        pipes, processes = [], []
        share = CLIENTS // PROCESSES
        for p in range(PROCESSES):
            ours, theirs = context.Pipe()
            agents = list(range(p * share, (p + 1) * share))
            process = context.Process(
                target=_client_process, args=(ws_url, key, agents, theirs), daemon=True
            )
            process.start()
            pipes.append(ours)
            processes.append(process)
        started = time.perf_counter()
        for pipe in pipes:
            if not pipe.poll(180) or pipe.recv() != "ready":
                raise RuntimeError("clients did not connect")
        took = time.perf_counter() - started
        print(f"  {CLIENTS:,} clients connected and subscribed in {took:.1f} s")
        pid = SERVERS[url].pid
        cpu = cpu_seconds(pid)
        fleet = run_loop(_ingest(url, key, seconds))
        cpu = cpu_seconds(pid) - cpu
        use = f"{cpu:.1f} s in {seconds:.0f} s ({cpu / seconds:.2f} cores)"
        print(f"  server CPU during the ingest: {use}")
        # let the last frames arrive: one interval plus the latency target, then stop
        deadline = time.time() + 1.0 + 2 * TARGET_P99_MS / 1000
        while time.time() < deadline:
            time.sleep(0.05)
        arrivals: list[Arrival] = []
        failures: list[str] = []
        failed = 0
        for pipe in pipes:
            pipe.send("stop")
        for pipe in pipes:
            if not pipe.poll(60):
                raise RuntimeError("a client process did not report")
            out, sample_failures, count = pipe.recv()
            arrivals += out
            failures += sample_failures
            failed += count
        for process in processes:
            process.join(10)
    return _figures(bus, seconds, fleet, arrivals, failed, failures)


def _figures(
    bus: str, seconds: float, fleet: Fleet, arrivals: list[Arrival], failed: int, why: list[str]
) -> list[Figure]:
    acked = {(t.tick, t.first_agent): t for t in fleet.ticks if t.acked == t.acked}
    expected = sum(min(AGENTS_PER_REQUEST, AGENTS - first) for (_, first) in acked) * (
        CLIENTS / AGENTS
    )
    seen: set[tuple[int, int]] = set()
    from_send: list[float] = []
    from_ack: list[float] = []
    for agent, tick, ts, arrived in arrivals:
        if (agent, tick) in seen:
            continue
        seen.add((agent, tick))
        first = agent - agent % AGENTS_PER_REQUEST
        report = acked.get((tick, first))
        from_send.append(arrived * 1000 - ts)
        if report is not None:
            from_ack.append(max(0.0, (arrived - report.acked) * 1000))
    received = sum(1 for agent, tick in seen if (tick, agent - agent % AGENTS_PER_REQUEST) in acked)
    # a report superseded by a later one of the same agent within one interval is coalesced
    # (the latest value wins, by design); one with no later report received is dropped
    latest: dict[int, int] = {}
    for agent, tick in seen:
        latest[agent] = max(latest.get(agent, -1), tick)
    coalesced = sum(
        1
        for (tick, first) in acked
        for agent in range(first, min(first + AGENTS_PER_REQUEST, CLIENTS))
        if (agent, tick) not in seen and latest.get(agent, -1) > tick
    )
    missing = int(expected - received) - coalesced
    ingest_ms = [(t.acked - t.sent) * 1000 for t in acked.values()]
    frames_per_client_s = len(seen) / CLIENTS / seconds
    print(
        f"  delivery from send: p50 {percentile(from_send, 50):.0f} ms, p95 "
        f"{percentile(from_send, 95):.0f} ms, p99 {percentile(from_send, 99):.0f} ms, max "
        f"{max(from_send, default=float('nan')):.0f} ms; from the 2xx: p99 "
        f"{percentile(from_ack, 99):.0f} ms"
    )
    print(
        f"  reports expected {expected:,.0f}, received {received:,}, coalesced {coalesced:,}, "
        f"dropped {missing:,}, "
        f"{frames_per_client_s:.2f} frames/client/s, {failed} client(s) failed {why}; ingest "
        f"{fleet.samples:,} samples, {fleet.errors} failed requests, p99 "
        f"{percentile(ingest_ms, 99):.0f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    label = f"WebSocket fan-out {bus} bus, {CLIENTS:,} clients"
    return [
        Figure(f"{label} p99 delivery from the 2xx", percentile(from_ack, 99), "ms",
               TARGET_P99_MS, lower_is_better=True),
        Figure(f"{label} p99 delivery from the send", percentile(from_send, 99), "ms",
               TARGET_P99_MS, percentile(ingest_ms, 99), lower_is_better=True),
        Figure(f"{label} dropped reports", missing + failed, "reports", 0, lower_is_better=True),
        Figure(f"{label} coalesced reports", coalesced, "reports", lower_is_better=True),
        Figure(f"reference: ingest request p99 {bus} bus", percentile(ingest_ms, 99), "ms"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bus", choices=["memory", "redis", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of ingest")
    args = parser.parse_args(argv)
    print(machine())
    buses = ["memory", "redis"] if args.bus == "both" else [args.bus]
    figures: list[Figure] = []
    for bus in buses:
        figures += run(bus, args.seconds)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
