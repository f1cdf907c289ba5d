"""Notification channels through the outbound policy (HTTP and SMTP), what the delivery log
shows whom, secret URL parts masked, and secrets required again on a new destination host."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.roles import Role
from agentdeck.notify.models import NotificationChannel
from tests.conftest import Caller, Factory
from tests.outbound.support import LEAK, Seen, answering_server

URL = "/api/v1/notification-channels"
DELIVERIES = "/api/v1/notification-deliveries"
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
def server() -> Iterator[Seen]:
    with answering_server() as seen:
        yield seen


async def _app(app_factory: AppFactory, outbound: dict[str, Any]) -> httpx.AsyncClient:
    return await app_factory(
        loops={"enabled": False}, rate_limit={"enabled": False}, outbound=outbound
    )


async def _create(api: httpx.AsyncClient, admin: Caller, body: dict[str, Any]) -> dict[str, Any]:
    body = {"name": f"{body['kind']}-{uuid.uuid4().hex[:6]}", **body}
    r = await api.post(URL, json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _test(api: httpx.AsyncClient, admin: Caller, cid: str) -> dict[str, Any]:
    r = await api.post(f"{URL}/{cid}/test", headers=admin.headers)
    assert r.status_code == 200, r.text
    delivery: dict[str, Any] = r.json()["delivery"]
    return delivery


def webhook(url: str, **secrets: str) -> dict[str, Any]:
    return {"kind": "webhook", "config": {"url": url}, "secrets": secrets}


def email(host: str, port: int, **secrets: str) -> dict[str, Any]:
    config = {
        "host": host,
        "port": port,
        "security": "none",
        "from_address": "deck@example.test",
        "to": ["ops@example.test"],
    }
    if secrets:
        config["username"] = "deck"
    return {"kind": "email", "config": config, "secrets": secrets}


async def test_the_default_policy_refuses_loopback_webhooks_and_smtp_hosts(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    api = await _app(app_factory, {})
    admin = await factory.user(Role.admin)
    for body in (
        webhook(f"{server.url}/hook"),
        webhook(f"http://localhost:{server.port}/hook"),
        {"kind": "slack", "secrets": {"webhook_url": f"http://2130706433:{server.port}/s"}},
        email("localhost", server.port),
        email("127.0.0.1", server.port),
    ):
        channel = await _create(api, admin, body)
        delivery = await _test(api, admin, channel["id"])
        assert delivery["status"] == "dead", body  # refused: not retried
        assert delivery["error"] == "blocked by outbound policy: loopback address", body
    assert server.requests == []


async def test_an_allowed_webhook_is_delivered_and_a_redirect_is_not_followed(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    api = await _app(app_factory, {"allow": ["127.0.0.1/32"]})
    admin = await factory.user(Role.admin)
    ok = await _create(api, admin, webhook(f"{server.url}/hook"))
    assert (await _test(api, admin, ok["id"]))["status"] == "success"
    moved = await _create(api, admin, webhook(f"{server.url}/to-metadata"))
    delivery = await _test(api, admin, moved["id"])
    assert delivery["status"] == "dead" and delivery["error"] == "HTTP 302"
    assert [path for _, path, _ in server.requests] == ["/hook", "/to-metadata"]


async def test_the_delivery_log_shows_viewers_no_part_of_the_answer(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    api = await _app(app_factory, {"allow_loopback": True})
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    channel = await _create(api, admin, webhook(f"{server.url}/leak"))
    tested = await _test(api, admin, channel["id"])
    assert tested["error"] == "HTTP 500"

    r = await api.get(DELIVERIES, headers=viewer.headers)
    (entry,) = r.json()["items"]
    assert entry["error"] == "HTTP 500" and entry["error_detail"] is None
    assert "SECRET" not in r.text
    r = await api.get(DELIVERIES, headers=admin.headers)
    detail = r.json()["items"][0]["error_detail"]
    assert detail.startswith("HTTP 500: SECRET-INTERNAL-xxx")
    assert len(detail) - len("HTTP 500: ") <= 200
    assert LEAK.decode() not in detail


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (webhook("http://169.254.169.254/latest/meta-data/"), ["body", "config", "url"]),
        (webhook("http://[::ffff:169.254.169.254]/"), ["body", "config", "url"]),
        (webhook("http://0251.0376.0251.0376/"), ["body", "config", "url"]),
        (webhook("http://metadata.google.internal/"), ["body", "config", "url"]),
        (
            {"kind": "slack", "secrets": {"webhook_url": "http://[fe80::1]/hook"}},
            ["body", "secrets", "webhook_url"],
        ),
        (email("169.254.169.254", 25), ["body", "config", "host"]),
    ],
)
async def test_a_metadata_or_link_local_destination_is_refused_with_422(
    app_factory: AppFactory, factory: Factory, body: dict[str, Any], loc: list[str]
) -> None:
    api = await _app(app_factory, {"allow_loopback": True, "allow_private": True})
    admin = await factory.user(Role.admin)
    r = await api.post(URL, json={"name": "bad", **body}, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [loc]


async def test_url_credentials_and_query_values_are_masked_and_kept_encrypted(
    app_factory: AppFactory, factory: Factory, server: Seen, session: AsyncSession
) -> None:
    api = await _app(app_factory, {"allow_loopback": True})
    admin = await factory.user(Role.admin)
    real = f"http://user:pa55word@127.0.0.1:{server.port}/hook?token=s3cret-token&v=2"
    shown = f"http://***@127.0.0.1:{server.port}/hook?token=***&v=***"
    channel = await _create(api, admin, webhook(real))
    assert channel["config"]["url"] == shown
    r = await api.get(f"{URL}/{channel['id']}", headers=admin.headers)
    assert r.json()["config"]["url"] == shown
    assert r.json()["secrets_set"] == []  # the URL's parts are not a secret field
    await _test(api, admin, channel["id"])
    assert server.requests[-1][1] == "/hook?token=s3cret-token&v=2"  # sent to the real URL

    # the form sends the URL back as shown: the real one is kept
    r = await api.patch(
        f"{URL}/{channel['id']}", json={"config": {"url": shown}}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    await _test(api, admin, channel["id"])
    assert server.requests[-1][1] == "/hook?token=s3cret-token&v=2"
    # an edited URL that still holds a mask cannot be taken
    edited = shown.replace("/hook", "/other")
    r = await api.patch(
        f"{URL}/{channel['id']}", json={"config": {"url": edited}}, headers=admin.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "config", "url"]

    row = await session.scalar(
        select(NotificationChannel).where(NotificationChannel.id == uuid.UUID(channel["id"]))
    )
    assert row is not None and row.secrets_encrypted
    for secret in ("s3cret-token", "pa55word"):
        assert secret not in str(row.config) and secret not in row.secrets_encrypted
    entries = (
        await session.scalars(select(AuditEntry).where(AuditEntry.resource_id == channel["id"]))
    ).all()
    assert len(entries) >= 3
    for entry in entries:
        assert "s3cret-token" not in str(entry.changes)
        assert "pa55word" not in str(entry.changes)


async def test_a_new_destination_host_needs_the_secrets_again(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    api = await _app(app_factory, {"allow_loopback": True})
    admin = await factory.user(Role.admin)
    hook = await _create(
        api,
        admin,
        webhook(f"{server.url}/hook", signing_secret="signing-secret-1", authorization="Bearer a"),
    )
    path = f"{URL}/{hook['id']}"
    moved = {"config": {"url": f"http://localhost:{server.port}/hook"}}
    r = await api.patch(path, json=moved, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [
        ["body", "secrets", "authorization"],
        ["body", "secrets", "signing_secret"],
    ]
    # the same host with another path keeps them
    same = {"config": {"url": f"{server.url}/other"}}
    assert (await api.patch(path, json=same, headers=admin.headers)).status_code == 200
    again = {**moved, "secrets": {"signing_secret": "signing-secret-2", "authorization": None}}
    r = await api.patch(path, json=again, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["secrets_set"] == ["signing_secret"]

    mail = await _create(api, admin, email("127.0.0.1", 2525, password="smtp-password"))
    moved_mail = {"config": {"host": "localhost"}}
    r = await api.patch(f"{URL}/{mail['id']}", json=moved_mail, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "secrets", "password"]]
