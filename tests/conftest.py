"""Shared fixtures: the app on a real database (SQLite or PostgreSQL), callers of each role.

Pick the database with ``--db sqlite|postgresql`` (default sqlite). PostgreSQL runs against
127.0.0.1:5432 (override with AGENTDECK_TEST_PG_URL); a scratch database is made per run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from agentdeck.app.factory import create_app
from agentdeck.app.hooks import wire_domain_hooks
from agentdeck.db.base import Base
from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.db.migrate import upgrade
from agentdeck.identity.models import ApiKey, Membership, Tenant, User
from agentdeck.identity.roles import Role
from agentdeck.identity.security import create_access_token, hash_password, new_api_key
from agentdeck.settings import DatabaseSettings, Settings

PG_ADMIN_URL = os.environ.get(
    "AGENTDECK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AGENTDECK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_PASSWORD = "correct horse battery staple"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=["sqlite", "postgresql"], default="sqlite", help="state database"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one database's behaviour are deselected (not skipped) in the other's pass:
    SQLite-only ones in the PostgreSQL pass, PostgreSQL-only ones (replicas) in the SQLite one.

    A test that does not depend on the state database (``db_kind`` is not among its fixtures,
    e.g. the stores, the miner, the decoders) behaves the same in both passes: it runs once, in
    the SQLite pass, unless it is marked ``postgresql_only``."""
    postgresql = config.getoption("--db") == "postgresql"
    other = "sqlite_only" if postgresql else "postgresql_only"

    def kept_here(item: pytest.Item) -> bool:
        if item.get_closest_marker(other) is not None:
            return False
        if postgresql and item.get_closest_marker("postgresql_only") is None:
            return "db_kind" in getattr(item, "fixturenames", ())
        return True

    kept = [item for item in items if kept_here(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _domain_hooks() -> None:
    """Wire the cross-domain listeners as every entry point does (a new tenant gets its rules)."""
    wire_domain_hooks()


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _migrate(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def _template_db(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database made once per run: a SQLite file to copy, or a PostgreSQL db."""
    if db_kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        _run(_migrate(f"sqlite+aiosqlite:///{path}"))
        yield str(path)
        return
    name = f"agentdeck_test_{uuid.uuid4().hex[:12]}"

    async def _admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    _run(_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    _run(_migrate(url))
    yield url
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(db_kind: str, _template_db: str, tmp_path: Path) -> AsyncIterator[str]:
    """A clean, migrated database for one test."""
    if db_kind == "sqlite":
        path = tmp_path / "state.db"
        shutil.copyfile(_template_db, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    engine = create_async_engine(_template_db)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    await engine.dispose()
    yield _template_db


@pytest.fixture
def settings_factory(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "secret_key": TEST_SECRET,
            "data_dir": tmp_path / "data",
            "database": {"url": database_url},
            "log_level": "WARNING",
            "log_json": True,
            # the tests' servers (receivers, scrape targets, health endpoints) are on 127.0.0.1;
            # tests of the default policy pass outbound={} (or their own)
            "outbound": {"allow_loopback": True},
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def app_factory(
    settings_factory: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]]:
    """Start an app (with lifespan) on the test database; returns a client bound to it."""
    stack: list[tuple[Any, httpx.AsyncClient]] = []

    async def start(**overrides: Any) -> httpx.AsyncClient:
        app = create_app(settings_factory(**overrides), run_migrations=False)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://testserver",
        )
        client.app = app  # type: ignore[attr-defined]
        stack.append((lifespan, client))
        return client

    yield start
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def client(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> httpx.AsyncClient:
    return await app_factory()


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test database, beside the app (to arrange data and check writes)."""
    engine = create_engine(settings.database)
    async with create_session_factory(engine)() as s:
        yield s
    await engine.dispose()


@dataclass
class Caller:
    """A user or API key in a tenant, with ready-made headers."""

    tenant_id: uuid.UUID
    role: Role
    headers: dict[str, str]
    user_id: uuid.UUID | None = None
    username: str | None = None
    api_key: str | None = None
    api_key_id: uuid.UUID | None = None


@pytest.fixture
def factory(session: AsyncSession) -> Factory:
    return Factory(session)


class Factory:
    """Arranges tenants, users and keys directly in the database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant(self, slug: str | None = None, **fields: Any) -> Tenant:
        slug = slug or f"t-{uuid.uuid4().hex[:8]}"
        tenant = Tenant(slug=slug, name=slug.title(), **fields)
        self.session.add(tenant)
        await self.session.commit()
        return tenant

    async def user(
        self,
        role: Role = Role.admin,
        tenant: Tenant | None = None,
        *,
        username: str | None = None,
        password: str = TEST_PASSWORD,
        active: bool = True,
    ) -> Caller:
        tenant = tenant or await self.tenant()
        username = username or f"u{uuid.uuid4().hex[:10]}"
        user = User(
            username=username,
            email=f"{username}@example.test",
            display_name=username.title(),
            password_hash=hash_password(password),
            is_active=active,
        )
        self.session.add(user)
        await self.session.flush()
        self.session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
        await self.session.commit()
        token, _ = create_access_token(
            user_id=user.id, tenant_id=tenant.id, role=role, secret=TEST_SECRET, ttl_seconds=900
        )
        return Caller(
            tenant_id=tenant.id,
            role=role,
            headers={"Authorization": f"Bearer {token}"},
            user_id=user.id,
            username=username,
        )

    async def api_key(self, role: Role = Role.developer, tenant: Tenant | None = None) -> Caller:
        tenant = tenant or await self.tenant()
        key = new_api_key()
        row = ApiKey(
            tenant_id=tenant.id,
            name="test key",
            prefix=key.prefix,
            key_hash=key.key_hash,
            role=role,
        )
        self.session.add(row)
        await self.session.commit()
        return Caller(
            tenant_id=tenant.id,
            role=role,
            headers={"X-API-Key": key.plaintext},
            api_key=key.plaintext,
            api_key_id=row.id,
        )


@pytest.fixture
def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
