"""Drill: the PostgreSQL server restarts under a running replica (a private server, stopped
with ``pg_ctl -m fast`` as a service manager's restart does, then started again).

What a user relies on: while it is down /readyz names `database`, API calls that need it get
503 problem+json with Retry-After (never a 500, never an acknowledgement), and once it is back
the same process serves again without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.identity.roles import Role
from agentdeck.settings import DatabaseSettings
from tests.conftest import Factory, _migrate
from tests.drills.postgres import PrivatePostgres
from tests.drills.support import assert_unavailable, metric_batch, readyz_until, stored_values

pytestmark = [pytest.mark.postgresql_only, pytest.mark.timeout(240)]
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


async def test_postgresql_restart_is_503_meanwhile_and_recovers_without_restart(
    postgres: PrivatePostgres, app_factory: AppFactory
) -> None:
    await _migrate(postgres.url)
    engine = create_engine(DatabaseSettings(url=postgres.url))
    try:
        async with create_session_factory(engine)() as session:
            caller = await Factory(session).api_key(Role.developer)
    finally:
        await engine.dispose()
    client = await app_factory(database={"url": postgres.url})
    assert (await client.get("/readyz")).status_code == 200
    ok = await client.post(
        "/api/v1/metrics/batch", json=metric_batch("pg_drill", 1.0), headers=caller.headers
    )
    assert ok.status_code in (200, 202), ok.text

    await asyncio.to_thread(postgres.stop)
    down = await readyz_until(client, 503)
    assert "database" in down.json()["failed"], down.text
    listed = await client.get("/api/v1/agents", headers=caller.headers)
    assert_unavailable(listed, "database-unavailable", postgres.url.rsplit("@", 1)[-1])
    # ingest needs no database while the caller's key is in the principal cache and its agents
    # were seen lately: it goes on, into the metrics store, which is up
    ingest = await client.post(
        "/api/v1/metrics/batch", json=metric_batch("pg_drill", 2.0), headers=caller.headers
    )
    assert ingest.status_code == 200, ingest.text

    await asyncio.to_thread(postgres.start)
    await readyz_until(client, 200)
    listed = await client.get("/api/v1/agents", headers=caller.headers)
    assert listed.status_code == 200, listed.text
    again = await client.post(
        "/api/v1/metrics/batch", json=metric_batch("pg_drill", 3.0), headers=caller.headers
    )
    assert again.status_code in (200, 202), again.text
    # everything acknowledged is there: before, during and after the outage
    assert await stored_values(client, caller.headers, "pg_drill") == [1.0, 2.0, 3.0]
