"""Clients whose connections go only where the outbound policy allows, to a checked address.

- :func:`http_client`: an ``httpx.AsyncClient`` whose connections resolve the host, check every
  address and connect to a checked one (httpcore's network backend), so the URL, the ``Host``
  header and TLS SNI and certificate checks keep the name. Each redirect hop opens its
  connection through the same check.
- :class:`Resolver`: an ``aiohttp`` resolver doing the same for a ``ClientSession``'s
  connector; aiohttp skips resolvers for literal addresses, so callers also run
  :func:`check_url` before a request (it checks the literal address).
- :func:`connect`: a connected socket to a checked address (SMTP and other non-HTTP clients).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from agentdeck.outbound.policy import OutboundPolicy, OutboundRefused, sort_addresses

SCHEMES = ("http", "https")


class _Backend(httpcore.AsyncNetworkBackend):
    """Connects to an address the policy checked for the requested host."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._policy.resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        failure: Exception | None = None
        for address in sort_addresses(addresses):
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix socket", path)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class Transport(httpx.AsyncHTTPTransport):
    """httpx's transport with connections through the policy (no proxies from the
    environment: a proxy would resolve names where the policy cannot see)."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
    ) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(policy),
        )


def http_client(
    policy: OutboundPolicy,
    *,
    follow_redirects: bool = False,
    max_redirects: int = 5,
    timeout: float = 10.0,
    limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
) -> httpx.AsyncClient:
    """An httpx client for fetches made for users: every connection (each redirect hop
    included) goes through the policy; redirects only when asked, at most ``max_redirects``."""
    return httpx.AsyncClient(
        transport=Transport(policy, limits=limits),
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        timeout=timeout,
        trust_env=False,
    )


class Resolver(AbstractResolver):
    """An aiohttp resolver that answers only checked addresses (or raises
    :class:`OutboundRefused`)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = sort_addresses(await self._policy.resolve(host, port))
        out: list[ResolveResult] = []
        for address in addresses:
            inet = socket.AF_INET if address.version == 4 else socket.AF_INET6
            if family not in (socket.AF_UNSPEC, inet):
                continue
            out.append(
                {
                    "hostname": host,
                    "host": str(address),
                    "port": port,
                    "family": inet,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        if not out:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address of this family")
        return out

    async def close(self) -> None:
        return None


def connector(policy: OutboundPolicy, *, limit: int = 100) -> aiohttp.TCPConnector:
    """An aiohttp connector resolving through the policy (pair it with :func:`check_url`)."""
    return aiohttp.TCPConnector(limit=limit, limit_per_host=limit, resolver=Resolver(policy))


def check_url(policy: OutboundPolicy, url: str) -> None:
    """What aiohttp does not ask the resolver about: the scheme and a literal address host."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise OutboundRefused("not an http(s) URL with a host", parts.scheme or url[:40])
    policy.check_static(parts.hostname)


async def connect(policy: OutboundPolicy, host: str, port: int) -> socket.socket:
    """A connected, non-blocking TCP socket to a checked address of ``host`` (bound the time
    with ``asyncio.timeout``)."""
    loop = asyncio.get_running_loop()
    addresses = sort_addresses(await policy.resolve(host, port))
    failure: OSError | None = None
    for address in addresses:
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (str(address), port))
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    assert failure is not None
    raise failure
