"""The secret key: none in the source. Without a configured key, the first start on SQLite
generates one into the data directory (0600), and every later start and the `agentdeck`
commands use it; with PostgreSQL (replicas) a configured key is required."""

from __future__ import annotations

import asyncio
import stat
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agentdeck.app.factory import create_app
from agentdeck.cli.main import app as cli
from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.identity.roles import Role
from agentdeck.identity.security import create_access_token
from agentdeck.secret_key import SecretKeyError, secret_key
from agentdeck.settings import Settings
from tests.conftest import PG_ADMIN_URL, Factory
from tests.identity.helpers import ME, login

# What development signed tokens and encrypted channel secrets with before: public, in the
# source of every release until the fix.
OLD_CONSTANT = "change-me-agentdeck-development-secret-key"
CHANNELS = "/api/v1/notification-channels"


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app (migrating its database, lifespan included) and a client on it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def keyless(settings_factory: Callable[..., Settings], tmp_path: Path) -> Callable[[], Settings]:
    """A fresh settings object each call: no configured key, SQLite, one data directory."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'keyless' / 'state.db'}"

    def make() -> Settings:
        return settings_factory(
            secret_key=None,
            data_dir=tmp_path / "keyless",
            database={"url": url},
            loops={"enabled": False},
        )

    return make


def _cli_env(settings: Settings, tmp_path: Path) -> dict[str, str | None]:
    return {
        "AGENTDECK_ENV_FILE": str(tmp_path / "no.env"),
        "AGENTDECK_SECRET_KEY": None,
        "AGENTDECK_DATABASE__URL": settings.database.url,
        "AGENTDECK_DATA_DIR": str(settings.data_dir),
        "AGENTDECK_ENVIRONMENT": "test",
    }


async def test_first_start_keeps_a_private_key_that_later_starts_and_the_cli_use(
    keyless: Callable[[], Settings], tmp_path: Path
) -> None:
    first_settings = keyless()
    key_path = first_settings.data_dir / "secret.key"
    assert not key_path.exists()
    async with served(first_settings) as first:
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        engine = create_engine(first_settings.database)
        try:
            async with create_session_factory(engine)() as session:
                admin = await Factory(session).user(Role.admin)
        finally:
            await engine.dispose()
        assert admin.username is not None and admin.user_id is not None
        answer = await login(first, admin.username)
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        created = await first.post(
            CHANNELS,
            json={"name": "ops", "kind": "slack", "secrets": {"webhook_url": "https://h.test/x"}},
            headers=headers,
        )
        assert created.status_code == 201, created.text
    key = key_path.read_text()

    # A second start, with settings built anew: the same key, so the token still works and
    # the channel's secrets still decrypt.
    async with served(keyless()) as second:
        assert (await second.get(ME, headers=headers)).status_code == 200
        channel = await second.get(f"{CHANNELS}/{created.json()['id']}", headers=headers)
        assert channel.json()["secrets_set"] == ["webhook_url"]
        # A token signed with the former public constant is refused.
        forged, _ = create_access_token(
            user_id=admin.user_id,
            tenant_id=admin.tenant_id,
            role=Role.admin,
            secret=OLD_CONSTANT,
            ttl_seconds=900,
        )
        refused = await second.get(ME, headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
    assert key_path.read_text() == key

    # The command line reads the same key: it can decrypt what the server encrypted.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["secrets", "rotate"], env=_cli_env(first_settings, tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "re-encrypted the secrets of 1 notification channel " in result.stdout
    assert key_path.read_text() == key


async def test_postgresql_without_a_configured_key_refuses_to_start(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory(
        secret_key=None, data_dir=tmp_path / "pg", database={"url": PG_ADMIN_URL}
    )
    app = create_app(settings, run_migrations=False)
    with pytest.raises(SecretKeyError, match="AGENTDECK_SECRET_KEY must be set"):
        async with app.router.lifespan_context(app):
            pass
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["serve", "--port", "9"], env=_cli_env(settings, tmp_path)
    )
    assert result.exit_code == 1
    assert "AGENTDECK_SECRET_KEY must be set when the state database is not SQLite" in " ".join(
        result.stderr.split()
    )
    assert not (tmp_path / "pg" / "secret.key").exists()


def test_processes_starting_together_agree_on_one_key(
    keyless: Callable[[], Settings],
) -> None:
    settings = keyless()
    start = threading.Barrier(8)
    keys: list[str] = []

    def resolve() -> None:
        start.wait(timeout=10)
        keys.append(secret_key(settings))

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == 8 and len(set(keys)) == 1
    assert (settings.data_dir / "secret.key").read_text().strip() == keys[0]
    assert [p.name for p in settings.data_dir.iterdir()] == ["secret.key"]  # no drafts left


@pytest.mark.parametrize("content", ["", "short\n"])
def test_a_damaged_key_file_stops_the_start(keyless: Callable[[], Settings], content: str) -> None:
    settings = keyless()
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "secret.key").write_text(content)
    with pytest.raises(SecretKeyError, match="restore it from a backup"):
        secret_key(settings)
    assert (settings.data_dir / "secret.key").read_text() == content  # never overwritten
