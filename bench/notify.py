"""Notification delivery: throughput, and latency beside a hanging channel.

**Throughput.** 10,000 notifications queued in the outbox and delivered by the delivery loop (a
``LoopRunner`` with the ``DeliveryLoop``, as the server runs it) to a local webhook receiver.
The one channel may have all ``--concurrency`` (64) sends in flight (``channel_concurrency``
raised to it, as every channel could before lanes); a second run with the default
``channel_concurrency`` (8) is shown beside it.

* figure: from the loop's start until every row is ``delivered`` with its attempt logged, on a
  fresh state database (SQLite, or ``--postgresql``), one webhook channel (HMAC-signed, rate
  limit raised out of the way). Also shown: the rate including the enqueue (one transaction per
  500 ``outbox.enqueue`` calls).
* reference: the receiver's raw rate in the same run: a plain ``aiohttp.ClientSession`` (the
  client the worker uses) with the same concurrency POSTing the same body 10,000 times.
* target: >= 500 notifications/s.

**A hanging channel beside a healthy one.** A webhook channel whose endpoint never answers (each
send waits for the 10 s timeout, then is retried with backoff) has 500 notifications queued;
then notifications to a healthy webhook channel are queued one at a time (``--rate`` a second,
each in its own transaction followed by ``DeliveryLoop.wake()``, as the dispatcher does).

* figure: the healthy notifications' p50 and p99 latency, from the enqueue's commit to their
  arrival at the receiver (wall clocks of the same machine).
* reference: the same stream in the same run with no hanging channel.
* target: p99 < 1 s.

The receiver is a minimal ASGI app under uvicorn in its own process (127.0.0.1): ``/hook``
counts requests, ``/ok`` notes each dedup key's arrival time, ``/hang`` never answers (until
the sender disconnects).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx
import orjson
from sqlalchemy import func, select

from bench import Figure, machine
from bench._agentdeck import free_port, fresh_postgres_database

T = TypeVar("T")
TARGET = 500.0
LATENCY_TARGET_MS = 1000.0
RECEIVER = """
import asyncio, json, sys, time, uvicorn
count = 0
arrivals = {}
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    path = scope["path"]
    if scope["method"] == "POST" and path == "/hang":
        await receive()  # never answers: returns when the sender gives up and disconnects
        return
    if scope["method"] == "POST" and path == "/ok":
        headers = dict(scope["headers"])
        arrivals.setdefault(headers[b"x-agentdeck-dedup-key"].decode(), time.time())
        body = b"ok"
    elif scope["method"] == "POST":
        count += 1
        body = b"ok"
    elif path == "/arrivals":
        body = json.dumps(arrivals).encode()
    else:
        body = str(count).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off", timeout_graceful_shutdown=1)
"""


def message(n: int) -> dict[str, Any]:
    labels = {"alertname": "HighErrorRate", "agent": f"agent-{n % 100}", "severity": "error"}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate",agent="agent-{n % 100}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "bench",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "error rate above 5%"},
        "externalURL": "http://127.0.0.1:8000",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "error rate above 5%"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": f"{n:032x}",
            }
        ],
        "agentdeck": {"event": "firing", "alert_ids": [], "severity": "error", "tenant": "bench"},
    }


async def reference_rate(url: str, count: int, concurrency: int) -> float:
    body = orjson.dumps(message(0))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:
        queue = iter(range(count))

        async def worker() -> None:
            for _ in queue:
                async with client.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    r.raise_for_status()
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


class Deck:
    """A fresh state database with one tenant, where the benchmark adds webhook channels."""

    def __init__(self, tmp: str, database_url: str | None, notify: dict[str, Any]) -> None:
        from agentdeck.settings import Settings

        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            secret_key=secrets.token_urlsafe(48),  # PostgreSQL needs a configured key
            data_dir=Path(tmp),
            database={"url": database_url or f"sqlite+aiosqlite:///{tmp}/state.db"},
            notify=notify,
            outbound={"allow_loopback": True},  # the receiver is on 127.0.0.1
            log_level="WARNING",
        )

    async def open(self) -> None:
        from agentdeck.db.engine import create_engine, create_session_factory
        from agentdeck.db.migrate import upgrade
        from agentdeck.identity.models import Tenant

        self.engine = create_engine(self.settings.database)
        await upgrade(self.engine)
        self.sessions = create_session_factory(self.engine)
        async with self.sessions() as session:
            tenant = Tenant(slug="bench", name="Bench")
            session.add(tenant)
            await session.commit()
            self.tenant_id = tenant.id

    async def channel(self, name: str, url: str) -> uuid.UUID:
        from agentdeck.notify.crypto import SecretBox
        from agentdeck.notify.models import ChannelKind, NotificationChannel

        box = SecretBox.from_settings(self.settings)
        async with self.sessions() as session:
            channel = NotificationChannel(
                id=uuid.uuid4(),
                tenant_id=self.tenant_id,
                name=name,
                kind=ChannelKind.webhook,
                config={"url": url},
                secrets_encrypted=box.encrypt({"signing_secret": "bench-signing-secret"}),
                rate_limit_per_minute=1_000_000,
            )
            session.add(channel)
            await session.commit()
            return channel.id

    async def enqueue(self, channel_id: uuid.UUID, keys: range, prefix: str) -> None:
        from agentdeck.notify.outbox import enqueue

        async with self.sessions() as session:
            for n in keys:
                await enqueue(
                    session,
                    tenant_id=self.tenant_id,
                    channel_id=channel_id,
                    event="firing",
                    dedup_key=f"{prefix}:{n}",
                    payload=message(n),
                )
            await session.commit()

    async def undelivered(self) -> int:
        from agentdeck.notify.models import NotificationOutbox, OutboxStatus

        async with self.sessions() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(NotificationOutbox)
                .where(NotificationOutbox.status.in_((OutboxStatus.pending, OutboxStatus.sending)))
            )
        return int(left or 0)

    @contextlib.asynccontextmanager
    async def delivery_loop(self) -> AsyncIterator[Any]:
        """The delivery loop under a runner, as the server runs it."""
        from prometheus_client import CollectorRegistry

        from agentdeck.loops.runner import LoopRunner
        from agentdeck.notify.worker import DeliveryLoop

        registry = CollectorRegistry()
        loop = DeliveryLoop(sessions=self.sessions, settings=self.settings, registry=registry)
        runner = LoopRunner([loop], sessions=self.sessions, registry=registry)
        runner.start()
        try:
            yield loop
        finally:
            await runner.stop()

    async def close(self) -> None:
        await self.engine.dispose()


async def measure(
    count: int,
    concurrency: int,
    channel_concurrency: int,
    receiver: str,
    tmp: str,
    database_url: str | None = None,
) -> tuple[float, float]:
    notify = {
        "concurrency": concurrency,
        "channel_concurrency": channel_concurrency,
        "batch_size": 500,
    }
    deck = Deck(tmp, database_url, notify)
    await deck.open()
    channel_id = await deck.channel("bench-hook", receiver)
    started = time.perf_counter()
    for first in range(0, count, 500):
        await deck.enqueue(channel_id, range(first, min(count, first + 500)), "bench")
    queued = time.perf_counter()
    async with aiohttp.ClientSession() as client:
        before = await received(client, receiver)
        async with deck.delivery_loop():
            # the receiver's count first (cheap, off the state database), then the outbox
            while True:  # polling another process: nothing to wait on
                if await received(client, receiver) >= before + count:
                    break
                await asyncio.sleep(0.1)
            while True:
                if not await deck.undelivered():
                    break
                await asyncio.sleep(0.05)
    done = time.perf_counter()
    await deck.close()
    return count / (done - queued), count / (done - started)


async def received(client: aiohttp.ClientSession, receiver: str) -> int:
    """Requests the receiver counted so far."""
    async with client.get(receiver) as r:
        return int(await r.text())


async def measure_latency(
    base: str, tmp: str, database_url: str | None, *, hanging: int, count: int, rate: float
) -> list[float]:
    """Seconds from enqueue to arrival of ``count`` healthy notifications, queued at ``rate``
    a second, with ``hanging`` notifications queued first to a channel that never answers."""
    deck = Deck(tmp, database_url, {})
    await deck.open()
    healthy = await deck.channel("healthy", f"{base}/ok")
    if hanging:
        stuck = await deck.channel("stuck", f"{base}/hang")
        await deck.enqueue(stuck, range(hanging), "stuck")
    prefix = f"healthy-{uuid.uuid4().hex[:8]}"
    queued: dict[str, float] = {}
    async with deck.delivery_loop() as loop:
        await asyncio.sleep(1.0)  # the hanging channel's sends are in flight
        start = time.monotonic()
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            await deck.enqueue(healthy, range(n, n + 1), prefix)
            queued[f"{prefix}:{n}"] = time.time()
            loop.wake()  # as the dispatcher does after queueing
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 30
            while True:
                arrivals = (await client.get(f"{base}/arrivals")).json()
                if all(key in arrivals for key in queued) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)  # polling the receiver for the last arrivals
    await deck.close()
    # one never received counts as the whole wait
    return [arrivals.get(key, time.time()) - at for key, at in queued.items()]


def percentile(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench notify")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--channel-concurrency",
        type=int,
        default=None,
        help="sends in flight to the one channel (default: --concurrency, as before lanes); a "
        "second run with the default setting is reported beside it",
    )
    parser.add_argument("--healthy", type=int, default=300, help="healthy notifications")
    parser.add_argument("--rate", type=float, default=20.0, help="healthy notifications/s")
    parser.add_argument("--hanging", type=int, default=500, help="queued to the hanging channel")
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="state in a fresh database on the local PostgreSQL (default: a fresh SQLite file)",
    )
    parser.add_argument("--only", choices=("throughput", "hanging"), default=None)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="throughput rounds (reference, lane of --concurrency, default lane); best of them",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of the worker and the reference (default: uvloop, which "
        "`agentdeck serve` runs under, as uvicorn picks it when installed)",
    )
    args = parser.parse_args(argv)

    def run(main: Coroutine[Any, Any, T]) -> T:
        if args.loop == "uvloop":
            import uvloop

            return uvloop.run(main)
        return asyncio.run(main)

    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port)], stdin=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/hook"
    state = "PostgreSQL" if args.postgresql else "SQLite"
    figures: list[Figure] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        print(machine(), f"event loop {args.loop}, load average {os.getloadavg()}")

        def database(stack: contextlib.ExitStack) -> tuple[str, str | None]:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="agentdeck-bench-notify-"))
            db = (
                stack.enter_context(fresh_postgres_database("bench_notify"))
                if args.postgresql
                else None
            )
            return tmp, db

        if args.only in (None, "throughput"):
            from agentdeck.settings import NotifySettings

            lane = args.channel_concurrency or args.concurrency
            default_lane = NotifySettings().channel_concurrency
            rounds: list[tuple[float, float, float, float]] = []
            for n in range(args.repeats):
                # the reference right before the runs it is compared with (same load)
                reference = run(reference_rate(url, args.count, args.concurrency))
                with contextlib.ExitStack() as stack:
                    delivery, end_to_end = run(
                        measure(args.count, args.concurrency, lane, url, *database(stack))
                    )
                with contextlib.ExitStack() as stack:
                    narrow, _ = run(
                        measure(args.count, args.concurrency, default_lane, url, *database(stack))
                    )
                rounds.append((reference, delivery, end_to_end, narrow))
                print(
                    f"round {n + 1}: reference {reference:,.0f} req/s, delivered "
                    f"{delivery:,.0f}/s (ratio {delivery / reference:.2f}), default lane "
                    f"{narrow:,.0f}/s (ratio {narrow / reference:.2f}), queued+delivered "
                    f"{end_to_end:,.0f}/s; load average {os.getloadavg()}"
                )
            received = int(httpx.get(url, timeout=5).text)
            runs = args.repeats * 3
            print(f"receiver counted {received:,} requests ({runs} runs of {args.count:,})")
            # best of the rounds, each beside the reference of its own round
            best = max(rounds, key=lambda r: r[1])
            best_narrow = max(rounds, key=lambda r: r[3])
            best_reference = max(r[0] for r in rounds)
            figures += [
                Figure(
                    f"notify: delivered/s (outbox -> webhook, {state})",
                    best[1],
                    "notif/s",
                    TARGET,
                    best[0],
                ),
                Figure("notify: queued+delivered/s", best[2], "notif/s", None, best[0]),
                Figure(
                    f"notify: delivered/s, channel_concurrency {default_lane}",
                    best_narrow[3],
                    "notif/s",
                    None,
                    best_narrow[0],
                ),
                Figure("notify: reference raw aiohttp -> receiver", best_reference, "req/s"),
            ]
        if args.only in (None, "hanging"):
            latencies = {}
            for hanging in (0, args.hanging):
                with contextlib.ExitStack() as stack:
                    latencies[hanging] = run(
                        measure_latency(
                            base,
                            *database(stack),
                            hanging=hanging,
                            count=args.healthy,
                            rate=args.rate,
                        )  # fmt: skip
                    )
            alone, beside = latencies[0], latencies[args.hanging]
            ms = 1000.0
            figures += [
                Figure(
                    f"notify: healthy p99 beside a hanging channel ({state})",
                    percentile(beside, 99) * ms,
                    "ms",
                    LATENCY_TARGET_MS,
                    percentile(alone, 99) * ms,
                    lower_is_better=True,
                ),
                Figure(
                    "notify: healthy p50 beside a hanging channel",
                    percentile(beside, 50) * ms,
                    "ms",
                    None,
                    percentile(alone, 50) * ms,
                    lower_is_better=True,
                ),
                Figure(
                    "notify: reference p99, no hanging channel", percentile(alone, 99) * ms, "ms"
                ),
                Figure(
                    "notify: reference p50, no hanging channel", percentile(alone, 50) * ms, "ms"
                ),
            ]
            print(
                f"healthy notifications: {len(beside)} beside, {len(alone)} alone; max beside "
                f"{max(beside) * ms:,.0f} ms"
            )
    finally:
        receiver.terminate()
        receiver.wait(10)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
