"""Where webhook-style channels send: a proxy named by the environment (read when the worker
starts), ``NO_PROXY``, the outbound policy on every URL, and never the server's netrc
credentials to a configured endpoint."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.notify.models import NotificationOutbox, OutboxStatus
from agentdeck.notify.outbox import enqueue
from agentdeck.notify.worker import Deliverer
from agentdeck.settings import Settings
from tests.conftest import Caller
from tests.notify.support import free_port, recording_server

URL = "/api/v1/notification-channels"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _app(api: httpx.AsyncClient) -> tuple[async_sessionmaker[AsyncSession], Settings]:
    state = api.app.state.deck  # type: ignore[attr-defined]
    return state.sessions, state.settings


async def _queue_webhook(api: httpx.AsyncClient, admin: Caller, url: str, count: int = 1) -> None:
    r = await api.post(
        URL,
        json={"name": f"hook-{uuid.uuid4().hex[:6]}", "kind": "webhook", "config": {"url": url}},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    sessions, _ = _app(api)
    async with sessions() as session:
        for n in range(count):
            await enqueue(
                session,
                tenant_id=admin.tenant_id,
                channel_id=uuid.UUID(r.json()["id"]),
                event="firing",
                dedup_key=f"k{n}",
                payload={"version": "4", "status": "firing", "alerts": []},
            )
        await session.commit()


async def _deliver(api: httpx.AsyncClient) -> list[NotificationOutbox]:
    sessions, settings = _app(api)
    worker = Deliverer(sessions=sessions, settings=settings)  # reads the environment now
    try:
        await worker.run_once()
    finally:
        await worker.close()
    async with sessions() as session:
        return list((await session.scalars(select(NotificationOutbox))).all())


async def test_a_proxy_named_by_the_environment_carries_every_send(
    api: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there: only the proxy
    with recording_server() as proxy:
        await _queue_webhook(api, admin, target, count=3)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        rows = await _deliver(api)
    assert [row.status for row in rows] == [OutboxStatus.delivered] * 3
    # a forward proxy is asked for the absolute URL
    assert [request.path for request in proxy.requests] == [target] * 3


async def test_no_proxy_sends_directly(
    api: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recording_server() as proxy, recording_server() as endpoint:
        await _queue_webhook(api, admin, endpoint.url + "/hook")
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        (row,) = await _deliver(api)
    assert row.status is OutboxStatus.delivered
    assert [request.path for request in endpoint.requests] == ["/hook"]
    assert proxy.requests == []


async def test_a_refused_address_is_refused_with_a_proxy_too(
    api: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recording_server() as proxy:
        await _queue_webhook(api, admin, "http://10.1.2.3/hook")
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        (row,) = await _deliver(api)
    assert row.status is OutboxStatus.dead
    assert proxy.requests == []


async def test_netrc_credentials_are_never_sent_to_an_endpoint(
    api: httpx.AsyncClient, admin: Caller, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login server password server-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with recording_server() as endpoint:
        await _queue_webhook(api, admin, endpoint.url + "/hook")
        (row,) = await _deliver(api)
    assert row.status is OutboxStatus.delivered
    (request,) = endpoint.requests
    assert "authorization" not in request.headers


async def test_a_channel_edited_while_the_worker_runs_sends_to_its_new_address(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    sessions, settings = _app(api)
    worker = Deliverer(sessions=sessions, settings=settings)
    try:
        with recording_server() as before, recording_server() as after:
            r = await api.post(
                URL,
                json={
                    "name": "edited",
                    "kind": "webhook",
                    "config": {"url": before.url + "/one"},
                    "secrets": {"authorization": "Bearer first-token"},
                },
                headers=admin.headers,
            )
            assert r.status_code == 201, r.text
            cid = uuid.UUID(r.json()["id"])
            for n, url, token in ((0, None, None), (1, after.url + "/two", "Bearer second")):
                if url is not None:
                    r = await api.patch(
                        f"{URL}/{cid}",
                        json={"config": {"url": url}, "secrets": {"authorization": token}},
                        headers=admin.headers,
                    )
                    assert r.status_code == 200, r.text
                async with sessions() as session:
                    await enqueue(
                        session,
                        tenant_id=admin.tenant_id,
                        channel_id=cid,
                        event="firing",
                        dedup_key=f"k{n}",
                        payload={"version": "4", "status": "firing", "alerts": []},
                    )
                    await session.commit()
                assert await worker.run_once() == 1
    finally:
        await worker.close()
    assert [(q.path, q.headers["authorization"]) for q in before.requests] == [
        ("/one", "Bearer first-token")
    ]
    assert [(q.path, q.headers["authorization"]) for q in after.requests] == [
        ("/two", "Bearer second")
    ]
