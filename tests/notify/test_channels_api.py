"""Channels CRUD: per-kind validation, write-only encrypted secrets, audit, tenancy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.roles import Role
from agentdeck.notify.models import NotificationChannel
from tests.conftest import Caller, Factory

URL = "/api/v1/notification-channels"
HOOK = "https://hooks.slack.example/services/T000/B000/very-secret-token"


def slack(name: str = "ops-slack", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "slack", "secrets": {"webhook_url": HOOK}, **extra}


async def test_create_returns_which_secrets_are_set_never_their_values(
    api: httpx.AsyncClient, admin: Caller, session: AsyncSession
) -> None:
    r = await api.post(URL, json=slack(config={"username": "deck"}), headers=admin.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "slack"
    assert body["config"] == {"username": "deck"}
    assert body["secrets_set"] == ["webhook_url"]
    assert "very-secret-token" not in r.text
    assert r.headers["location"] == f"{URL}/{body['id']}"
    listed = await api.get(URL, headers=admin.headers)
    assert "very-secret-token" not in listed.text
    assert [c["id"] for c in listed.json()["items"]] == [body["id"]]
    # encrypted at rest: the stored column does not contain the secret
    row = await session.scalar(
        select(NotificationChannel).where(NotificationChannel.id == uuid.UUID(body["id"]))
    )
    assert row is not None and row.secrets_encrypted
    assert "very-secret-token" not in row.secrets_encrypted
    assert "webhook_url" not in row.secrets_encrypted
    # the audit entry names the secret field but not its value
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "notification_channel.create")
    )
    assert entry is not None
    assert "very-secret-token" not in str(entry.changes)
    assert entry.changes["after"]["write_only_fields_set"] == ["webhook_url"]


async def test_patch_keeps_secrets_not_sent_and_null_clears_one(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    created = await api.post(
        URL,
        json={
            "name": "hook",
            "kind": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook"},
            "secrets": {"signing_secret": "s3cret-signing-key", "authorization": "Bearer abc"},
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    r = await api.patch(
        f"{URL}/{cid}",
        json={"name": "hook-2", "config": {"url": "http://127.0.0.1:9/other"}},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "hook-2"
    assert r.json()["config"]["url"] == "http://127.0.0.1:9/other"
    assert r.json()["secrets_set"] == ["authorization", "signing_secret"]
    assert r.json()["revision"] == 2
    r = await api.patch(
        f"{URL}/{cid}", json={"secrets": {"authorization": None}}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["secrets_set"] == ["signing_secret"]


async def test_bad_settings_name_each_field(api: httpx.AsyncClient, admin: Caller) -> None:
    r = await api.post(
        URL,
        json={
            "name": "mail",
            "kind": "email",
            "config": {"host": "smtp.example.org", "port": 70000, "to": ["nobody"], "bogus": 1},
            "secrets": {},
        },
        headers=admin.headers,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert ("body", "config", "port") in locs
    assert ("body", "config", "to", 0) in locs
    assert ("body", "config", "from_address") in locs
    assert ("body", "config", "bogus") in locs
    # a missing required secret and a bad URL
    r = await api.post(URL, json={"name": "s", "kind": "slack"}, headers=admin.headers)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "secrets", "webhook_url"]]
    r = await api.post(
        URL,
        json={"name": "n", "kind": "ntfy", "config": {"topic": "a b", "server_url": "ftp://x"}},
        headers=admin.headers,
    )
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
        ("body", "config", "topic"),
        ("body", "config", "server_url"),
    }
    r = await api.post(URL, json={"name": "x", "kind": "carrier-pigeon"}, headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "kind"]


async def test_duplicate_name_conflicts_and_kinds_describe_forms(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    assert (await api.post(URL, json=slack(), headers=admin.headers)).status_code == 201
    r = await api.post(URL, json=slack(), headers=admin.headers)
    assert r.status_code == 409
    assert r.json()["errors"][0]["loc"] == ["body", "name"]
    kinds = (await api.get(f"{URL}/kinds", headers=admin.headers)).json()["items"]
    assert [k["kind"] for k in kinds] == [
        "email", "slack", "webhook", "pagerduty", "teams", "discord", "telegram", "ntfy",
    ]  # fmt: skip
    email = next(k for k in kinds if k["kind"] == "email")
    by_name = {f["name"]: f for f in email["fields"]}
    assert by_name["password"]["secret"] is True
    assert by_name["security"]["choices"] == ["starttls", "tls", "none"]
    assert by_name["host"]["required"] is True


async def test_filters_and_paging(api: httpx.AsyncClient, admin: Caller) -> None:
    for i in range(3):
        await api.post(URL, json=slack(f"slack-{i}"), headers=admin.headers)
    await api.post(
        URL,
        json={"name": "pd", "kind": "pagerduty", "secrets": {"routing_key": "R" * 32}},
        headers=admin.headers,
    )
    page = (await api.get(URL, params={"kind": "slack", "limit": 2}, headers=admin.headers)).json()
    assert [c["name"] for c in page["items"]] == ["slack-2", "slack-1"]
    rest = await api.get(
        URL, params={"kind": "slack", "limit": 2, "cursor": page["next_cursor"]},
        headers=admin.headers,
    )  # fmt: skip
    assert [c["name"] for c in rest.json()["items"]] == ["slack-0"]
    assert rest.json()["next_cursor"] is None
    found = await api.get(URL, params={"q": "pd"}, headers=admin.headers)
    assert [c["kind"] for c in found.json()["items"]] == ["pagerduty"]


async def test_tenant_cannot_see_or_change_another_tenants_channel(
    api: httpx.AsyncClient, admin: Caller, factory: Factory
) -> None:
    other = await factory.user(Role.admin)
    cid = (await api.post(URL, json=slack(), headers=admin.headers)).json()["id"]
    assert (await api.get(f"{URL}/{cid}", headers=other.headers)).status_code == 404
    r = await api.patch(f"{URL}/{cid}", json={"name": "mine"}, headers=other.headers)
    assert r.status_code == 404
    assert (await api.delete(f"{URL}/{cid}", headers=other.headers)).status_code == 404
    assert (await api.post(f"{URL}/{cid}/test", headers=other.headers)).status_code == 404
    assert (await api.get(URL, headers=other.headers)).json()["items"] == []
    assert (await api.get(f"{URL}/{cid}", headers=admin.headers)).json()["name"] == "ops-slack"
    assert (await api.delete(f"{URL}/{cid}", headers=admin.headers)).status_code == 204
    assert (await api.get(f"{URL}/{cid}", headers=admin.headers)).status_code == 404


async def test_developers_cannot_manage_channels(api: httpx.AsyncClient, factory: Factory) -> None:
    dev = await factory.user(Role.developer)
    r = await api.post(URL, json=slack(), headers=dev.headers)
    assert r.status_code == 403
