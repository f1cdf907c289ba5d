"""kill -9 of the server between claiming notifications and getting them delivered loses nothing
and delivers each dedup key exactly once.

A real ``agentdeck serve`` claims the outbox rows and POSTs them to a webhook receiver that
holds every request without answering; once all rows are claimed the server is SIGKILLed. More
notifications are enqueued while it is down. A second server on the same database takes the
rows over when their claims expire and the receiver now answers: every dedup key is
acknowledged exactly once and every row ends ``delivered``.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.notify.crypto import SecretBox
from agentdeck.notify.models import ChannelKind, NotificationChannel, NotificationOutbox
from agentdeck.notify.models import OutboxStatus as S
from agentdeck.notify.outbox import enqueue
from agentdeck.settings import Settings
from tests.conftest import TEST_SECRET, Factory
from tests.notify.support import free_port, wait_for

FIRST, LATER = 12, 4


class Receiver:
    def __init__(self) -> None:
        self.answer = threading.Event()  # unset: hold requests unanswered
        self.acknowledged: collections.Counter[str] = collections.Counter()
        self.held = 0
        self.lock = threading.Lock()


@contextmanager
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            key = self.headers["x-agentdeck-dedup-key"]
            if not rec.answer.is_set():
                with rec.lock:
                    rec.held += 1
                rec.answer.wait(60)
                return  # the sender is gone: this request is never acknowledged
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                return
            with rec.lock:
                rec.acknowledged[key] += 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        rec.answer.set()
        server.shutdown()
        server.server_close()


def _start(database_url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **os.environ,
        "AGENTDECK_ENV_FILE": os.devnull,
        "AGENTDECK_DATABASE__URL": database_url,
        "AGENTDECK_DATA_DIR": str(data_dir),
        "AGENTDECK_SECRET_KEY": TEST_SECRET,
        "AGENTDECK_LOG_JSON": "true",
        "AGENTDECK_OUTBOUND__ALLOW_LOOPBACK": "true",  # the receiver is on 127.0.0.1
        "AGENTDECK_NOTIFY__WORKER_INTERVAL_SECONDS": "0.2",
        "AGENTDECK_NOTIFY__TIMEOUT_SECONDS": "3",
        "AGENTDECK_NOTIFY__CLAIM_SECONDS": "4",
        # every claimed row in flight at the kill (one channel's lane holds them all)
        "AGENTDECK_NOTIFY__CHANNEL_CONCURRENCY": str(FIRST + LATER),
    }
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentdeck.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not become ready:\n" + log.read_text()
        time.sleep(0.1)  # polling for readiness


async def _enqueue(session: AsyncSession, tenant_id: Any, channel_id: Any, keys: range) -> None:
    for n in keys:
        await enqueue(
            session,
            tenant_id=tenant_id,
            channel_id=channel_id,
            event="firing",
            dedup_key=f"alert-{n}:firing",
            payload={"version": "4", "status": "firing", "alerts": []},
        )
    await session.commit()


async def _count(session: AsyncSession, status: S) -> int:
    session.expire_all()
    found = await session.scalar(
        select(func.count())
        .select_from(NotificationOutbox)
        .where(NotificationOutbox.status == status)
    )
    return int(found or 0)


@pytest.mark.timeout(300)
async def test_kill_9_between_claim_and_delivery_delivers_each_key_exactly_once(
    database_url: str, tmp_path: Path, session: AsyncSession, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    await session.refresh(tenant)
    tenant_id = tenant.id
    box = SecretBox.from_settings(settings)
    with receiver() as (rec, url):
        channel = NotificationChannel(
            tenant_id=tenant_id,
            name="hook",
            kind=ChannelKind.webhook,
            config={"url": url},
            secrets_encrypted=box.encrypt({"signing_secret": "durable-secret"}),
            rate_limit_per_minute=100_000,
        )
        session.add(channel)
        await session.commit()
        await session.refresh(channel)
        channel_id = channel.id
        await _enqueue(session, tenant_id, channel_id, range(FIRST))
        log = tmp_path / "serve.log"
        proc = _start(database_url, tmp_path / "data", log)
        try:

            async def all_claimed_and_sent() -> bool:
                claimed = await _count(session, S.sending) == FIRST
                return claimed and rec.held == FIRST

            await wait_for(all_claimed_and_sent, seconds=60, what="the rows claimed and sent")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert sum(rec.acknowledged.values()) == 0
        await _enqueue(session, tenant_id, channel_id, range(FIRST, FIRST + LATER))
        rec.answer.set()
        proc = _start(database_url, tmp_path / "data", log)
        try:

            async def all_delivered() -> bool:
                return await _count(session, S.delivered) == FIRST + LATER

            await wait_for(all_delivered, seconds=60, what="every notification delivered")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    assert rec.acknowledged == {f"alert-{n}:firing": 1 for n in range(FIRST + LATER)}
