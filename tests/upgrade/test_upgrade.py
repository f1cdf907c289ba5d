"""A state database made by the previous release migrates forward when this version starts, and
what the release stored is served: its users log in with their passwords, its API keys work (a
revoked one stays revoked), its agents, alert rules, channel (with its encrypted secret) and
silence are there, and new writes succeed.

The fixtures were made by the release itself (``scripts/make-upgrade-fixture.sh``: its own
``agentdeck migrate``, CLI and HTTP API) and dumped as SQL; docs/operations.md says which commit
is the release and how to remake them at the next one.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from agentdeck.app.factory import create_app
from agentdeck.db.engine import create_engine
from agentdeck.db.migrate import current_revision
from agentdeck.notify.crypto import SecretBox
from agentdeck.notify.models import NotificationChannel
from agentdeck.settings import DatabaseSettings, Settings
from tests.conftest import PG_ADMIN_URL
from tests.upgrade import populate

FIXTURES = Path(__file__).parent / "fixtures"
RELEASE = "v0.1.0"
SECRET = "upgrade-fixture-secret-key-0123456789abcdef"  # as scripts/make-upgrade-fixture.sh
VERSIONS = Path(__file__).resolve().parents[2] / "src/agentdeck/db/migrations/versions"


def _facts(kind: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{RELEASE}.{kind}.json").read_text()))


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((FIXTURES / f"{RELEASE}.sqlite.sql").read_text())
    yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def postgresql_url() -> AsyncIterator[str]:
    name = f"agentdeck_upgrade_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    loader = await asyncpg.connect(_pg_dsn(url))
    try:
        await loader.execute((FIXTURES / f"{RELEASE}.postgresql.sql").read_text())
    finally:
        await loader.close()
    yield url
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
def old_database(db_kind: str, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """(URL, facts) of a database as the previous release left it."""
    url = request.getfixturevalue(f"{db_kind}_url")
    return str(url), _facts(db_kind)


@pytest.fixture
async def upgraded(
    old_database: tuple[str, dict[str, Any]], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """This version's app started on the old database, migrating it as `agentdeck serve` does."""
    url, facts = old_database
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        database={"url": url},
        log_level="WARNING",
        log_json=True,
    )
    app = create_app(settings, run_migrations=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, facts


def test_the_fixtures_are_of_the_release_and_a_schema_this_version_knows() -> None:
    """Each fixture names its release, and its revision is one of this version's migrations
    (at v0.1.0, 0013: the test then applies 0014 and later)."""
    known = {p.name[:4] for p in VERSIONS.glob("0*.py")}
    for kind in ("sqlite", "postgresql"):
        dump = (FIXTURES / f"{RELEASE}.{kind}.sql").read_text()
        (line,) = (
            x
            for x in dump.splitlines()
            if x.startswith(("INSERT INTO alembic_version", "INSERT INTO public.alembic_version"))
        )
        assert line.split("'")[1] in known
        assert _facts(kind)["release"] == RELEASE


async def test_the_schema_is_migrated_to_the_newest_revision(
    upgraded: tuple[httpx.AsyncClient, dict[str, Any]], old_database: tuple[str, Any]
) -> None:
    engine = create_engine(DatabaseSettings(url=old_database[0]))
    try:
        async with engine.connect() as connection:
            revision = await current_revision(connection)
    finally:
        await engine.dispose()
    assert revision == max(p.name[:4] for p in VERSIONS.glob("0*.py"))


async def _login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_users_log_in_with_their_passwords_and_keep_their_roles(
    upgraded: tuple[httpx.AsyncClient, dict[str, Any]],
) -> None:
    client, facts = upgraded
    admin = await _login(client, "admin", facts["admin_password"])
    users = await client.get("/api/v1/users", headers=admin)
    assert users.status_code == 200, users.text
    roles = {u["username"]: u["role"] for u in _items(users.json())}
    assert roles == {"admin": "admin", "vera": "viewer", "devon": "developer"}

    viewer = await _login(client, "vera", populate.VIEWER_PASSWORD)
    assert (await client.get("/api/v1/agents", headers=viewer)).status_code == 200
    refused = await client.post(
        "/api/v1/agents", json={"name": "nope", "type": "custom"}, headers=viewer
    )
    assert refused.status_code == 403
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": "devon", "password": "not the password"}
    )
    assert wrong.status_code == 401


async def test_api_keys_work_and_a_revoked_key_stays_revoked(
    upgraded: tuple[httpx.AsyncClient, dict[str, Any]],
) -> None:
    client, facts = upgraded
    keys = facts["keys"]
    developer = {"X-API-Key": keys["ci-developer"]["key"]}
    viewer = {"X-API-Key": keys["dash-viewer"]["key"]}
    assert (await client.get("/api/v1/agents", headers=viewer)).status_code == 200
    assert (
        await client.get("/api/v1/agents", headers={"X-API-Key": keys["old"]["key"]})
    ).status_code == 401
    made = await client.post(
        "/api/v1/agents",
        json={"name": "after-upgrade", "type": "llm", "labels": {"team": "core"}},
        headers=developer,
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "after-upgrade"


async def test_agents_rules_channel_and_silence_are_served(
    upgraded: tuple[httpx.AsyncClient, dict[str, Any]],
) -> None:
    client, facts = upgraded
    admin = await _login(client, "admin", facts["admin_password"])

    agents = {
        a["name"]: a for a in _items((await client.get("/api/v1/agents", headers=admin)).json())
    }
    assert set(agents) == {a["name"] for a in populate.AGENTS}
    for expected in populate.AGENTS:
        served = agents[expected["name"]]
        assert served["type"] == expected["type"]
        assert served["labels"] == expected["labels"]
    assert agents["intent-router"]["dependencies"] == ["retriever", "openai-api"]
    assert agents["intent-router"]["replica_count"] == 2

    rules_answer = await client.get("/api/v1/alert-rules", params={"limit": 200}, headers=admin)
    assert rules_answer.status_code == 200, rules_answer.text
    rules = {r["name"]: r for r in _items(rules_answer.json())}
    for expected in populate.RULES:
        served = rules[expected["name"]]
        assert served["expr"] == expected["expr"]
        assert served["severity"] == expected["severity"]
        assert served["channel_ids"] == [facts["channel_id"]]
    assert rules["HighErrorRate"]["for_seconds"] == 120
    assert rules["HighErrorRate"]["labels"] == {"page": "yes"}

    channel = await client.get(
        f"/api/v1/notification-channels/{facts['channel_id']}", headers=admin
    )
    assert channel.status_code == 200, channel.text
    assert channel.json()["name"] == populate.CHANNEL["name"]
    assert channel.json()["config"]["url"] == populate.CHANNEL["config"]["url"]

    assert channel.json()["secrets_set"] == ["signing_secret"]

    silence = await client.get(f"/api/v1/silences/{facts['silence_id']}", headers=admin)
    assert silence.status_code == 200, silence.text
    assert silence.json()["comment"] == populate.SILENCE["comment"]
    assert silence.json()["matchers"] == populate.SILENCE["matchers"]


async def test_the_channel_secret_encrypted_by_the_release_still_decrypts(
    upgraded: tuple[httpx.AsyncClient, dict[str, Any]], old_database: tuple[str, Any]
) -> None:
    """The sender decrypts the stored secret with the server's key (the API never shows it)."""
    _, facts = upgraded
    engine = create_engine(DatabaseSettings(url=old_database[0]))
    try:
        async with engine.connect() as connection:
            stored = await connection.scalar(
                select(NotificationChannel.secrets_encrypted).where(
                    NotificationChannel.id == uuid.UUID(facts["channel_id"])
                )
            )
    finally:
        await engine.dispose()
    assert SecretBox(SECRET).decrypt(stored) == populate.CHANNEL["secrets"]


def _items(body: Any) -> list[dict[str, Any]]:
    return list(body["items"] if isinstance(body, dict) else body)
