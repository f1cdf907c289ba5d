"""What the CLI commands do; kept apart so ``cli.main`` stays import-light."""

from __future__ import annotations

import asyncio
import os

from rich.console import Console
from rich.panel import Panel

from agentdeck.settings import Settings

console = Console(stderr=True)


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


async def _prepare(settings: Settings) -> None:
    """Migrate and create the first admin, printing its password once."""
    from agentdeck.db.engine import create_engine, create_session_factory
    from agentdeck.db.migrate import upgrade
    from agentdeck.identity.bootstrap import ensure_first_admin

    engine = create_engine(settings.database)
    try:
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            first = await ensure_first_admin(session)
            await session.commit()
    finally:
        await engine.dispose()
    if first is not None:
        console.print(
            Panel.fit(
                f"username: [bold]{first.username}[/bold]\npassword: [bold]{first.password}[/bold]"
                "\n\nThis password is shown once. Change it under Settings → Users.",
                title="agentdeck: first admin created",
                border_style="green",
            )
        )


def serve(*, host: str | None, port: int | None, reload: bool, demo: bool) -> None:
    import uvicorn

    if demo:
        os.environ["AGENTDECK_FEATURES__DEMO"] = "true"
    settings = Settings()
    bind_host = host or settings.server.host
    bind_port = port or settings.server.port
    asyncio.run(_prepare(settings))
    console.print(f"agentdeck is serving on [bold]http://{bind_host}:{bind_port}[/bold]")
    uvicorn.run(
        "agentdeck.server.main:app_from_env",
        factory=True,
        host=bind_host,
        port=bind_port,
        reload=reload,
        log_config=None,
        access_log=False,
        proxy_headers=bool(settings.server.trusted_proxies),
        forwarded_allow_ips=",".join(settings.server.trusted_proxies) or None,
    )


def create_user(
    *, username: str, email: str, password: str, role: str, tenant: str, display_name: str
) -> None:
    raise SystemExit("user creation is being built")


def create_api_key(*, name: str, role: str, tenant: str, expires_in_days: int | None) -> None:
    raise SystemExit("API key creation is being built")
