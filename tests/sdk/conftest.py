"""A real agentdeck server (uvicorn in a thread, on a free port) for the SDK tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import uvicorn

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Matcher, MatchOp
from tests.conftest import Factory


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """Start and stop the app on one fixed port; read its metrics store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app: Any = None

    def start(self) -> None:
        self._app = create_app(self.settings, run_migrations=False)
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        server = self._server = uvicorn.Server(config)
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=loop.run_until_complete, args=(server.serve(),), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert self._thread.is_alive(), "the server thread died"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)  # polling for readiness

    def stop(self) -> None:
        if self._server is None or self._thread is None or self._loop is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=20)
        self._loop.close()
        self._server = None

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the server's loop (the store belongs to it)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=20)

    def series(
        self, tenant_id: uuid.UUID
    ) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[float]]:
        store = self._app.state.deck.store

        async def read() -> Any:
            await store.flush()
            return await store.select(tenant_id, [Matcher("__name__", MatchOp.re, ".+")], 0, 10**13)

        return {
            (s.name, tuple(sorted(s.labels.items()))): s.values.tolist() for s in self.run(read())
        }


@pytest.fixture
def live_server(settings_factory: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = LiveServer(settings_factory())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sdk_key(factory: Factory) -> tuple[str, uuid.UUID]:
    """A developer API key (plaintext) and its tenant."""
    key = await factory.api_key(Role.developer)
    assert key.api_key is not None
    return key.api_key, key.tenant_id
