"""``agentdeck user create`` and ``agentdeck apikey create`` against a real database: migrate,
create the tenant when missing, print with rich (the key once, on stdout), refuse bad input."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from agentdeck.audit.models import AuditEntry
from agentdeck.cli.main import app
from agentdeck.identity.models import ApiKey, Membership, Tenant, User
from agentdeck.identity.roles import Role
from tests.conftest import TEST_SECRET
from tests.identity.helpers import counts, login

PASSWORD = "cli chosen password"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "AGENTDECK_DATABASE__URL": database_url,
        "AGENTDECK_SECRET_KEY": TEST_SECRET,
        "AGENTDECK_DATA_DIR": str(tmp_path / "data"),
        "AGENTDECK_ENVIRONMENT": "test",
    }


async def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    """Invoke the CLI in a worker thread (it runs its own event loop)."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin, env=env)


async def test_user_create_admin_in_a_new_tenant_can_log_in(
    cli_env: dict[str, str], client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = await run(
        cli_env,
        "user", "create", "root.ops", "--email", "Root@Ops.Example",
        "--password", PASSWORD, "--admin", "--tenant", "ops-team", "--display-name", "Root",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created tenant ops-team" in result.stderr
    assert "created user" in result.stderr and "root.ops" in result.stderr
    assert PASSWORD not in result.output

    await session.commit()
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == "ops-team"))
    user = await session.scalar(select(User).where(User.username == "root.ops"))
    assert tenant is not None and user is not None
    assert user.email == "root@ops.example" and user.display_name == "Root"
    membership = await session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None
    assert (membership.tenant_id, membership.role) == (tenant.id, Role.admin)
    actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))
    # A new tenant also gets the default alert rule pack, its inhibition rule (critical
    # mutes its own warning) and the default routing tree, each audited.
    assert [a for a in actions if not a.startswith("alert_rule.")] == [
        "tenant.create",
        "inhibition_rule.create",
        "notification_policy.update",
        "user.create",
    ]
    types = set(await session.scalars(select(AuditEntry.actor_type)))
    assert types == {"system"}

    response = await login(client, "root.ops", PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["tenant"]["slug"] == "ops-team"
    assert response.json()["role"] == "admin"


async def test_user_create_prompts_for_the_password_and_defaults_to_viewer(
    cli_env: dict[str, str], client: httpx.AsyncClient
) -> None:
    result = await run(
        cli_env, "user", "create", "quiet", "--email", "quiet@example.test",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    response = await login(client, "quiet", PASSWORD)
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert response.json()["tenant"]["slug"] == "default"


async def test_existing_user_joins_another_tenant(
    cli_env: dict[str, str], client: httpx.AsyncClient, session: AsyncSession
) -> None:
    base = ["user", "create", "multi", "--email", "multi@example.test", "--password", PASSWORD]
    assert (await run(cli_env, *base, "--tenant", "one")).exit_code == 0
    second = await run(
        cli_env, *base[:-1], "another password!", "--tenant", "two", "--role", "developer"
    )
    assert second.exit_code == 0, second.output
    assert "added existing user" in second.stderr

    # the password is unchanged; the second tenant is reachable by slug
    response = await login(client, "multi", PASSWORD, tenant="two")
    assert response.status_code == 200
    assert response.json()["role"] == "developer"
    assert (await login(client, "multi", PASSWORD)).json()["tenant"]["slug"] == "one"

    before = await counts(session)
    again = await run(cli_env, *base, "--tenant", "two")
    assert again.exit_code == 1 and "already a member" in again.stderr
    await session.commit()
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "Not_A_Label"], "DNS label"),
        (["--tenant", "-dash"], "DNS label"),
        (["--role", "owner"], "unknown role"),
        (["--password", "short"], "password"),
        (["--email", "not-an-email"], "email"),
    ],
)
async def test_user_create_bad_input_exits_1_and_writes_nothing(
    cli_env: dict[str, str], session: AsyncSession, args: list[str], message: str
) -> None:
    before = await counts(session)
    base = ["--email", "x@example.test", "--password", PASSWORD]
    result = await run(cli_env, "user", "create", "somebody", *base, *args)  # last one wins
    assert result.exit_code == 1, result.output
    assert "error" in result.stderr and message in result.stderr
    assert await counts(session) == before


async def test_user_create_refuses_a_taken_username_with_another_email(
    cli_env: dict[str, str], session: AsyncSession
) -> None:
    args = ["user", "create", "taken", "--password", PASSWORD]
    assert (await run(cli_env, *args, "--email", "taken@example.test")).exit_code == 0
    before = await counts(session)
    result = await run(cli_env, *args, "--email", "impostor@example.test", "--tenant", "else")
    assert result.exit_code == 1 and "taken" in result.stderr
    assert await counts(session) == before


async def test_apikey_create_prints_the_key_once_and_it_works(
    cli_env: dict[str, str], client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = await run(
        cli_env, "apikey", "create", "ci runner", "--role", "viewer", "--tenant", "builds",
        "--expires-in-days", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("adk_") and "\n" not in key
    assert key not in result.stderr
    assert "shown" in result.stderr or "cannot be shown again" in result.stderr

    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["kind"] == "api_key" and me.json()["role"] == "viewer"
    assert me.json()["tenant"]["slug"] == "builds"

    await session.commit()
    row = await session.scalar(select(ApiKey).where(ApiKey.name == "ci runner"))
    assert row is not None and row.created_by is None and row.expires_at is not None
    assert key not in row.key_hash


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "root"], "unknown role"),
        (["--tenant", "UPPER"], "DNS label"),
        (["--expires-in-days", "0"], "expires_in_days"),
    ],
)
async def test_apikey_create_bad_input_exits_1_and_writes_nothing(
    cli_env: dict[str, str], session: AsyncSession, args: list[str], message: str
) -> None:
    before = await counts(session)
    result = await run(cli_env, "apikey", "create", "bad", *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and result.stdout == ""
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert await counts(session) == before


async def test_the_installed_command_migrates_a_fresh_database(tmp_path: Path) -> None:
    """A subprocess on a database file that does not exist yet: migrate, tenant, user, key."""
    env = {
        **os.environ,
        "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'state.db'}",
        "AGENTDECK_SECRET_KEY": TEST_SECRET,
        "AGENTDECK_ENVIRONMENT": "test",
    }

    async def agentdeck(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentdeck.cli.main", *args,
            env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await agentdeck(
        "user", "create", "first", "--email", "first@example.test", "--password", PASSWORD,
        "--admin",
    )  # fmt: skip
    assert code == 0, err
    assert "created tenant default" in err
    code, out, err = await agentdeck("apikey", "create", "deploy")
    assert code == 0, err
    assert out.strip().startswith("adk_")
    assert (tmp_path / "fresh" / "state.db").is_file()
