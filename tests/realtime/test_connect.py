"""Connecting: origin, first-message authentication, the per-user cap, heartbeats, pings."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.realtime.conftest import (
    DEADLINE,
    Start,
    authed,
    recv,
    recv_type,
    send,
    token_of,
    wait_for,
)


async def closed_with(ws: object) -> tuple[int | None, str]:
    with pytest.raises(ConnectionClosed) as raised:
        while True:
            await asyncio.wait_for(ws.recv(), DEADLINE)  # type: ignore[attr-defined]
    rcvd = raised.value.rcvd
    return (rcvd.code, rcvd.reason) if rcvd else (None, "")


async def test_a_client_that_does_not_authenticate_in_time_is_closed_4001(
    live_server: Start,
) -> None:
    server = await live_server(realtime={"auth_timeout_seconds": 0.2})
    async with connect(server.ws_url) as ws:
        code, reason = await closed_with(ws)
    assert code == 4001
    assert "timeout" in reason


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "not-a-jwt"},
        {"type": "auth", "token": "adk_unknown_key_value"},
        {"type": "subscribe", "channel": "alerts"},
        {"token": "missing type"},
    ],
)
async def test_a_bad_first_message_or_token_is_closed_4001(
    live_server: Start, first: dict[str, str]
) -> None:
    server = await live_server()
    async with connect(server.ws_url) as ws:
        await send(ws, first)
        code, reason = await closed_with(ws)
    assert code == 4001
    assert reason


async def test_jwt_and_api_key_authenticate_and_ping_gets_pong(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    user = await factory.user(Role.viewer)
    key = await factory.api_key(Role.developer)
    for caller in (user, key):
        async with authed(server, token_of(caller)) as ws:
            await send(ws, {"type": "ping", "id": 7})
            assert await recv_type(ws, "pong") == {"type": "pong", "id": 7}


async def test_the_sixth_connection_of_a_user_is_closed_4000(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    user = await factory.user(Role.viewer)
    other = await factory.user(Role.viewer)
    token = token_of(user)
    opened = [authed(server, token) for _ in range(5)]
    connections = [await cm.__aenter__() for cm in opened]
    try:
        async with connect(server.ws_url) as sixth:
            await send(sixth, {"type": "auth", "token": token})
            code, reason = await closed_with(sixth)
        assert code == 4000
        assert "limit" in reason
        # another user is not affected, and the first five still work
        async with authed(server, token_of(other)):
            pass
        await send(connections[0], {"type": "ping"})
        assert (await recv_type(connections[0], "pong"))["type"] == "pong"
    finally:
        for cm in reversed(opened):
            await cm.__aexit__(None, None, None)
    # closing frees the slots
    await wait_for(lambda: server.hub.connection_count() == 0)
    async with authed(server, token):
        pass


async def test_a_silent_client_is_closed_after_two_heartbeats(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server(realtime={"heartbeat_seconds": 0.1})
    user = await factory.user(Role.viewer)
    async with authed(server, token_of(user)) as ws:
        assert (await recv(ws))["type"] == "heartbeat"  # the server beats every interval
        code, reason = await closed_with(ws)
    assert code == 4002
    assert "heartbeat" in reason


async def test_origins_outside_the_cors_list_are_refused(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server(server={"cors_origins": "https://deck.example"})
    user = await factory.user(Role.viewer)
    with pytest.raises(InvalidStatus) as raised:
        async with connect(server.ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert raised.value.response.status_code == 403
    for origin in ("https://deck.example", f"http://127.0.0.1:{server.port}"):
        async with authed(server, token_of(user), origin=origin):
            pass
    # the alias answers the same protocol
    async with connect(f"ws://127.0.0.1:{server.port}/api/v1/monitoring/ws/metrics") as ws:
        await send(ws, {"type": "auth", "token": token_of(user)})
        assert (await recv(ws))["type"] == "connected"


async def test_an_origin_must_match_in_scheme_host_and_port(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server(server={"cors_origins": "https://deck.example"})
    user = await factory.user(Role.viewer)
    refused = (
        "http://deck.example",  # the listed origin over the other scheme
        "https://deck.example:8443",  # another port
        f"https://127.0.0.1:{server.port}",  # this server's host and port, but https: it is ws
        f"http://127.0.0.1:{server.port + 1}",
        "null",
    )
    for origin in refused:
        with pytest.raises(InvalidStatus) as raised:
            async with connect(server.ws_url, origin=origin):  # type: ignore[arg-type]
                pass
        assert raised.value.response.status_code == 403, origin
    for origin in (
        "https://deck.example:443",
        "HTTPS://Deck.Example",
        f"http://127.0.0.1:{server.port}",
    ):
        async with authed(server, token_of(user), origin=origin):  # type: ignore[arg-type]
            pass
