"""A real uvicorn server in the test's event loop (WebSockets need a socket), and helpers to
talk to it with the ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from agentdeck.app.factory import create_app
from agentdeck.bus.base import Bus
from agentdeck.realtime.hub import Hub
from agentdeck.settings import Settings

DEADLINE = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    app: FastAPI
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws"

    @property
    def hub(self) -> Hub:
        hub = self.app.state.deck.hub
        assert hub is not None
        return hub

    @property
    def bus(self) -> Bus:
        return self.hub.bus


Start = Callable[..., Coroutine[Any, Any, LiveServer]]


@pytest.fixture
async def live_server(settings_factory: Callable[..., Settings]) -> AsyncIterator[Start]:
    started: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> LiveServer:
        values: dict[str, Any] = {"loops": {"enabled": False}, **overrides}
        app = create_app(settings_factory(**values), run_migrations=False)
        port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ws="websockets-sansio",
            lifespan="on",
            log_config=None,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        started.append((server, task))
        await wait_for(lambda: server.started or task.done())
        assert server.started, "uvicorn did not start"
        return LiveServer(app=app, port=port)

    yield start
    for server, task in reversed(started):
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)


async def wait_for(condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Wait until ``condition()`` holds, checking on every loop turn, up to a deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.005)


async def recv(ws: ClientConnection, deadline: float = DEADLINE) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), deadline))
    return frame


async def recv_type(ws: ClientConnection, *types: str) -> dict[str, Any]:
    """The next frame of one of ``types`` (heartbeats and others in between are skipped)."""
    while True:
        frame = await recv(ws)
        if frame["type"] in types:
            return frame


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


@asynccontextmanager
async def authed(server: LiveServer, token: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A connection that has sent its auth message and got ``connected``."""
    async with connect(server.ws_url, **kwargs) as ws:
        await send(ws, {"type": "auth", "token": token})
        frame = await recv(ws)
        assert frame["type"] == "connected", frame
        yield ws


async def subscribe(ws: ClientConnection, channel: str, **fields: Any) -> dict[str, Any]:
    await send(ws, {"type": "subscribe", "channel": channel, **fields})
    frame = await recv_type(ws, "snapshot", "error")
    assert frame["type"] == "snapshot", frame
    return frame


def token_of(caller: Any) -> str:
    """The bearer JWT or the API key of a factory caller."""
    if caller.api_key:
        return str(caller.api_key)
    return str(caller.headers["Authorization"].removeprefix("Bearer "))
