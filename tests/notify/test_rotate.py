"""`agentdeck secrets rotate`: after the server key changes (the former one kept in
notify.previous_secret_keys), every channel's secrets are re-encrypted under the new key, in one
transaction; afterwards they decrypt without the former key."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from agentdeck.audit.models import AuditEntry
from agentdeck.cli.main import app as cli
from agentdeck.identity.roles import Role
from agentdeck.notify.crypto import SecretBox, SecretsUnreadable
from agentdeck.notify.models import NotificationChannel
from tests.conftest import TEST_SECRET, Caller, Factory
from tests.identity.helpers import AppFactory

URL = "/api/v1/notification-channels"
HOOK = "https://hooks.slack.example/services/T000/B000/very-secret-token"
OLD = TEST_SECRET  # the key the test apps run with unless told otherwise
NEW = "the-next-secret-key-that-is-long-enough-987654321"
LOST = "a-key-nobody-kept-any-more-that-is-long-enough-000"
QUIET = {"loops": {"enabled": False}, "rate_limit": {"enabled": False}}


async def _create(api: httpx.AsyncClient, admin: Caller, name: str) -> uuid.UUID:
    body = {"name": name, "kind": "slack", "secrets": {"webhook_url": HOOK}}
    response = await api.post(URL, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _stored(session: AsyncSession, channel_id: uuid.UUID) -> str:
    await session.commit()  # a fresh read
    token = await session.scalar(
        select(NotificationChannel.secrets_encrypted).where(NotificationChannel.id == channel_id)
    )
    assert token
    return token


async def _rotate(database_url: str, tmp_path: Path, *previous: str) -> Result:
    env = {
        "AGENTDECK_ENV_FILE": str(tmp_path / "no.env"),
        "AGENTDECK_DATABASE__URL": database_url,
        "AGENTDECK_DATA_DIR": str(tmp_path / "data"),
        "AGENTDECK_ENVIRONMENT": "test",
        "AGENTDECK_SECRET_KEY": NEW,
        "AGENTDECK_NOTIFY__PREVIOUS_SECRET_KEYS": ",".join(previous),
    }
    return await asyncio.to_thread(CliRunner().invoke, cli, ["secrets", "rotate"], env=env)


async def _rotations(session: AsyncSession) -> list[str]:
    await session.commit()
    rows = await session.scalars(
        select(AuditEntry.actor_type).where(
            AuditEntry.action == "notification_channel.rotate_secrets"
        )
    )
    return list(rows)


async def test_rotate_re_encrypts_every_channel_under_the_new_key(
    app_factory: AppFactory,
    factory: Factory,
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
) -> None:
    old_app = await app_factory(**QUIET)
    tenants = [await factory.api_key(Role.admin), await factory.api_key(Role.admin)]
    ids = [await _create(old_app, admin, f"ops-{n}") for n, admin in enumerate(tenants)]
    no_secrets = {"name": "plain", "kind": "webhook", "config": {"url": "https://h.test/x"}}
    plain = await old_app.post(URL, json=no_secrets, headers=tenants[0].headers)
    assert plain.status_code == 201, plain.text  # nothing to re-encrypt: not counted

    # The key changes; the former one is still accepted, so the channels stay readable.
    switched = await app_factory(secret_key=NEW, notify={"previous_secret_keys": [OLD]}, **QUIET)
    for admin, channel_id in zip(tenants, ids, strict=True):
        shown = await switched.get(f"{URL}/{channel_id}", headers=admin.headers)
        assert shown.json()["secrets_set"] == ["webhook_url"]

    result = await _rotate(database_url, tmp_path, OLD)
    assert result.exit_code == 0, result.output
    assert (
        "re-encrypted the secrets of 2 notification channels under the current key "
        "(2 of them under a previous key)"
    ) in " ".join(result.stdout.split())
    for channel_id in ids:
        token = await _stored(session, channel_id)
        assert SecretBox(NEW).decrypt(token) == {"webhook_url": HOOK}
        assert HOOK not in token
    assert await _rotations(session) == ["system", "system"]

    # Without the former key now: still readable by the server.
    new_only = await app_factory(secret_key=NEW, **QUIET)
    for admin, channel_id in zip(tenants, ids, strict=True):
        shown = await new_only.get(f"{URL}/{channel_id}", headers=admin.headers)
        assert shown.json()["secrets_set"] == ["webhook_url"]

    # A second run finds everything under the current key already.
    again = await _rotate(database_url, tmp_path)
    assert again.exit_code == 0, again.output
    assert "(0 of them under a previous key)" in " ".join(again.stdout.split())


async def test_rotate_changes_nothing_when_a_channel_is_under_an_unknown_key(
    app_factory: AppFactory,
    factory: Factory,
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
) -> None:
    admin = await factory.api_key(Role.admin)
    readable = await _create(await app_factory(**QUIET), admin, "readable")
    lost = await _create(await app_factory(secret_key=LOST, **QUIET), admin, "lost")
    before = {cid: await _stored(session, cid) for cid in (readable, lost)}

    result = await _rotate(database_url, tmp_path, OLD)
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert f"channel 'lost' ({lost})" in said and "Nothing was changed" in said
    assert {cid: await _stored(session, cid) for cid in (readable, lost)} == before
    with pytest.raises(SecretsUnreadable):  # the readable one was not re-encrypted either
        SecretBox(NEW).decrypt(before[readable])
    assert await _rotations(session) == []
