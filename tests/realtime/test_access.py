"""A WebSocket lives no longer than its credential: revoking the API key, deactivating the
user, removing them from the tenant, a role that no longer reads a subscribed channel and the
token's expiry each close it with 4401, on the replica that holds it and on every other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentdeck.identity.models import Membership
from agentdeck.identity.principal import principal_key
from agentdeck.identity.roles import Role
from agentdeck.identity.security import create_access_token
from agentdeck.realtime import protocol
from agentdeck.server.state import AppState
from tests.conftest import REDIS_URL, TEST_SECRET, Caller, Factory
from tests.realtime.conftest import (
    LiveServer,
    Start,
    authed,
    recv,
    recv_type,
    send,
    subscribe,
    token_of,
)

ACCESS_ENDED = 4401
CLOSE_DEADLINE = 2.0  # the close must come within this (the bus answers in milliseconds)


async def closed_with(ws: ClientConnection, deadline: float = CLOSE_DEADLINE) -> tuple[int, str]:
    """The close code and reason the server sent, waited for up to ``deadline`` seconds."""

    async def until_closed() -> tuple[int, str]:
        with pytest.raises(ConnectionClosed) as raised:
            while True:
                await ws.recv()
        rcvd = raised.value.rcvd
        assert rcvd is not None, "closed without a close frame"
        return rcvd.code, rcvd.reason

    return await asyncio.wait_for(until_closed(), deadline)


async def assert_ended(server: LiveServer, ws: ClientConnection, token: str) -> None:
    """Nothing more can be subscribed: not on the closed socket, not on a new one."""
    with pytest.raises(ConnectionClosed):
        await send(ws, {"type": "subscribe", "channel": "fleet"})
        await recv(ws)
    async with connect(server.ws_url) as again:
        await send(again, {"type": "auth", "token": token})
        with pytest.raises(ConnectionClosed) as raised:
            await recv(again)
    assert raised.value.rcvd is not None and raised.value.rcvd.code == 4001


async def still_open(ws: ClientConnection) -> None:
    await send(ws, {"type": "ping", "id": "alive"})
    assert await recv_type(ws, "pong") == {"type": "pong", "id": "alive"}


@pytest.fixture
async def api(live_server: Start) -> AsyncIterator[tuple[LiveServer, httpx.AsyncClient]]:
    server = await live_server()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as c:
        yield server, c


async def test_revoking_an_api_key_closes_its_sockets_4401(
    api: tuple[LiveServer, httpx.AsyncClient], factory: Factory
) -> None:
    server, client = api
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    key = await factory.api_key(Role.viewer, tenant)
    other = await factory.api_key(Role.viewer, tenant)
    async with (
        authed(server, token_of(key)) as ws,
        authed(server, token_of(key)) as ws_two,
        authed(server, token_of(other)) as ws_other,
    ):
        await subscribe(ws, "alerts")
        response = await client.delete(f"/api/v1/api-keys/{key.api_key_id}", headers=admin.headers)
        assert response.status_code == 204, response.text
        for socket in (ws, ws_two):
            code, reason = await closed_with(socket)
            assert code == ACCESS_ENDED
            assert "revoked" in reason
        await assert_ended(server, ws, token_of(key))
        await still_open(ws_other)  # another key of the tenant keeps its socket
        await subscribe(ws_other, "fleet")


async def test_deactivating_a_user_closes_their_sockets_4401(
    api: tuple[LiveServer, httpx.AsyncClient], factory: Factory
) -> None:
    server, client = api
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    user = await factory.user(Role.viewer, tenant)
    async with authed(server, token_of(user)) as ws, authed(server, token_of(admin)) as ws_admin:
        await subscribe(ws, "alerts")
        response = await client.patch(
            f"/api/v1/users/{user.user_id}", json={"is_active": False}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        code, reason = await closed_with(ws)
        assert code == ACCESS_ENDED
        assert "deactivated" in reason
        await assert_ended(server, ws, token_of(user))
        await still_open(ws_admin)


async def test_a_user_removed_from_the_tenant_is_closed_4401(
    live_server: Start, factory: Factory, session: AsyncSession
) -> None:
    server = await live_server()
    home, guest = await factory.tenant(), await factory.tenant()
    user = await factory.user(Role.viewer, home)
    session.add(Membership(tenant_id=guest.id, user_id=user.user_id, role=Role.viewer))
    await session.commit()
    as_guest, _ = create_access_token(
        user_id=user.user_id,  # type: ignore[arg-type]
        tenant_id=guest.id,
        role=Role.viewer,
        secret=TEST_SECRET,
        ttl_seconds=900,
    )
    async with authed(server, token_of(user)) as ws_home, authed(server, as_guest) as ws_guest:
        await subscribe(ws_guest, "alerts")
        # the membership goes, and the change is announced as every change of access is
        await session.execute(
            delete(Membership).where(
                Membership.user_id == user.user_id, Membership.tenant_id == guest.id
            )
        )
        await session.commit()
        state: AppState = server.app.state.deck
        await state.invalidations.announce(principal_key("user", user.user_id))
        code, reason = await closed_with(ws_guest)
        assert code == ACCESS_ENDED
        assert "no longer a member" in reason
        await assert_ended(server, ws_guest, as_guest)
        await still_open(ws_home)  # still a member of their own tenant
        await subscribe(ws_home, "alerts")


async def test_a_role_that_no_longer_reads_a_subscribed_channel_closes_4401(
    api: tuple[LiveServer, httpx.AsyncClient], factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # today every channel is open to viewers; a channel that needs more is what this guards
    monkeypatch.setitem(protocol.CHANNEL_ROLES, "deployments", Role.developer)
    server, client = api
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    user = await factory.user(Role.developer, tenant)
    path = f"/api/v1/users/{user.user_id}"
    async with (
        authed(server, token_of(user)) as ws_alerts,
        authed(server, token_of(user)) as ws_deploys,
    ):
        await subscribe(ws_alerts, "alerts")
        await subscribe(ws_deploys, "deployments")
        response = await client.patch(path, json={"role": "viewer"}, headers=admin.headers)
        assert response.status_code == 200, response.text
        code, reason = await closed_with(ws_deploys)
        assert code == ACCESS_ENDED
        assert "deployments" in reason
        # the socket whose channels the viewer still reads stays, with the viewer's rights
        await still_open(ws_alerts)
        await send(ws_alerts, {"type": "subscribe", "channel": "deployments"})
        frame = await recv_type(ws_alerts, "snapshot", "error")
        assert (frame["type"], frame["code"]) == ("error", "forbidden")


async def test_a_socket_is_closed_4401_when_its_access_token_expires(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    user = await factory.user(Role.viewer)
    token, _ = create_access_token(
        user_id=user.user_id,  # type: ignore[arg-type]
        tenant_id=user.tenant_id,
        role=Role.viewer,
        secret=TEST_SECRET,
        ttl_seconds=2,  # "exp" is in whole seconds: 1–2 s from now
    )
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    async with authed(server, token) as ws:
        await subscribe(ws, "alerts")  # works while the token is good
        code, reason = await closed_with(ws, deadline=2 + CLOSE_DEADLINE)
        assert time.time() >= exp - 0.1  # not before the token's expiry
        assert code == ACCESS_ENDED
        assert "expired" in reason
        await assert_ended(server, ws, token)


async def test_revoking_a_key_on_one_replica_closes_its_socket_on_another(
    live_server: Start, factory: Factory, tmp_path: Path
) -> None:
    one, two = [
        await live_server(redis_url=REDIS_URL, data_dir=tmp_path / name) for name in ("a", "b")
    ]
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    key: Caller = await factory.api_key(Role.viewer, tenant)
    user = await factory.user(Role.viewer, tenant)
    async with (
        authed(two, token_of(key)) as ws_key,
        authed(two, token_of(user)) as ws_user,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{one.port}", timeout=10) as client,
    ):
        await subscribe(ws_key, "alerts")
        await subscribe(ws_user, "alerts")
        response = await client.delete(f"/api/v1/api-keys/{key.api_key_id}", headers=admin.headers)
        assert response.status_code == 204, response.text
        assert await closed_with(ws_key) == (
            ACCESS_ENDED,
            "access withdrawn: the API key was revoked",
        )
        response = await client.patch(
            f"/api/v1/users/{user.user_id}", json={"is_active": False}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        assert (await closed_with(ws_user))[0] == ACCESS_ENDED
    await assert_ended(two, ws_key, token_of(key))
