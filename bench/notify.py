"""Notification throughput: 10,000 notifications queued in the outbox and delivered by the
delivery worker to a local webhook receiver.

* figure: ``Deliverer.drain()`` (the code the ``notify-delivery`` loop runs) on a fresh SQLite
  state database, one webhook channel (HMAC-signed, rate limit raised out of the way), from the
  first claim until every row is ``delivered`` with its attempt logged. Also shown: the rate
  including the enqueue (one transaction per 500 ``outbox.enqueue`` calls).
* reference: the receiver's raw rate in the same run: a plain ``aiohttp.ClientSession`` (the
  client the worker uses) with the same concurrency POSTing the same body 10,000 times.

The receiver is a minimal ASGI app under uvicorn in its own process (127.0.0.1), counting
requests. Target: >= 500 notifications/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from sqlalchemy import func, select

from bench import Figure, machine
from bench._agentdeck import free_port, fresh_postgres_database

TARGET = 500.0
RECEIVER = """
import sys, uvicorn
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    if scope["method"] == "POST":
        count += 1
        body = b"ok"
    else:
        body = str(count).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
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


async def measure(
    count: int, concurrency: int, receiver: str, tmp: str, database_url: str | None = None
) -> tuple[float, float]:
    from agentdeck.db.engine import create_engine, create_session_factory
    from agentdeck.db.migrate import upgrade
    from agentdeck.identity.models import Tenant
    from agentdeck.notify.crypto import SecretBox
    from agentdeck.notify.models import (
        ChannelKind,
        NotificationChannel,
        NotificationOutbox,
        OutboxStatus,
    )
    from agentdeck.notify.outbox import enqueue
    from agentdeck.notify.worker import Deliverer
    from agentdeck.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=secrets.token_urlsafe(48),  # PostgreSQL needs a configured key
        data_dir=Path(tmp),
        database={"url": database_url or f"sqlite+aiosqlite:///{tmp}/state.db"},
        notify={"concurrency": concurrency, "batch_size": 500},
        outbound={"allow_loopback": True},  # the receiver is on 127.0.0.1
        log_level="WARNING",
    )
    engine = create_engine(settings.database)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    box = SecretBox.from_settings(settings)
    async with sessions() as session:
        tenant = Tenant(slug="bench", name="Bench")
        session.add(tenant)
        await session.flush()
        channel = NotificationChannel(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            name="bench-hook",
            kind=ChannelKind.webhook,
            config={"url": receiver},
            secrets_encrypted=box.encrypt({"signing_secret": "bench-signing-secret"}),
            rate_limit_per_minute=1_000_000,
        )
        session.add(channel)
        await session.commit()
        tenant_id, channel_id = tenant.id, channel.id

    started = time.perf_counter()
    for first in range(0, count, 500):
        async with sessions() as session:
            for n in range(first, min(count, first + 500)):
                await enqueue(
                    session,
                    tenant_id=tenant_id,
                    channel_id=channel_id,
                    event="firing",
                    dedup_key=f"bench:{n}",
                    payload=message(n),
                )
            await session.commit()
    queued = time.perf_counter()
    worker = Deliverer(sessions=sessions, settings=settings)
    try:
        while True:
            await worker.drain(budget_seconds=600)
            async with sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(NotificationOutbox)
                    .where(NotificationOutbox.status != OutboxStatus.delivered)
                )
            if not left:
                break
    finally:
        await worker.close()
    done = time.perf_counter()
    await engine.dispose()
    return count / (done - queued), count / (done - started)


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench notify")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="state in a fresh database on the local PostgreSQL (default: a fresh SQLite file)",
    )
    args = parser.parse_args(argv)
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port)], stdin=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/hook"
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
        print(machine(), f"load average {os.getloadavg()}")
        reference = asyncio.run(reference_rate(url, args.count, args.concurrency))
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="agentdeck-bench-notify-"))
            db = (
                stack.enter_context(fresh_postgres_database("bench_notify"))
                if args.postgresql
                else None
            )
            delivery, end_to_end = asyncio.run(measure(args.count, args.concurrency, url, tmp, db))
        received = int(httpx.get(url, timeout=5).text)
    finally:
        receiver.terminate()
        receiver.wait(10)
    print(f"receiver counted {received:,} requests ({args.count:,} reference + worker)")
    state = "PostgreSQL" if args.postgresql else "SQLite"
    figures = [
        Figure(
            f"notify: delivered/s (outbox -> webhook, {state})",
            delivery,
            "notif/s",
            TARGET,
            reference,
        ),
        Figure("notify: queued+delivered/s", end_to_end, "notif/s", None, reference),
        Figure("notify: reference raw aiohttp -> receiver", reference, "req/s"),
    ]
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
