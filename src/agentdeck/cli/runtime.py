"""What the CLI commands do; kept apart so ``cli.main`` stays import-light."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from rich.console import Console
from rich.panel import Panel
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.app.hooks import wire_domain_hooks
from agentdeck.settings import Settings

if TYPE_CHECKING:
    from agentdeck.identity.models import Tenant

console = Console(stderr=True)

_T = TypeVar("_T")


async def run_migrations(settings: Settings) -> str | None:
    from agentdeck.db.engine import create_engine
    from agentdeck.db.migrate import current_revision, upgrade

    engine = create_engine(settings.database)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            return await current_revision(connection)
    finally:
        await engine.dispose()


@asynccontextmanager
async def _session(settings: Settings, *, migrate: bool = True) -> AsyncIterator[AsyncSession]:
    """A session on the configured database (migrated first unless told not to); the engine
    is disposed of afterwards."""
    from agentdeck.db.engine import create_engine, create_session_factory
    from agentdeck.db.migrate import upgrade

    engine = create_engine(settings.database)
    try:
        if migrate:
            await upgrade(engine)
        async with create_session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@asynccontextmanager
async def _tenant_session(
    settings: Settings, tenant: str
) -> AsyncIterator[tuple[AsyncSession, Tenant, bool]]:
    """A session on the migrated database, the tenant of slug ``tenant`` (created when
    missing) and whether it was created."""
    from agentdeck.identity import service

    service.check_tenant_slug(tenant)
    async with _session(settings) as session:
        row, created = await service.ensure_tenant(session, slug=tenant)
        yield session, row, created


def _run_as(role: str, work: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """``work()`` run to its end for a known ``role``; bad input ends the command with its
    problems."""
    from pydantic import ValidationError

    from agentdeck.errors import DomainError
    from agentdeck.identity.roles import Role

    if role not in Role.__members__:
        _fail(f"unknown role {role!r}; use viewer, developer or admin")
    try:
        return asyncio.run(work())
    except (ValidationError, DomainError) as exc:
        _fail(_problem_message(exc))


async def _prepare(settings: Settings) -> None:
    """Migrate and create the first admin, printing its password once."""
    wire_domain_hooks()
    from agentdeck.identity.bootstrap import ensure_first_admin

    seeded = 0
    async with _session(settings) as session:
        first = await ensure_first_admin(session)
        if settings.features.demo:
            seeded = await _seed_demo(session)
        await session.commit()
    if seeded:
        console.print(f"demo: registered {seeded} agents in the default tenant")
    if first is not None:
        console.print(
            Panel.fit(
                f"username: [bold]{first.username}[/bold]\npassword: [bold]{first.password}[/bold]"
                "\n\nThis password is shown once. Change it under Settings → Account.",
                title="agentdeck: first admin created",
                border_style="green",
            )
        )


async def _seed_demo(session: AsyncSession) -> int:
    from agentdeck.agents.demo import seed_demo_agents
    from agentdeck.identity.bootstrap import default_tenant, first_admin_id

    tenant = await default_tenant(session)
    owner = await first_admin_id(session, tenant.id)
    return await seed_demo_agents(session, tenant.id, owner)


def _keyed(settings: Settings) -> Settings:
    """``settings`` with the secret key in effect, the server's (see ``agentdeck.secret_key``)."""
    from agentdeck.secret_key import SecretKeyError, with_secret_key

    try:
        return with_secret_key(settings)
    except SecretKeyError as exc:
        _fail(str(exc))


def serve(*, host: str | None, port: int | None, reload: bool, demo: bool) -> None:
    import uvicorn

    if demo:
        os.environ["AGENTDECK_FEATURES__DEMO"] = "true"
        # a demo on one machine scrapes and notifies local endpoints (unless told otherwise)
        os.environ.setdefault("AGENTDECK_OUTBOUND__ALLOW_LOOPBACK", "true")
    # The app reads its own address from settings (the demo fleet posts to it).
    if host:
        os.environ["AGENTDECK_SERVER__HOST"] = host
    if port:
        os.environ["AGENTDECK_SERVER__PORT"] = str(port)
    settings = _keyed(Settings())  # refuses to start without a usable key; makes one if due
    bind_host = host or settings.server.host
    bind_port = port or settings.server.port
    asyncio.run(_prepare(settings))
    console.print(f"agentdeck is serving on [bold]http://{bind_host}:{bind_port}[/bold]")
    uvicorn.run(
        "agentdeck.app.main:app_from_env",
        factory=True,
        host=bind_host,
        port=bind_port,
        reload=reload,
        log_config=None,
        access_log=False,
        proxy_headers=bool(settings.server.trusted_proxies),
        forwarded_allow_ips=",".join(settings.server.trusted_proxies) or None,
    )


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise SystemExit(1)


def _problem_message(exc: Exception) -> str:
    """One line per problem: the detail and each field error."""
    from pydantic import ValidationError

    from agentdeck.errors import DomainError

    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
            for err in exc.errors()
        )
    if isinstance(exc, DomainError):
        return exc.detail or exc.kind
    return str(exc)


async def _create_user(
    settings: Settings,
    *,
    username: str,
    email: str,
    password: str,
    role: str,
    tenant: str,
    display_name: str,
) -> tuple[str, str, bool, bool]:
    """Returns (user id, tenant slug, tenant created, user existed and was added)."""
    wire_domain_hooks()
    from agentdeck.errors import conflict
    from agentdeck.identity import service, users_service
    from agentdeck.identity.roles import Role
    from agentdeck.identity.schemas import UserCreate

    data = UserCreate(
        username=username,
        email=email,
        password=password,
        role=Role(role),
        display_name=display_name,
    )
    async with _tenant_session(settings, tenant) as (session, row, tenant_created):
        actor = service.system_principal(row.id)
        existing = await users_service.user_by_username(session, username=data.username)
        if existing is not None:
            # The same person joining one more tenant: same username and email.
            if existing.email != data.email:
                raise conflict(
                    f"the username {data.username!r} is taken by a user with another email",
                    field="username",
                )
            member = await users_service.add_member(
                session, actor=actor, tenant_id=row.id, user=existing, role=data.role
            )
        else:
            member = await users_service.create_user(
                session, actor=actor, tenant_id=row.id, data=data
            )
        await session.commit()
        return str(member.id), row.slug, tenant_created, existing is not None


def create_user(
    *, username: str, email: str, password: str, role: str, tenant: str, display_name: str
) -> None:
    """Create a user with a role in a tenant (created when missing); migrates first.

    An existing user with the same email is added to the tenant instead (their password stays).
    """
    user_id, slug, tenant_created, added = _run_as(
        role,
        lambda: _create_user(
            Settings(),
            username=username,
            email=email,
            password=password,
            role=role,
            tenant=tenant,
            display_name=display_name,
        ),
    )
    if tenant_created:
        console.print(f"created tenant [bold]{slug}[/bold]")
    verb = "added existing user" if added else "created user"
    note = "\n(their password is unchanged)" if added else ""
    console.print(
        Panel.fit(
            f"username: [bold]{username}[/bold]\nrole: {role}\ntenant: {slug}\nid: {user_id}{note}",
            title=f"agentdeck: {verb}",
            border_style="green",
        )
    )


async def _create_api_key(
    settings: Settings, *, name: str, role: str, tenant: str, expires_in_days: int | None
) -> tuple[str, str, str, str | None, bool]:
    """Returns (key id, plaintext, tenant slug, expiry, tenant created)."""
    wire_domain_hooks()
    from agentdeck.identity import keys_service, service
    from agentdeck.identity.roles import Role
    from agentdeck.identity.schemas import ApiKeyCreate

    data = ApiKeyCreate(name=name, role=Role(role), expires_in_days=expires_in_days)
    async with _tenant_session(settings, tenant) as (session, row, tenant_created):
        key, plaintext = await keys_service.create_key(
            session, actor=service.system_principal(row.id), tenant_id=row.id, data=data
        )
        await session.commit()
        expires = key.expires_at.isoformat() if key.expires_at else None
        return str(key.id), plaintext, row.slug, expires, tenant_created


def create_api_key(*, name: str, role: str, tenant: str, expires_in_days: int | None) -> None:
    """Create an API key in a tenant (created when missing); the key goes to stdout once."""
    key_id, plaintext, slug, expires, tenant_created = _run_as(
        role,
        lambda: _create_api_key(
            Settings(), name=name, role=role, tenant=tenant, expires_in_days=expires_in_days
        ),
    )
    if tenant_created:
        console.print(f"created tenant [bold]{slug}[/bold]")
    console.print(
        Panel.fit(
            f"name: [bold]{name}[/bold]\nrole: {role}\ntenant: {slug}\nid: {key_id}\n"
            f"expires: {expires or 'never'}\n\n"
            "The key is printed below, once. Store it now; it cannot be shown again.",
            title="agentdeck: API key created",
            border_style="green",
        )
    )
    Console(soft_wrap=True, highlight=False).print(plaintext, markup=False)


async def _rotate_secrets(settings: Settings) -> tuple[int, int]:
    """(channels re-encrypted, of those under a previous key), committed in one transaction."""
    from agentdeck.notify.crypto import SecretBox
    from agentdeck.notify.service import rotate_secrets as rotate

    async with _session(settings, migrate=False) as session:
        done = await rotate(session, box=SecretBox.from_settings(settings))
        await session.commit()
        return done.channels, done.from_previous


def rotate_secrets() -> None:
    """Re-encrypt the stored channel secrets under the current key; prints how many."""
    from agentdeck.notify.crypto import SecretsUnreadable

    settings = _keyed(Settings())
    try:
        channels, from_previous = asyncio.run(_rotate_secrets(settings))
    except SecretsUnreadable as exc:
        _fail(
            f"{exc}. Nothing was changed. Add the key they were encrypted with to "
            "AGENTDECK_NOTIFY__PREVIOUS_SECRET_KEYS, or enter that channel's secrets again."
        )
    Console(highlight=False).print(
        f"re-encrypted the secrets of {channels} notification channel"
        f"{'' if channels == 1 else 's'} under the current key "
        f"({from_previous} of them under a previous key)"
    )
