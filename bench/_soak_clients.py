"""The soak's bookkeeping and its WebSocket operators.

Errors are counted by kind, ``(source, kind, endpoint)``: ``server`` when the deployment
answered badly (a non-2xx status, a transport error after the request was sent, a WebSocket
closed or refused by the server) and ``harness`` when the generator itself is at fault (its
own connection pool had no free connection in time, or it opened more WebSocket connections
for one user than the hub allows). Only server errors count against the soak's target; both
are reported, kind by kind.

The WebSocket clients are operators as the web UI is: one viewer user per
``realtime.max_connections_per_user`` clients, each logged in with a password
(``POST /api/v1/auth/token``), answering the hub's heartbeats with a ``ping``, and renewing
the access token and reconnecting when the hub closes the connection because the token
expired (4401), which is the protocol, not an error.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from agentdeck.realtime.protocol import CLOSE_ACCESS_ENDED, CLOSE_CONNECTION_LIMIT
from agentdeck.settings import RealtimeSettings

SERVER, HARNESS = "server", "harness"
WS_ENDPOINT = "WS /api/v1/ws"
LOGIN_ENDPOINT = "POST /api/v1/auth/token"
#: A token with less than this share of its life left is renewed before a connection uses it.
RENEW_MARGIN = 0.25
#: A client whose connection the server ended (not by expiry) reconnects after this long.
RECONNECT_S = 1.0

ErrorKind = tuple[str, str, str]  # (source, kind, endpoint)


@dataclass
class Stats:
    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (t, ms)
    errors: Counter[ErrorKind] = field(default_factory=Counter)
    first_detail: dict[ErrorKind, str] = field(default_factory=dict)
    rss: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    ws_frames: int = 0
    ws_renewals: int = 0
    logins: int = 0

    def error(self, source: str, kind: str, endpoint: str, detail: str) -> None:
        key = (source, kind, endpoint)
        self.errors[key] += 1
        self.first_detail.setdefault(key, detail[:200])

    def count(self, source: str) -> int:
        return sum(n for (s, _, _), n in self.errors.items() if s == source)


def ws_cap(env: dict[str, str]) -> int:
    """The hub's per-user connection cap as the replicas read it from their environment."""
    prefix = "AGENTDECK_REALTIME__"
    given = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    return int(RealtimeSettings.model_validate(given).max_connections_per_user)


async def request(
    client: httpx.AsyncClient, stats: Stats, kind: str, method: str, path: str, **kw: Any
) -> httpx.Response | None:
    """One request, timed under ``kind``; its answer when 2xx, else None (the error counted)."""
    endpoint = f"{method} {path}"
    started = time.monotonic()
    try:
        answer = await client.request(method, path, **kw)
    except httpx.PoolTimeout as exc:  # no connection of the generator's own pool came free
        stats.error(HARNESS, "PoolTimeout", endpoint, repr(exc))
        return None
    except httpx.HTTPError as exc:
        stats.latencies.setdefault(kind, []).append((started, (time.monotonic() - started) * 1e3))
        stats.error(SERVER, type(exc).__name__, endpoint, repr(exc))
        return None
    stats.latencies.setdefault(kind, []).append((started, (time.monotonic() - started) * 1e3))
    if answer.status_code >= 300:
        stats.error(SERVER, str(answer.status_code), endpoint, answer.text)
        return None
    return answer


@dataclass
class Operator:
    """A viewer user of the web UI: logs in, and logs in again when the token runs out."""

    username: str
    password: str
    token: str = ""
    renew_at: float = 0.0  # monotonic
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def access_token(self, client: httpx.AsyncClient, stats: Stats) -> str | None:
        async with self.lock:  # one login for the user's clients
            if time.monotonic() < self.renew_at:
                return self.token
            form = {"username": self.username, "password": self.password}
            answer = await request(client, stats, "login", "POST", "/api/v1/auth/token", data=form)
            if answer is None:
                return None
            stats.logins += 1
            body = answer.json()
            self.token = str(body["access_token"])
            life = float(body["expires_in"])
            self.renew_at = time.monotonic() + life * (1 - RENEW_MARGIN)
            return self.token

    def expired(self, token: str) -> None:
        """The hub said ``token`` expired: the next caller logs in again."""
        if token == self.token:
            self.renew_at = 0.0


def _close_of(exc: Exception) -> tuple[int | None, str]:
    from websockets.exceptions import ConnectionClosed

    if isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
        return exc.rcvd.code, exc.rcvd.reason
    return None, ""


async def ws_client(
    url: str,
    operator: Operator,
    client: httpx.AsyncClient,
    agent: str,
    stats: Stats,
    end: float,
) -> None:
    """Follow ``agent``'s metrics until ``end`` as the agent page does."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, WebSocketException

    ping = orjson.dumps({"type": "ping"}).decode()
    subscribe = orjson.dumps(
        {"type": "subscribe", "channel": "metrics", "filter": {"agent": agent}}
    ).decode()
    while time.monotonic() < end:
        token = await operator.access_token(client, stats)
        if token is None:  # the login failed (counted): try again later, as a user would
            await asyncio.sleep(RECONNECT_S)  # the user's retry
            continue
        try:
            async with connect(url, max_queue=None, ping_interval=20, open_timeout=30) as ws:
                await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
                first = orjson.loads(await ws.recv())
                if first.get("type") != "connected":
                    stats.error(SERVER, f"ws {first.get('type')}", WS_ENDPOINT, str(first))
                    return
                await ws.send(subscribe)
                while (left := end - time.monotonic()) > 0:
                    try:
                        frame = await asyncio.wait_for(ws.recv(), timeout=left)
                    except TimeoutError:
                        return
                    kind = orjson.loads(frame).get("type")
                    if kind == "event":
                        stats.ws_frames += 1
                    elif kind == "heartbeat":  # a client silent for two heartbeats is closed
                        await ws.send(ping)
                return
        except InvalidStatus as exc:
            status = exc.response.status_code
            stats.error(SERVER, f"handshake {status}", WS_ENDPOINT, repr(exc))
        except (WebSocketException, OSError, TimeoutError) as exc:
            code, reason = _close_of(exc)
            if code == CLOSE_ACCESS_ENDED and "expired" in reason:
                stats.ws_renewals += 1  # the protocol: renew the credential and reconnect
                operator.expired(token)
                continue
            if code == CLOSE_CONNECTION_LIMIT:  # more connections than the cap: ours
                stats.error(HARNESS, f"close {code}", WS_ENDPOINT, reason)
                return
            kind = f"close {code}" if code is not None else type(exc).__name__
            stats.error(SERVER, kind, WS_ENDPOINT, reason or repr(exc))
        await asyncio.sleep(RECONNECT_S)  # the client's back-off before reconnecting
