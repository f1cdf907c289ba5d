"""``agentdeck``: serve, migrate, user and API key management, secret rotation, log files,
version.

Imports are lazy so ``agentdeck --help`` is quick.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from agentdeck.cli.agent import agent_app
from agentdeck.cli.backup import backup_cmd, restore_cmd
from agentdeck.cli.logs import logs_app
from agentdeck.cli.webhook import webhook_app

app = typer.Typer(
    name="agentdeck",
    help="Self-hosted operations for fleets of AI agents.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
secrets_app = typer.Typer(help="Manage what the secret key protects.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(secrets_app, name="secrets")
app.add_typer(agent_app, name="agent")
app.add_typer(logs_app, name="logs")
app.add_typer(webhook_app, name="webhook")
app.command("backup")(backup_cmd)
app.command("restore")(restore_cmd)


@app.command()
def version() -> None:
    """Print the agentdeck version."""
    from agentdeck import __version__

    typer.echo(__version__)


@app.command()
def migrate() -> None:
    """Upgrade the state database to the newest schema."""
    from rich.console import Console

    from agentdeck.cli.runtime import run_migrations
    from agentdeck.settings import Settings

    settings = Settings()
    revision = asyncio.run(run_migrations(settings))
    Console().print(f"[green]database at revision {revision}[/green]")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    demo: Annotated[bool, typer.Option(help="Start the simulated demo fleet.")] = False,
) -> None:
    """Migrate, create the first admin if needed, and serve the API and web UI."""
    from agentdeck.cli.runtime import serve as run_serve

    run_serve(host=host, port=port, reload=reload, demo=demo)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    email: Annotated[str, typer.Option(help="Email address.")],
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted when omitted).", show_default=False),
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
    role: Annotated[str, typer.Option(help="viewer, developer or admin.")] = "viewer",
    tenant: Annotated[str, typer.Option(help="Tenant slug.")] = "default",
    display_name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a user in a tenant."""
    from agentdeck.cli.runtime import create_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    create_user(
        username=username,
        email=email,
        password=password,
        role="admin" if admin else role,
        tenant=tenant,
        display_name=display_name,
    )


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    role: Annotated[str, typer.Option(help="viewer, developer or admin.")] = "developer",
    tenant: Annotated[str, typer.Option(help="Tenant slug.")] = "default",
    expires_in_days: Annotated[
        int | None, typer.Option(help="Expire after this many days.")
    ] = None,
) -> None:
    """Create an API key; the key is printed once."""
    from agentdeck.cli.runtime import create_api_key

    create_api_key(name=name, role=role, tenant=tenant, expires_in_days=expires_in_days)


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every notification channel's secrets under the current secret key.

    Run it after changing the key, with the former key in
    AGENTDECK_NOTIFY__PREVIOUS_SECRET_KEYS; afterwards the former key can be dropped.
    All channels change in one transaction, or none does.
    """
    from agentdeck.cli.runtime import rotate_secrets

    rotate_secrets()


if __name__ == "__main__":
    app()
